from odoo import Command
from odoo.tests import HttpCase, tagged

from ..simulator import JibbleSimulator
from .common import LocalJibbleMixin


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

    def test_settings_tour(self):
        self.start_tour(
            "/odoo/action-jibble_connector.action_jibble_settings",
            "jibble_connector_settings_tour",
            login="admin",
            timeout=120,
        )
        params = self.env["ir.config_parameter"]
        self.assertEqual(params.get_param("jibble_connector.client_id"), "sim-client")
        self.assertTrue(params.get_param("jibble_connector.sync_enabled"))
        test = self.env["jibble.sync.log"].search([("operation", "=", "connection_test")])
        self.assertEqual(test.status, "success")
        cron = self.env.ref("jibble_connector.ir_cron_jibble_sync")
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]))

    def test_employee_tour(self):
        employee = self.env["hr.employee"].create({"name": "Toggle Me", "jibble_user_id": "p-t"})
        self.start_tour(
            f"/odoo/employees/{employee.id}",
            "jibble_connector_employee_tour",
            login="admin",
            timeout=120,
        )
        self.assertFalse(employee.jibble_sync_enabled)
