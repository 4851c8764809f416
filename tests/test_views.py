from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestViews(TransactionCase):
    def test_every_view_of_the_module_loads(self):
        views = self.env["ir.ui.view"].search(
            [
                (
                    "id",
                    "in",
                    self.env["ir.model.data"]
                    .search(
                        [
                            ("module", "=", "jibble_connector"),
                            ("model", "=", "ir.ui.view"),
                        ]
                    )
                    .mapped("res_id"),
                ),
            ]
        )
        self.assertTrue(views)
        for view in views:
            root = view.inherit_id.browse() if not view.inherit_id else view
            while root.inherit_id:
                root = root.inherit_id
            root = root or view
            with self.subTest(view=view.name):
                result = self.env[view.model].get_views([(root.id, root.type)])
                self.assertIn(view.model, result["models"])

    def test_actions_open_with_all_their_view_types(self):
        for xml_id in (
            "jibble_connector.action_jibble_sync_log",
            "jibble_connector.action_jibble_time_entry",
        ):
            action = self.env.ref(xml_id)
            view_types = action.view_mode.split(",")
            with self.subTest(action=xml_id):
                result = self.env[action.res_model].get_views([(False, t) for t in view_types])
                self.assertEqual(set(result["views"]), set(view_types))
