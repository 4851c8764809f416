"""A queued webhook event wakes the inbox cron: Odoo's trigger row, and the notification
Odoo's cron workers listen for, sent through a connection each process keeps
(models/ir_cron.py). The notifications are received by a real listener on the `postgres`
database, as Odoo's cron workers receive them."""

from datetime import datetime, timezone

from odoo.tests import TransactionCase, tagged

from ..jibble.events import Event
from ..models import transaction
from ..models.jibble_webhook_event import INBOX_CRON
from .common import CronWakeUps, time_entry


def utc_now():
    return datetime.now(timezone.utc).replace(tzinfo=None)


@tagged("post_install", "-at_install")
class TestCronWakeUp(TransactionCase):
    def setUp(self):
        super().setUp()
        self.cron = self.env.ref(INBOX_CRON)
        self.cron.active = True
        self.env["ir.cron.trigger"].search([("cron_id", "=", self.cron.id)]).unlink()
        self.env.flush_all()
        self.cron_wake_ups = CronWakeUps(self)

    def queue_event(self, number):
        event = Event(
            f"evt-wake-{number}",
            "TimeEntry.Created",
            utc_now(),
            time_entry(f"wake-{number}", "p-wake", "In", "2026-01-05T08:00:00.000Z"),
        )
        return self.env["jibble.webhook.event"]._store(event, "127.0.0.1", queued=True)

    def triggers(self):
        return self.env["ir.cron.trigger"].search([("cron_id", "=", self.cron.id)])

    def wake_ups(self):
        return self.cron_wake_ups.received()

    def test_a_queued_event_writes_the_trigger_row_in_one_statement(self):
        """Odoo's `_trigger()` read the cron twice and created the row through the ORM: more
        than storing the event itself."""
        event = self.queue_event(1)
        before = utc_now().replace(microsecond=0)
        with self.assertQueryCount(1):
            event._queue()
        trigger = self.triggers()
        self.assertEqual(len(trigger), 1)
        self.assertTrue(before <= trigger.call_at <= utc_now())
        self.assertEqual(trigger.create_uid, self.env.user)

    def test_an_archived_cron_gets_no_trigger_and_no_wake_up(self):
        self.cron.active = False
        self.queue_event(1)._queue()
        self.assertFalse(self.triggers())
        self.assertEqual(self.wake_ups(), [])

    def test_wake_ups_go_through_one_kept_connection(self):
        """Odoo opens a connection to the `postgres` database for each notification: a
        PostgreSQL server process started and ended per queued event."""
        self.queue_event(1)._queue()
        [(payload, first_pid)] = self.wake_ups()
        self.assertEqual(payload, self.env.cr.dbname)
        self.queue_event(2)._queue()
        self.assertEqual(self.wake_ups(), [(self.env.cr.dbname, first_pid)])

    def test_a_lost_kept_connection_still_wakes_the_workers_and_is_opened_again(self):
        self.queue_event(1)._queue()
        [(_payload, lost_pid)] = self.wake_ups()
        with self.cron_wake_ups.listener.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [lost_pid])
        self.queue_event(2)._queue()
        with self.assertLogs("odoo.addons.jibble_connector.models.ir_cron", "WARNING"):
            [(payload, _fallback_pid)] = self.wake_ups()
        self.assertEqual(payload, self.env.cr.dbname)
        self.queue_event(3)._queue()
        [(_payload, new_pid)] = self.wake_ups()
        self.queue_event(4)._queue()
        self.assertEqual(self.wake_ups(), [(self.env.cr.dbname, new_pid)])
        self.assertNotEqual(new_pid, lost_pid)

    def test_a_run_with_work_remaining_wakes_the_workers_and_leaves_no_trigger_row(self):
        """A trigger row written during a run outlives it when the run ends with nothing left
        (Odoo removes the rows older than the run's start): the catch-up pull, which reads its
        overlap again on every run, was started again at once, forever."""
        catch_up = self.env.ref("jibble_connector.ir_cron_jibble_sync")
        catch_up.active = True
        Triggers = self.env["ir.cron.trigger"]
        Triggers.search([("cron_id", "=", catch_up.id)]).unlink()
        transaction.notify_progress(self.env, "jibble_connector.ir_cron_jibble_sync", 1, 2)
        self.assertFalse(Triggers.search([("cron_id", "=", catch_up.id)]))
        self.assertEqual([payload for payload, _pid in self.wake_ups()], [self.env.cr.dbname])
