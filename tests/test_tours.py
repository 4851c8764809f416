from datetime import timedelta

from odoo import Command, fields
from odoo.tests import HttpCase, tagged

from ..simulator import JibbleSimulator
from .common import LocalJibbleMixin

SETTINGS_URL = "/odoo/action-jibble_connector.action_jibble_settings"


@tagged("post_install", "-at_install")
class TestTours(LocalJibbleMixin, HttpCase):
    """The screens as a person uses them, in headless Chromium.

    Settings are for system administrators in Odoo, so the tours run as the administrator,
    who is also attendance administrator. Odoo saves a screenshot of a failing step.
    """

    def setUp(self):
        super().setUp()
        self.simulator = JibbleSimulator().start()
        self.addCleanup(self.simulator.stop)
        self.simulator.add_person("Pat", email="pat@example.com")
        params = self.env["ir.config_parameter"]
        params.set_param("jibble_connector.token_url", self.simulator.token_url)
        params.set_param("jibble_connector.workspace_url", self.simulator.workspace_url)
        params.set_param("jibble_connector.time_tracking_url", self.simulator.time_tracking_url)
        self.env.ref("base.user_admin").groups_id = [
            Command.link(self.env.ref("hr_attendance.group_hr_attendance_manager").id)
        ]

    def run_tour(self, url, tour):
        self.start_tour(url, tour, login="admin", timeout=120)
        # What the browser wrote went through other environments: read it afresh.
        self.env.invalidate_all()

    def test_settings_tour(self):
        self.run_tour(SETTINGS_URL, "jibble_connector_settings_tour")
        params = self.env["ir.config_parameter"]
        self.assertEqual(params.get_param("jibble_connector.client_id"), "sim-client")
        self.assertTrue(params.get_param("jibble_connector.sync_enabled"))
        test = self.env["jibble.sync.log"].search([("operation", "=", "connection_test")])
        self.assertEqual(test.status, "success")
        cron = self.env.ref("jibble_connector.ir_cron_jibble_sync")
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]))

    def test_employee_tour(self):
        employee = self.env["hr.employee"].create({"name": "Toggle Me", "jibble_user_id": "p-t"})
        self.assertTrue(employee.jibble_sync_enabled)
        self.run_tour(f"/odoo/employees/{employee.id}", "jibble_connector_employee_tour")
        self.assertFalse(employee.jibble_sync_enabled)

    def test_link_held_person_tour(self):
        person_id = "p-sam-stranger"
        self.env["jibble.person"].create(
            {
                "person_id": person_id,
                "name": "Sam Stranger",
                "email": "sam@elsewhere.test",
                "code": "E0777",
            }
        )
        clock_in = fields.Datetime.now().replace(hour=8, minute=0, second=0, microsecond=0)
        clock_in -= timedelta(days=3)
        entries = self.env["jibble.time.entry"].create(
            [
                {
                    "entry_id": f"e-sam-{entry_type.lower()}",
                    "person_id": person_id,
                    "entry_type": entry_type,
                    "time": clock_in + timedelta(hours=hours),
                    "state": "unmatched",
                    "is_active": True,
                }
                for entry_type, hours in (("In", 0), ("Out", 4))
            ]
        )
        samuel = self.env["hr.employee"].create({"name": "Samuel"})
        self.assertFalse(samuel.jibble_user_id)

        self.run_tour(
            "/odoo/action-jibble_connector.action_jibble_time_entry",
            "jibble_connector_link_person_tour",
        )
        self.assertEqual(samuel.jibble_user_id, person_id)
        self.assertEqual(entries.mapped("state"), ["applied", "applied"])
        attendance = self.env["hr.attendance"].search([("employee_id", "=", samuel.id)])
        self.assertEqual(len(attendance), 1)
        self.assertEqual(
            (attendance.check_in, attendance.check_out),
            (clock_in, clock_in + timedelta(hours=4)),
        )

    def test_field_mapping_tour(self):
        self.env["ir.model.fields"].create(
            {
                "name": "x_tour_note",
                "model_id": self.env["ir.model"]._get("hr.attendance").id,
                "ttype": "char",
                "state": "manual",
                "field_description": "Tour note",
            }
        )
        Mapping = self.env["jibble.field.mapping"].with_context(active_test=False)
        self.assertFalse(Mapping.search([]))
        self.run_tour(SETTINGS_URL, "jibble_connector_field_mapping_tour")
        mapping = Mapping.search([])
        self.assertEqual(len(mapping), 1)
        self.assertEqual(
            (mapping.moment, mapping.jibble_field, mapping.attendance_field_id.name),
            ("in", "note", "x_tour_note"),
        )
        self.assertTrue(mapping.active)

    def test_neutralized_banner_tour(self):
        params = self.env["ir.config_parameter"]
        self.assertFalse(params.get_param("database.is_neutralized"))
        self.assertFalse(self.env["res.config.settings"].create({}).jibble_neutralized)
        self.run_tour(SETTINGS_URL, "jibble_connector_no_neutralized_banner_tour")

        params.set_param("database.is_neutralized", True)
        self.assertTrue(self.env["res.config.settings"].create({}).jibble_neutralized)
        self.run_tour(SETTINGS_URL, "jibble_connector_neutralized_banner_tour")
