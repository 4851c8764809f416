"""Pulls and webhooks about the same entries can cross: the newer news wins."""

import json
import uuid

from odoo.tests import tagged

from .common import SimulatorCase


@tagged("post_install", "-at_install")
class TestNewerNewsWins(SimulatorCase):
    def setUp(self):
        super().setUp()
        self.ada, self.employee = self.person_with_employee("Ada")
        self.clock_in = self.simulator.add_time_entry(self.ada["id"], "In", self.at(8))
        self.clock_out = self.simulator.add_time_entry(self.ada["id"], "Out", self.at(12))
        self.window = (self.naive(0), self.naive(0, day=1))

    def deliver(self, event_type, data):
        """Store and apply a webhook event as the controller does."""
        event = self.env["jibble.webhook.event"]._store(
            {
                "event_id": str(uuid.uuid4()),
                "event_type": event_type,
                "payload": json.dumps({"type": event_type, "data": data}),
                "jibble_entry_id": data["id"],
            }
        )
        event._process()
        return event

    def slow_pull(self):
        """A pull that reads Jibble now and writes later; returns its writing step."""
        observed = self.service._next_observation()
        raw = [dict(entry) for entry in self.simulator.time_entries]
        return lambda: self.service._receive_entries(raw, "cron", observed, window=self.window)

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
        stored = self.env["jibble.time.entry"].search([("entry_id", "=", late["id"])])
        self.assertTrue(stored.is_active)
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
        stored = self.env["jibble.time.entry"].search([("entry_id", "=", self.clock_in["id"])])
        self.assertEqual((stored.is_active, stored.state), (False, "ignored"))
        self.assertFalse(self.attendances(self.employee))

    def test_a_retried_old_event_does_not_undo_a_newer_pull(self):
        self.service._receive_entries([self.clock_in], "cron", self.service._next_observation())
        event = self.env["jibble.webhook.event"]._store(
            {
                "event_id": "evt-old-out",
                "event_type": "TimeEntry.Created",
                "payload": json.dumps({"type": "TimeEntry.Created", "data": self.clock_out}),
                "jibble_entry_id": self.clock_out["id"],
            }
        )
        self.simulator.update_time_entry(self.clock_out["id"], time=self.at(15))
        self.pull()
        event._process()
        self.assertEqual(event.state, "done")
        self.assertEqual(self.intervals(self.employee), [(self.naive(8), self.naive(15))])

    def test_a_deletion_older_than_the_last_pull_is_not_applied(self):
        self.pull()
        event = self.env["jibble.webhook.event"]._store(
            {
                "event_id": "evt-old-delete",
                "event_type": "TimeEntry.Deleted",
                "payload": json.dumps({"type": "TimeEntry.Deleted", "data": {"id": "x"}}),
                "jibble_entry_id": "x",
            }
        )
        self.simulator.update_time_entry(self.clock_out["id"], time=self.at(16))
        self.pull()
        old_delete = self.service._apply_event_entry(
            "TimeEntry.Deleted", {"id": self.clock_out["id"]}, event.observation
        )
        self.assertTrue(old_delete.is_active)
        self.assertEqual(self.intervals(self.employee), [(self.naive(8), self.naive(16))])

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
