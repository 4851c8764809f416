from datetime import datetime

from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged

from ..jibble.events import Event
from .common import can_access, make_users, time_entry


@tagged("post_install", "-at_install")
class TestSecurity(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = make_users(cls.env)
        cls.log = cls.env["jibble.sync.log"]._record("pull", "success", "a run")
        cls.entry = cls.env["jibble.time.entry"].create(
            {
                "entry_id": "e-1",
                "person_id": "p-1",
                "entry_type": "In",
                "time": datetime(2025, 3, 3, 8),
            }
        )

    def test_log_access_per_group(self):
        expected = {
            "employee": {"read": False, "write": False, "unlink": False},
            "officer": {"read": True, "write": False, "unlink": False},
            "attendance_admin": {"read": True, "write": True, "unlink": True},
            "system_admin": {"read": True, "write": True, "unlink": True},
        }
        for role, operations in expected.items():
            for operation, allowed in operations.items():
                with self.subTest(role=role, operation=operation):
                    self.assertEqual(can_access(self.users[role], self.log, operation), allowed)

    def test_time_entry_access_per_group(self):
        self.assertFalse(can_access(self.users["employee"], self.entry, "read"))
        self.assertTrue(can_access(self.users["officer"], self.entry, "read"))
        self.assertFalse(can_access(self.users["officer"], self.entry, "write"))
        self.assertTrue(can_access(self.users["attendance_admin"], self.entry, "write"))

    def test_officer_reads_jibble_fields_of_attendances(self):
        employee = self.env["hr.employee"].create(
            {
                "name": "Dana",
                "jibble_user_id": "p-9",
                "attendance_manager_id": self.users["officer"].id,
            }
        )
        attendance = self.env["hr.attendance"].create(
            {
                "employee_id": employee.id,
                "check_in": datetime(2025, 3, 3, 8),
                "check_out": datetime(2025, 3, 3, 9),
                "jibble_entry_id": "e-9",
                "jibble_activity": "Work",
                "sync_status": "synced",
            }
        )
        values = attendance.with_user(self.users["officer"]).read(
            ["jibble_entry_id", "jibble_activity", "sync_status"]
        )[0]
        self.assertEqual(values["jibble_activity"], "Work")
        self.assertEqual(values["sync_status"], "synced")

    def test_employee_jibble_fields_are_for_hr_officers(self):
        employee = self.env["hr.employee"].create({"name": "Eve", "jibble_user_id": "p-8"})
        with self.assertRaises(AccessError):
            employee.with_user(self.users["officer"]).read(["jibble_user_id"])
        hr_officer = new_test_user(
            self.env, "jibble_hr_officer", groups="base.group_user,hr.group_hr_user"
        )
        employee.with_user(hr_officer).write({"jibble_sync_enabled": False})
        self.assertEqual(
            employee.with_user(hr_officer).read(["jibble_user_id"])[0]["jibble_user_id"], "p-8"
        )
        self.assertFalse(employee.jibble_sync_enabled)

    def test_log_rows_of_another_company_are_hidden(self):
        other = self.env["res.company"].create({"name": "Other Co"})
        foreign = self.env["jibble.sync.log"]._record(
            "pull", "success", "foreign", company_id=other.id
        )
        officer = self.users["officer"]
        visible = self.env["jibble.sync.log"].with_user(officer).search([])
        self.assertIn(self.log, visible)
        self.assertNotIn(foreign, visible)

    def test_settings_actions_are_for_system_administrators(self):
        with self.assertRaises(AccessError):
            self.env["res.config.settings"].with_user(self.users["officer"]).create({})

    def test_retry_checks_the_group_itself(self):
        """Retry is a public method: the user's group is checked by the method, not by the
        view that shows the button."""
        self.env["hr.employee"].create({"name": "Rita", "jibble_user_id": "p-r"})
        data = time_entry("in-r", "p-r", "In", "2025-03-03T08:00:00Z")
        event = self.env["jibble.webhook.event"]._store(
            Event("evt-r", "TimeEntry.Created", datetime(2025, 3, 3, 8), data), "127.0.0.1", True
        )
        log = self.env["jibble.sync.log"]._record(
            "webhook", "failed", "not applied", jibble_event_id="evt-r"
        )
        for role in ("employee", "officer"):
            for record in (log, event):
                with self.subTest(role=role, model=record._name):
                    with self.assertRaises(AccessError):
                        record.with_user(self.users[role]).action_retry()
                    self.assertEqual(event.state, "received")
        log.with_user(self.users["attendance_admin"]).action_retry()
        self.assertEqual(event.state, "done")

    def test_settings_buttons_check_the_group_themselves(self):
        """Over RPC they can be called on an empty recordset, which needs no access right."""
        params = self.env["ir.config_parameter"]
        params.set_param("jibble_connector.client_secret", "kept")
        params.set_param("jibble_connector.webhook_secret", "kept too")
        Settings = self.env["res.config.settings"]
        for role in ("employee", "officer", "attendance_admin"):
            for method in (
                "action_clear_jibble_client_secret",
                "action_clear_jibble_webhook_secret",
                "action_rotate_jibble_secrets",
                "set_values",
            ):
                with self.subTest(role=role, method=method), self.assertRaises(AccessError):
                    getattr(Settings.with_user(self.users[role]), method)()
        for method in (
            "action_jibble_test_connection",
            "action_jibble_sync_now",
            "action_jibble_match_employees",
        ):
            with self.subTest(role="officer", method=method), self.assertRaises(AccessError):
                getattr(Settings.with_user(self.users["officer"]), method)()
        self.assertEqual(params.get_param("jibble_connector.client_secret"), "kept")
        self.assertEqual(params.get_param("jibble_connector.webhook_secret"), "kept too")
        Settings.with_user(self.users["attendance_admin"]).action_jibble_sync_now()
        Settings.with_user(self.users["system_admin"]).action_clear_jibble_webhook_secret()
        self.assertFalse(params.get_param("jibble_connector.webhook_secret"))
