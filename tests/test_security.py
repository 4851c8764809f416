from datetime import datetime

from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged

from .common import can_access, make_users


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
