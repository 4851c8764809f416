from datetime import datetime

from psycopg2.errors import UniqueViolation

from odoo.service.model import _as_validation_error
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger


@tagged("post_install", "-at_install")
class TestFields(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = cls.env["hr.employee"].create({"name": "Alice", "jibble_user_id": "person-a"})
        cls.bob = cls.env["hr.employee"].create({"name": "Bob"})

    def assertRefusedWith(self, message, change):
        """The database refuses; the message is what Odoo shows the person who tried."""
        with (
            self.assertRaises(UniqueViolation) as caught,
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            change()
            self.env.flush_all()
        self.assertIn(message, str(_as_validation_error(self.env, caught.exception)))

    def test_employee_defaults(self):
        self.assertTrue(self.bob.jibble_sync_enabled)
        self.assertFalse(self.bob.last_jibble_sync)
        self.assertFalse(self.bob.jibble_linked)
        self.assertTrue(self.alice.jibble_linked)

    def test_duplicate_jibble_user_id_is_refused(self):
        self.assertRefusedWith(
            "This Jibble person is already linked to another employee.",
            lambda: self.bob.write({"jibble_user_id": "person-a"}),
        )

    def test_many_employees_may_stay_unlinked(self):
        carol = self.env["hr.employee"].create({"name": "Carol"})
        self.assertFalse(carol.jibble_user_id)
        self.assertFalse(self.bob.jibble_user_id)

    def test_linked_filters_split_employees(self):
        Employee = self.env["hr.employee"]
        self.assertIn(self.alice, Employee.search([("jibble_linked", "=", True)]))
        self.assertNotIn(self.bob, Employee.search([("jibble_linked", "=", True)]))
        self.assertIn(self.bob, Employee.search([("jibble_linked", "=", False)]))

    def test_duplicate_jibble_entry_id_is_refused(self):
        Attendance = self.env["hr.attendance"]
        Attendance.create(
            {
                "employee_id": self.alice.id,
                "check_in": datetime(2025, 3, 3, 8),
                "check_out": datetime(2025, 3, 3, 12),
                "jibble_entry_id": "entry-1",
            }
        )
        self.assertRefusedWith(
            "This Jibble clock-in entry is already linked to another attendance.",
            lambda: Attendance.create(
                {
                    "employee_id": self.bob.id,
                    "check_in": datetime(2025, 3, 3, 8),
                    "jibble_entry_id": "entry-1",
                }
            ),
        )

    def test_duplicate_clock_out_entry_is_refused(self):
        self.assertRefusedWith(
            "This Jibble clock-out entry is already linked to another attendance.",
            lambda: self.env["hr.attendance"].create(
                [
                    {
                        "employee_id": self.alice.id,
                        "check_in": datetime(2025, 3, 4, 8),
                        "check_out": datetime(2025, 3, 4, 9),
                        "jibble_out_entry_id": "entry-2",
                    },
                    {
                        "employee_id": self.bob.id,
                        "check_in": datetime(2025, 3, 4, 8),
                        "check_out": datetime(2025, 3, 4, 9),
                        "jibble_out_entry_id": "entry-2",
                    },
                ]
            ),
        )

    def test_sync_status_values(self):
        values = dict(self.env["hr.attendance"]._fields["sync_status"].selection)
        self.assertEqual(set(values), {"synced", "conflict", "error"})

    def test_log_rows_are_newest_first(self):
        Log = self.env["jibble.sync.log"]
        older = Log._record("pull", "success", "older", start=datetime(2025, 1, 1))
        newer = Log._record("pull", "failed", "newer", start=datetime(2025, 1, 2))
        rows = Log.search([("id", "in", (older | newer).ids)])
        self.assertEqual(rows.ids, [newer.id, older.id])
