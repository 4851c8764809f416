"""Rows written around the ORM (models/rows.py)."""

from odoo.tests import TransactionCase, tagged

from ..models.rows import update_rows


@tagged("post_install", "-at_install")
class TestRows(TransactionCase):
    def setUp(self):
        super().setUp()
        self.Entry = self.env["jibble.time.entry"]
        self.employee = self.env["hr.employee"].create({"name": "Ada"})
        self.first, self.second, self.third = self.Entry.create(
            [
                {"entry_id": f"entry-{n}", "person_id": "person-1", "entry_type": "In"}
                for n in range(3)
            ]
        )
        self.env.flush_all()

    def stored(self, entry, *names):
        self.env.cr.execute(
            f"SELECT {', '.join(names)} FROM jibble_time_entry WHERE id = %s", [entry.id]
        )
        return self.env.cr.fetchone()

    def test_each_row_gets_its_own_values_over_what_the_orm_still_held(self):
        self.first.write({"state_message": "held by the ORM", "note": "kept"})
        update_rows(
            self.Entry,
            {
                self.first.id: {
                    "state": "applied",
                    "state_message": False,
                    "employee_id": self.employee.id,
                },
                self.second.id: {
                    "state": "conflict",
                    "state_message": "Overlaps",
                    "employee_id": False,
                },
            },
        )
        self.env.flush_all()
        self.assertEqual(
            self.stored(self.first, "state", "state_message", "employee_id", "note"),
            ("applied", None, self.employee.id, "kept"),
            "the ORM's pending write reached the row before the update, not after it",
        )
        self.assertEqual(
            self.stored(self.second, "state", "state_message", "employee_id"),
            ("conflict", "Overlaps", None),
        )
        self.assertEqual(self.stored(self.third, "state"), ("pending",))

    def test_the_orm_reads_the_new_values_afterwards(self):
        self.assertEqual(self.first.state, "pending")
        update_rows(self.Entry, {self.first.id: {"state": "ignored", "employee_id": False}})
        self.assertEqual((self.first.state, self.first.employee_id.id), ("ignored", False))
        self.assertEqual(self.first.write_uid, self.env.user)

    def test_nothing_to_write_runs_no_statement(self):
        with self.assertQueryCount(0):
            update_rows(self.Entry, {})
