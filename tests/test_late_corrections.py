"""Late corrections reach Odoo (deep re-read, re-sync of a period) and Odoo proves it matches
Jibble (reconciliation with Jibble's own tracked time)."""

import json
from datetime import datetime, time, timedelta, timezone

from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from .common import SimulatorCase


@tagged("post_install", "-at_install")
class TestLateCorrections(SimulatorCase):
    def setUp(self):
        super().setUp()
        today = datetime.now(timezone.utc).date()
        self.base = datetime.combine(today - timedelta(days=45), time(), tzinfo=timezone.utc)
        self.config = self.env["jibble.config"]
        self.config._set_param("sync_start_date", self.base.strftime("%Y-%m-%d %H:%M:%S"))
        self.config._set_param("sync_overlap_hours", "48")
        self.config._set_param("sync_batch_hours", "240")
        self.ada = self.simulator.add_person("Ada", email="ada@example.com", time_zone="UTC")
        self.employee = self.env["hr.employee"].create(
            {"name": "Ada", "tz": "UTC", "jibble_user_id": self.ada["id"]}
        )
        sim, person = self.simulator, self.ada["id"]
        self.morning_in = sim.add_time_entry(person, "In", self.ago(20, 8))
        self.morning_out = sim.add_time_entry(person, "Out", self.ago(20, 12))
        self.afternoon_in = sim.add_time_entry(person, "In", self.ago(20, 13))
        sim.add_time_entry(person, "Out", self.ago(20, 17))
        sim.add_time_entry(person, "In", self.ago(40, 8))
        self.old_out = sim.add_time_entry(person, "Out", self.ago(40, 12))
        self.pull()
        self.config._set_param("deep_last_done", False)

    def ago(self, days, hours):
        day = datetime.now(timezone.utc).date() - timedelta(days=days)
        return datetime.combine(day, time(), tzinfo=timezone.utc) + timedelta(hours=hours)

    def naive_ago(self, days, hours):
        return self.ago(days, hours).replace(tzinfo=None)

    def correct_in_jibble(self):
        sim = self.simulator
        sim.update_time_entry(self.morning_out["id"], time=self.ago(20, 11))
        sim.archive_time_entry(self.afternoon_in["id"])
        sim.add_time_entry(self.ada["id"], "In", self.ago(20, 18))
        sim.add_time_entry(self.ada["id"], "Out", self.ago(20, 19))
        sim.update_time_entry(self.old_out["id"], time=self.ago(40, 12.5))

    def deep(self):
        Log = self.env["jibble.sync.log"]
        newest = Log.search([], limit=1, order="id desc").id or 0
        self.service._sync_all("manual", "deep")
        return Log.search([("id", ">", newest)])

    def day_twenty(self):
        return [
            interval
            for interval in self.intervals(self.employee)
            if interval[0].date() == self.naive_ago(20, 0).date()
        ]

    def test_the_normal_pull_misses_corrections_older_than_its_window(self):
        self.correct_in_jibble()
        self.pull()
        self.assertEqual(
            self.day_twenty(),
            [
                (self.naive_ago(20, 8), self.naive_ago(20, 12)),
                (self.naive_ago(20, 13), self.naive_ago(20, 17)),
            ],
        )

    def test_the_deep_re_read_brings_an_edit_an_archive_and_a_new_entry_20_days_back(self):
        self.correct_in_jibble()
        logs = self.deep()
        self.assertEqual(
            self.day_twenty(),
            [
                (self.naive_ago(20, 8), self.naive_ago(20, 11)),
                (self.naive_ago(20, 18), self.naive_ago(20, 19)),
            ],
        )
        self.assertIn(
            (self.naive_ago(40, 8), self.naive_ago(40, 12)),
            self.intervals(self.employee),
            "an entry older than the period is untouched",
        )
        pulls = logs.filtered(lambda log: log.operation == "deep_pull")
        self.assertEqual(
            [self.total(pulls, name) for name in ("created", "updated", "deleted")], [1, 1, 1]
        )
        reconcile = logs.filtered(lambda log: log.operation == "reconcile")
        self.assertEqual(reconcile.status, "success", reconcile.message)
        cursor = self.config._param("sync_cursor")
        self.assertEqual(self.config._param("sync_cursor"), cursor, "the cursor stays")

    def test_a_re_read_of_an_unchanged_period_writes_nothing(self):
        self.deep()
        self.config._set_param("deep_last_done", False)
        attendances = self.attendances(self.employee)
        entries = self.env["jibble.time.entry"].search([])
        self.env.flush_all()
        before = (attendances.mapped("write_date"), entries.mapped("write_date"))
        self.env.cr.execute("SELECT now()")
        logs = self.deep()
        self.env.invalidate_all()
        self.assertEqual((attendances.mapped("write_date"), entries.mapped("write_date")), before)
        pulls = logs.filtered(lambda log: log.operation == "deep_pull")
        self.assertTrue(pulls)
        self.assertEqual(
            [self.total(pulls, name) for name in ("created", "updated", "deleted")], [0, 0, 0]
        )

    def test_the_scheduled_re_read_runs_once_a_day_whatever_wakes_it(self):
        self.deep()
        logs = self.deep()
        self.assertFalse(logs, "a second wake-up the same day re-reads nothing")

    def wizard(self, **values):
        if not hasattr(self, "manager"):
            self.manager = new_test_user(
                self.env,
                "jibble_resync_manager",
                groups="hr_attendance.group_hr_attendance_manager",
            )
        return self.env["jibble.resync.wizard"].with_user(self.manager).create(values)

    def test_the_wizard_reaches_older_corrections_and_nothing_outside_its_period(self):
        sim, person = self.simulator, self.ada["id"]
        old_afternoon = sim.add_time_entry(person, "In", self.ago(40, 13))
        sim.add_time_entry(person, "Out", self.ago(40, 14))
        self.config._set_param("sync_cursor", False)
        self.pull()
        self.config._set_param("deep_last_done", self.naive_ago(0, 0))
        self.correct_in_jibble()
        sim.archive_time_entry(old_afternoon["id"])
        sim.add_time_entry(person, "In", self.ago(40, 18))
        sim.add_time_entry(person, "Out", self.ago(40, 19))
        day = self.naive_ago(40, 0).date()
        cron = self.env.ref("jibble_connector.ir_cron_jibble_deep_resync")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        wizard = self.wizard(
            date_from=day - timedelta(days=1),
            date_to=day + timedelta(days=1),
            employee_ids=[(6, 0, self.employee.ids)],
        )
        wizard.action_resync()
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers + 1
        )
        logs = self.deep()
        day_forty = [
            interval
            for interval in self.intervals(self.employee)
            if interval[0].date() == self.naive_ago(40, 0).date()
        ]
        self.assertEqual(
            day_forty,
            [
                (self.naive_ago(40, 8), self.naive_ago(40, 12.5)),
                (self.naive_ago(40, 18), self.naive_ago(40, 19)),
            ],
            "an edit, an archive and a new entry 40 days back",
        )
        self.assertIn(
            (self.naive_ago(20, 13), self.naive_ago(20, 17)),
            self.day_twenty(),
            "a correction outside the period is untouched",
        )
        pulls = logs.filtered(lambda log: log.operation == "deep_pull")
        self.assertEqual(
            [self.total(pulls, name) for name in ("created", "updated", "deleted")], [1, 1, 1]
        )

    def test_the_wizard_refuses_a_reversed_or_too_long_period(self):
        today = datetime.now(timezone.utc).date()
        with self.assertRaisesRegex(UserError, "starts after it ends"):
            self.wizard(date_from=today, date_to=today - timedelta(days=1)).action_resync()
        self.config._set_param("resync_max_days", 30)
        with self.assertRaisesRegex(UserError, "at most 30 days"):
            self.wizard(date_from=today - timedelta(days=30), date_to=today).action_resync()
        self.assertFalse(json.loads(self.config._param("deep_requests") or "[]"))

    def test_a_mismatch_made_in_odoo_shows_in_the_report_and_in_the_log(self):
        attendance = self.attendances(self.employee).filtered(
            lambda a: a.check_in == self.naive_ago(20, 13)
        )
        attendance.check_out = self.naive_ago(20, 18)
        logs = self.deep()
        reconcile = logs.filtered(lambda log: log.operation == "reconcile")
        self.assertEqual(reconcile.status, "failed")
        day = self.naive_ago(20, 0).date()
        self.assertIn(str(day), reconcile.message)
        row = self.env["jibble.reconciliation"].search([("differs", "=", True)])
        self.assertEqual((row.day, row.employee_id), (day, self.employee))
        self.assertAlmostEqual(row.difference, 1.0, places=3)

    def test_breaks_automatic_clock_outs_and_a_night_shift_reconcile_exactly(self):
        sim, person = self.simulator, self.ada["id"]
        sim.add_time_entry(person, "In", self.ago(10, 8))
        start = sim.start_break(person, self.ago(10, 12))
        sim.end_break(person, self.ago(10, 12.5), start["breakId"])
        sim.add_time_entry(person, "Out", self.ago(10, 17))
        sim.add_time_entry(person, "In", self.ago(9, 9))
        sim.add_time_entry(person, "Out", self.ago(9, 23.98), client_type="AutoOut")
        sim.add_time_entry(person, "In", self.ago(8, 22))
        sim.add_time_entry(
            person, "Out", self.ago(7, 6), belongs_to_date=str(self.ago(8, 0).date())
        )
        logs = self.deep()
        reconcile = logs.filtered(lambda log: log.operation == "reconcile")
        self.assertEqual(reconcile.status, "success", reconcile.detail)
        rows = self.env["jibble.reconciliation"].search([("day", "=", self.ago(10, 0).date())])
        self.assertAlmostEqual(rows.jibble_hours, 8.5, places=3)
        self.assertAlmostEqual(rows.odoo_hours, 8.5, places=3)
        self.assertFalse(self.env["jibble.reconciliation"].search([("differs", "=", True)]))
