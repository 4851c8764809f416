from datetime import datetime, timedelta

from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestRetention(TransactionCase):
    def setUp(self):
        super().setUp()
        self.Log = self.env["jibble.sync.log"]
        self.old = datetime.now() - timedelta(days=91)
        self.recent = datetime.now() - timedelta(days=10)

    def log(self, operation, status, start, **values):
        return self.Log._record(operation, status, f"{operation} {status}", start=start, **values)

    def test_old_rows_go_recent_rows_and_unresolved_failures_stay(self):
        old_success = self.log("pull", "success", self.old)
        old_failed_pull = self.log("pull", "failed", self.old - timedelta(days=1))
        recent_success = self.log("pull", "success", self.recent)
        entry = self.env["jibble.time.entry"].create(
            {
                "entry_id": "held",
                "person_id": "p",
                "entry_type": "In",
                "time": self.old,
                "state": "conflict",
            }
        )
        unresolved_conflict = self.log("apply", "failed", self.old, jibble_entry_id=entry.entry_id)
        self.env["jibble.webhook.event"].create(
            [
                {
                    "event_id": "old-done",
                    "event_type": "TimeEntry.Created",
                    "state": "done",
                    "received_at": self.old,
                },
                {
                    "event_id": "old-waiting",
                    "event_type": "TimeEntry.Created",
                    "state": "waiting",
                    "received_at": self.old,
                },
                {
                    "event_id": "new-done",
                    "event_type": "TimeEntry.Created",
                    "state": "done",
                    "received_at": self.recent,
                },
            ]
        )
        self.Log._cron_purge()
        self.assertFalse(old_success.exists())
        self.assertFalse(old_failed_pull.exists(), "a later successful pull resolved it")
        self.assertTrue(recent_success.exists())
        self.assertTrue(unresolved_conflict.exists())
        events = self.env["jibble.webhook.event"].search([]).mapped("event_id")
        self.assertEqual(sorted(events), ["new-done", "old-waiting"])

        entry.state = "applied"
        self.Log._cron_purge()
        self.assertFalse(unresolved_conflict.exists())

    def test_retention_is_a_setting(self):
        self.env["ir.config_parameter"].set_param("jibble_connector.log_retention_days", 5)
        week_old = self.log("pull", "success", datetime.now() - timedelta(days=7))
        self.Log._cron_purge()
        self.assertFalse(week_old.exists())

    def test_a_thousand_unresolved_failures_do_not_stall_the_purge(self):
        """Purging used to look at the 1,000 oldest rows and keep the unresolved failures:
        behind 1,000 of them, nothing older was ever removed."""
        entry = self.env["jibble.time.entry"].create(
            {
                "entry_id": "held-forever",
                "person_id": "p",
                "entry_type": "In",
                "time": self.old,
                "state": "conflict",
            }
        )
        self.Log.create(
            [
                {
                    "operation": "apply",
                    "status": "failed",
                    "message": f"conflict {n}",
                    "start": self.old - timedelta(days=30),
                    "jibble_entry_id": entry.entry_id,
                }
                for n in range(1000)
            ]
        )
        behind = self.log("pull", "success", self.old)
        self.Log._cron_purge()
        self.assertFalse(behind.exists())
        self.assertEqual(self.Log.search_count([("jibble_entry_id", "=", entry.entry_id)]), 1000)
