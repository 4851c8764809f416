"""Pulls and webhooks about the same entries can cross, and lists can change while they are
read: the newer news wins, and no entry Jibble still holds is ever taken for deleted."""

import re
from datetime import datetime, timedelta, timezone

from odoo.tests import tagged

from ..jibble.entries import parse_instant
from ..models.jibble_pull_run import Window
from .common import SimulatorCase, attendance_inserts_collide


def utc_now():
    return datetime.now(timezone.utc).replace(tzinfo=None)


@tagged("post_install", "-at_install")
class TestNewerNewsWins(SimulatorCase):
    def setUp(self):
        super().setUp()
        self.ada, self.employee = self.person_with_employee("Ada")
        self.clock_in = self.simulator.add_time_entry(self.ada["id"], "In", self.at(8))
        self.clock_out = self.simulator.add_time_entry(self.ada["id"], "Out", self.at(12))
        self.window = Window("catch_up", self.naive(0), self.naive(0, day=1))

    def slow_pull(self):
        """A pull that reads Jibble now and writes later; returns its writing step."""
        with self.env["jibble.config"]._client() as client:
            read = self.service._read_window(client, self.window)
        return lambda: self.service._store_and_apply(read, {}, "cron")

    def test_a_pull_that_read_before_an_edit_does_not_undo_it(self):
        write_stale = self.slow_pull()
        moved = self.simulator.update_time_entry(self.clock_out["id"], time=self.at(13))
        self.deliver("TimeEntry.Updated", moved)
        write_stale()
        self.assertEqual(self.intervals(self.employee), [(self.naive(8), self.naive(13))])

    def test_a_pull_that_read_before_a_new_entry_does_not_delete_it(self):
        write_stale = self.slow_pull()
        late = self.simulator.add_time_entry(self.ada["id"], "In", self.at(14))
        self.deliver("TimeEntry.Created", late)
        write_stale()
        self.assertTrue(self.entry(late["id"]).is_active)
        self.assertEqual(
            self.intervals(self.employee),
            [(self.naive(8), self.naive(12)), (self.naive(14), None)],
        )

    def test_a_deletion_that_arrives_before_its_entry_keeps_a_slow_pull_from_reviving_it(self):
        write_stale = self.slow_pull()
        self.simulator.delete_time_entry(self.clock_in["id"])
        event = self.deliver("TimeEntry.Deleted", {"id": self.clock_in["id"]})
        self.assertEqual(event.state, "done")
        write_stale()
        stored = self.entry(self.clock_in["id"])
        self.assertEqual((stored.is_active, stored.state), (False, "ignored"))
        self.assertFalse(self.attendances(self.employee))

    def test_a_retried_old_event_does_not_undo_a_newer_pull(self):
        happened = utc_now() - timedelta(minutes=5)
        self.simulator.update_time_entry(self.clock_out["id"], time=self.at(15))
        self.pull()
        old = dict(self.clock_out)
        event = self.deliver("TimeEntry.Created", old, occurred_at=happened)
        self.assertEqual(event.state, "done")
        self.assertEqual(self.intervals(self.employee), [(self.naive(8), self.naive(15))])

    def test_an_update_that_arrives_late_does_not_overwrite_a_newer_one(self):
        self.pull()
        first = dict(self.clock_out, time=self.at(12.5).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        second = dict(self.clock_out, time=self.at(13).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        pulled_at = utc_now()
        self.deliver("TimeEntry.Updated", second, occurred_at=pulled_at + timedelta(seconds=20))
        self.deliver("TimeEntry.Updated", first, occurred_at=pulled_at + timedelta(seconds=10))
        self.assertEqual(self.intervals(self.employee), [(self.naive(8), self.naive(13))])

    def test_a_deletion_older_than_the_last_pull_is_not_applied(self):
        deleted_at = utc_now() - timedelta(minutes=1)
        self.pull()
        self.deliver("TimeEntry.Deleted", {"id": self.clock_out["id"]}, occurred_at=deleted_at)
        self.assertTrue(self.entry(self.clock_out["id"]).is_active)
        self.assertEqual(self.intervals(self.employee), [(self.naive(8), self.naive(12))])

    def test_an_event_after_one_whose_apply_failed_closes_the_shift_before_both(self):
        """The fault drill's seeds 900 and 901: an event whose apply met a serialization
        failure left its clock-in stored and waiting, and the shift before it open. The next
        event was planned from that waiting clock-in on, so Odoo refused its open attendance
        beside the one left open, and it was logged as a conflict until the first was
        retried."""
        first = self.simulator.add_time_entry(self.ada["id"], "In", self.at(8, day=1))
        second = self.simulator.add_time_entry(self.ada["id"], "In", self.at(8, day=2))
        third = self.simulator.add_time_entry(self.ada["id"], "In", self.at(8, day=3))
        self.assertEqual(self.deliver("TimeEntry.Created", first).state, "done")
        with attendance_inserts_collide(self.env):
            failed = self.deliver("TimeEntry.Created", second)
        self.assertEqual(failed.state, "failed")
        self.assertEqual(self.entry(second["id"]).state, "pending")
        self.assertEqual(self.intervals(self.employee), [(self.naive(8, day=1), None)])

        self.assertEqual(self.deliver("TimeEntry.Created", third).state, "done")
        self.assertFalse(
            self.env["jibble.sync.log"].search(
                [("operation", "=", "apply"), ("status", "=", "failed")]
            )
        )
        self.assertEqual(
            self.intervals(self.employee),
            [
                (self.naive(8, day=1), self.naive(8, day=2)),
                (self.naive(8, day=2), self.naive(8, day=3)),
                (self.naive(8, day=3), None),
            ],
        )
        self.assertEqual(self.entry(second["id"]).state, "applied")

    def test_webhook_entries_take_the_names_a_pull_already_knows(self):
        support = self.simulator.add_activity("Support")
        self.simulator.update_time_entry(self.clock_in["id"], activity_id=support["id"])
        self.pull()
        evening = self.simulator.add_time_entry(
            self.ada["id"], "In", self.at(18), activity_id=support["id"]
        )
        self.deliver("TimeEntry.Created", evening)
        attendance = self.attendances(self.employee)[-1]
        self.assertEqual(
            (attendance.check_in, attendance.jibble_activity), (self.naive(18), "Support")
        )


@tagged("post_install", "-at_install")
class TestListsThatChangeWhileRead(SimulatorCase):
    """Issue 18: under faults the drill lost a clock-in Jibble still held. Cause: a pull
    paging a window with `$skip` while an entry of an earlier page was deleted got every
    later row one place earlier, so the row at the page boundary was never listed, and the
    pull took that stored entry for deleted."""

    def setUp(self):
        super().setUp()
        self.simulator.max_page_size = 100
        self.people = [self.person_with_employee(f"P{n:02d}")[0] for n in range(13)]
        for person in self.people:
            for shift in range(5):
                self.simulator.add_time_entry(person["id"], "In", self.at(8 + shift))
                self.simulator.add_time_entry(person["id"], "Out", self.at(8.5 + shift))
        self.pull()

    def delete_between_pages(self, victim_id=None, within=None):
        """Delete an entry once the pull has read the first page of a window: of the window
        holding the instant `within` if given, and then by default its fourth row. Returns
        [(the request, the window's rows before the deletion)] once done."""
        done = []

        def delete(_path, query):
            window = re.search(r"time ge (\S+) and time lt (\S+)", query.get("$filter", ""))
            if "$skip" not in query or done or (within and not window):
                return
            rows = []
            if within:
                start, end = (parse_instant(value) for value in window.groups())
                if not start <= within < end:
                    return
                rows = sorted(
                    (
                        r
                        for r in self.simulator.time_entries
                        if start <= parse_instant(r["time"]) < end
                    ),
                    key=lambda row: (row["time"], row["id"]),
                )
            done.append((query, rows))
            self.simulator.delete_time_entry(victim_id or rows[3]["id"])

        self.simulator.on_request(delete, path_contains="TimeEntries", count=1000)
        return done

    def active_entries(self):
        return set(
            self.env["jibble.time.entry"].search([("is_active", "=", True)]).mapped("entry_id")
        )

    def test_a_row_shifted_between_pages_is_not_taken_for_deleted(self):
        rows = sorted(self.simulator.time_entries, key=lambda row: (row["time"], row["id"]))
        self.assertGreater(len(rows), 100)
        victim, boundary = rows[10], rows[100]
        happened = self.delete_between_pages(victim["id"])
        self.pull()
        self.assertTrue(happened, "the deletion ran between two pages of the window")
        self.assertTrue(self.entry(boundary["id"]).is_active, "the row at the page boundary")
        self.assertEqual(self.active_entries(), {row["id"] for row in self.simulator.time_entries})
        self.assertEqual(
            self.env["hr.attendance"].search_count([("jibble_entry_id", "!=", False)]), 65 - 1
        )

    def test_the_only_entry_of_a_window_deleted_while_it_is_read_is_not_kept(self):
        """The fault drill's seed 901: a window holding one entry comes in pages of one row,
        which leave no room for the row that overlaps the next page. The entry was deleted
        when the empty page after it was asked, the read ended on that page, and the deleted
        clock-out was stored and closed the shift, for good."""
        night, employee = self.person_with_employee("Night")
        self.simulator.add_time_entry(night["id"], "In", self.at(22, day=1))
        clock_out = self.simulator.add_time_entry(night["id"], "Out", self.at(4.99, day=2))
        done = self.delete_between_pages(clock_out["id"], within=self.naive(4.99, day=2))
        self.pull()
        self.assertEqual(done[0][0]["$skip"], "1", "deleted when the page after its row was asked")
        self.assertFalse(self.entry(clock_out["id"]).filtered("is_active"))
        self.assertEqual(self.intervals(employee), [(self.naive(22, day=1), None)])

    def test_a_first_read_linked_by_skip_loses_no_row_to_a_deletion_between_pages(self):
        """A Jibble that links its pages with `@odata.nextLink` may build the link with
        `$skip` as well: followed as it came, a deletion in an earlier page moved the row at
        the page boundary out of reach, and an entry read for the first time was never
        stored, until a later pull read that day again."""
        self.simulator.use_next_link = True
        night = self.person_with_employee("Night")[0]
        for shift in range(250):
            self.simulator.add_time_entry(night["id"], "In", self.at(shift * 0.1, day=2))
        done = self.delete_between_pages(within=self.naive(12, day=2))
        self.pull()
        self.assertTrue(done, "the deletion ran between two pages of the window")
        query, rows = done[0]
        boundary = rows[int(query["$skip"])]
        self.assertTrue(self.entry(boundary["id"]).is_active, "the row at the page boundary")
        self.assertEqual(self.active_entries(), {row["id"] for row in self.simulator.time_entries})

    def test_an_entry_deleted_in_jibble_is_checked_by_id_then_marked_deleted(self):
        victim = self.simulator.time_entries[0]
        self.simulator.delete_time_entry(victim["id"])
        self.simulator.reset_counters()
        self.pull()
        self.assertFalse(self.entry(victim["id"]).is_active)
        self.assertEqual(self.simulator.count_requests(f"id+eq+{victim['id']}"), 1)

    def test_an_entry_moved_into_a_window_already_read_is_kept(self):
        ada = self.people[0]
        late = self.simulator.add_time_entry(ada["id"], "In", self.at(20, day=1))
        self.simulator.add_time_entry(ada["id"], "Out", self.at(21, day=1))
        self.pull()
        moved = []

        def move_back(_path, query):
            """When the window holding the entry is read, move the entry to an earlier one."""
            match = re.search(r"time ge (\S+) and time lt (\S+)", query.get("$filter", ""))
            if match and not moved:
                start, end = (parse_instant(value) for value in match.groups())
                if start <= self.naive(20, day=1) < end and start > self.naive(19.5):
                    moved.append(self.simulator.update_time_entry(late["id"], time=self.at(19.5)))

        self.simulator.on_request(move_back, path_contains="TimeEntries", count=1000)
        self.pull()
        self.assertTrue(moved, "the entry moved back once its new window had been read")
        stored = self.entry(late["id"])
        self.assertTrue(stored.is_active)
        self.assertEqual(stored.time, self.naive(19.5))
