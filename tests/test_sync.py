import time
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged
from odoo.tools import config

from ..jibble.entries import FROM_PULL, News, parse_entry
from ..jibble.planning import HELD_OPEN
from ..models import jibble_apply, transaction
from ..models import jibble_sync_service as sync_service
from .common import CronWakeUps, SimulatorCase, attendance_inserts_collide, statements_run


@tagged("post_install", "-at_install")
class TestSync(SimulatorCase):
    def setUp(self):
        super().setUp()
        self.ada, self.ada_employee = self.person_with_employee("Ada")
        self.ben, self.ben_employee = self.person_with_employee("Ben")

    def work(self, person, start, end, day=0, **extra):
        """Clock a person in and out on day `day`, hours after midnight UTC."""
        clock_in = self.simulator.add_time_entry(person["id"], "In", self.at(start, day), **extra)
        clock_out = self.simulator.add_time_entry(person["id"], "Out", self.at(end, day))
        return clock_in, clock_out

    def test_clean_first_sync_creates_paired_attendances(self):
        support = self.simulator.add_activity("Support")
        apollo = self.simulator.add_project("Apollo")
        office = self.simulator.add_location("Office")
        self.work(
            self.ada,
            8,
            12,
            activity_id=support["id"],
            project_id=apollo["id"],
            location_id=office["id"],
        )
        self.work(self.ada, 13, 17)
        self.work(self.ben, 9, 18, day=1)
        logs = self.pull()
        self.assertEqual(
            self.intervals(self.ada_employee),
            [
                (self.naive(8), self.naive(12)),
                (self.naive(13), self.naive(17)),
            ],
        )
        self.assertEqual(self.intervals(self.ben_employee), [(self.naive(9, 1), self.naive(18, 1))])
        first = self.attendances(self.ada_employee)[0]
        self.assertEqual(
            (first.jibble_activity, first.jibble_project, first.jibble_location, first.sync_status),
            ("Support", "Apollo", "Office", "synced"),
        )
        self.assertEqual(self.total(logs, "received"), 6)
        self.assertEqual(self.total(logs, "created"), 3)
        self.assertEqual(set(logs.mapped("status")), {"success"})
        self.assertTrue(self.ada_employee.last_jibble_sync)
        self.assertTrue(self.env["ir.config_parameter"].get_param("jibble_connector.sync_cursor"))

    def test_waiting_entries_that_collide_are_logged_and_applied_by_the_next_run(self):
        """A retry of waiting entries that meets a serialization failure (here PostgreSQL's own,
        raised by a trigger as the fault drill does) rolls back, says so in the log and calls
        the catch-up cron again; it used to escape the cron, unlogged, and leave the entries
        waiting until the next scheduled run."""
        rows = self.work(self.ada, 8, 12)
        Entry = self.env["jibble.time.entry"]
        Entry._store_news(
            [parse_entry(row) for row in rows], News(fields.Datetime.now(), FROM_PULL)
        )
        catch_up = self.env.ref("jibble_connector.ir_cron_jibble_sync")
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", catch_up.id)])
        with attendance_inserts_collide(self.env):
            self.env["jibble.sync.service"]._retry_held("cron")
        log = self.last_log("apply")
        self.assertEqual((log.status, log.failed_count), ("failed", 1))
        self.assertIn("SerializationFailure: test collision", log.detail)
        retry = self.env["ir.cron.trigger"].search([("cron_id", "=", catch_up.id)]) - triggers
        self.assertEqual(len(retry), 1)
        self.assertGreater(retry.call_at, fields.Datetime.now())
        self.assertFalse(self.attendances(self.ada_employee))
        self.assertEqual(set(Entry.search([]).mapped("state")), {"pending"})
        self.env["jibble.sync.service"]._retry_held("cron")
        self.assertEqual(self.intervals(self.ada_employee), [(self.naive(8), self.naive(12))])
        self.assertEqual(set(Entry.search([]).mapped("state")), {"applied"})

    def test_running_the_same_pull_twice_changes_nothing(self):
        self.work(self.ada, 8, 12)
        self.work(self.ada, 9, 17, day=1)
        self.pull()
        before = [
            (a.id, a.check_in, a.check_out, a.write_date)
            for a in self.attendances(self.ada_employee)
        ]
        self.env["ir.config_parameter"].set_param("jibble_connector.sync_cursor", False)
        logs = self.pull()
        after = [
            (a.id, a.check_in, a.check_out, a.write_date)
            for a in self.attendances(self.ada_employee)
        ]
        self.assertEqual(before, after)
        self.assertEqual(self.total(logs, "received"), 4)
        self.assertEqual(
            [self.total(logs, name) for name in ("created", "updated", "deleted")], [0, 0, 0]
        )

    def test_edited_entry_changes_the_attendance(self):
        clock_in, clock_out = self.work(self.ada, 8, 12)
        self.pull()
        attendance = self.attendances(self.ada_employee)
        self.simulator.update_time_entry(clock_out["id"], time=self.at(12.5))
        self.simulator.update_time_entry(clock_in["id"], time=self.at(7.75))
        self.env["ir.config_parameter"].set_param("jibble_connector.sync_batch_hours", 24 * 10)
        logs = self.pull()
        self.assertEqual(self.intervals(self.ada_employee), [(self.naive(7.75), self.naive(12.5))])
        self.assertEqual(self.attendances(self.ada_employee), attendance)
        self.assertEqual(
            [self.total(logs, name) for name in ("created", "updated", "deleted")], [0, 1, 0]
        )

    def test_a_switch_that_hands_a_clock_out_to_a_new_attendance_collides_with_nothing(self):
        """The clock-out id is unique: it must be released before it is given again, in the
        database and not only in the ORM's pending writes (cause of the drill's transient
        conflicts)."""
        self.work(self.ada, 8, 12)
        self.pull()
        switch = self.simulator.add_time_entry(self.ada["id"], "In", self.at(10))
        with self.assertNoLogs("odoo.sql_db", level="ERROR"):
            logs = self.pull()
        self.assertEqual(
            self.intervals(self.ada_employee),
            [(self.naive(8), self.naive(10)), (self.naive(10), self.naive(12))],
        )
        self.assertEqual(self.attendances(self.ada_employee)[0].jibble_out_entry_id, switch["id"])
        self.assertEqual([self.total(logs, name) for name in ("created", "updated")], [1, 1])

    def test_a_switch_moved_later_moves_both_shifts_without_a_conflict(self):
        """The first shift's end and the second's start move later together: updated in time
        order, Odoo would see the first overlap the second before the second moved (the
        drill's seed 404)."""
        self.simulator.add_time_entry(self.ada["id"], "In", self.at(8))
        switch = self.simulator.add_time_entry(self.ada["id"], "In", self.at(12))
        self.simulator.add_time_entry(self.ada["id"], "Out", self.at(17))
        self.pull()
        self.simulator.update_time_entry(switch["id"], time=self.at(12.5))
        logs = self.pull()
        self.assertEqual(
            self.intervals(self.ada_employee),
            [(self.naive(8), self.naive(12.5)), (self.naive(12.5), self.naive(17))],
        )
        self.assertEqual(set(self.attendances(self.ada_employee).mapped("sync_status")), {"synced"})
        self.assertEqual(self.total(logs, "failed"), 0)
        self.assertEqual(self.entry(switch["id"]).state, "applied")

    def test_archived_clock_in_removes_the_attendance(self):
        clock_in, _clock_out = self.work(self.ada, 8, 12)
        self.work(self.ada, 13, 17)
        self.pull()
        self.simulator.archive_time_entry(clock_in["id"])
        logs = self.pull()
        self.assertEqual(self.intervals(self.ada_employee), [(self.naive(13), self.naive(17))])
        self.assertEqual(self.total(logs, "deleted"), 1)

    def test_deleted_clock_out_reopens_the_attendance(self):
        _clock_in, clock_out = self.work(self.ada, 8, 12)
        self.pull()
        self.simulator.delete_time_entry(clock_out["id"])
        self.pull()
        self.assertEqual(self.intervals(self.ada_employee), [(self.naive(8), None)])
        stored = self.env["jibble.time.entry"].search([("entry_id", "=", clock_out["id"])])
        self.assertEqual((stored.is_active, stored.state), (False, "ignored"))

    def test_open_attendance_is_closed_by_its_later_clock_out(self):
        clock_in = self.simulator.add_time_entry(self.ada["id"], "In", self.at(8))
        self.pull()
        self.assertEqual(self.intervals(self.ada_employee), [(self.naive(8), None)])
        clock_out = self.simulator.add_time_entry(self.ada["id"], "Out", self.at(16))
        self.pull()
        attendance = self.attendances(self.ada_employee)
        self.assertEqual(self.intervals(self.ada_employee), [(self.naive(8), self.naive(16))])
        self.assertEqual(
            (attendance.jibble_entry_id, attendance.jibble_out_entry_id),
            (clock_in["id"], clock_out["id"]),
        )

    def test_overlap_with_a_manual_attendance_is_a_conflict_until_jibble_corrects_it(self):
        manual = self.env["hr.attendance"].create(
            {
                "employee_id": self.ada_employee.id,
                "check_in": self.naive(7),
                "check_out": self.naive(9),
            }
        )
        clock_in, _clock_out = self.work(self.ada, 8, 12)
        logs = self.pull()
        self.assertEqual(self.attendances(self.ada_employee), manual)
        stored = self.env["jibble.time.entry"].search([("entry_id", "=", clock_in["id"])])
        self.assertEqual(stored.state, "conflict")
        conflict = self.env["jibble.sync.log"].search([("jibble_entry_id", "=", clock_in["id"])])
        self.assertEqual(conflict.status, "failed")
        self.assertIn("collides", conflict.message)
        self.assertEqual(conflict.employee_id, self.ada_employee)
        self.assertIn("partial", logs.mapped("status"))
        self.assertEqual(self.total(logs, "failed"), 1)

        self.simulator.update_time_entry(clock_in["id"], time=self.at(9.5))
        self.pull()
        self.assertEqual(
            self.intervals(self.ada_employee),
            [(self.naive(7), self.naive(9)), (self.naive(9.5), self.naive(12))],
        )
        self.assertEqual(stored.state, "applied")

    def test_conflict_with_an_existing_synced_attendance_marks_it(self):
        _clock_in, clock_out = self.work(self.ada, 8, 12)
        self.pull()
        attendance = self.attendances(self.ada_employee)
        self.env["hr.attendance"].create(
            {
                "employee_id": self.ada_employee.id,
                "check_in": self.naive(13),
                "check_out": self.naive(14),
            }
        )
        self.simulator.update_time_entry(clock_out["id"], time=self.at(15))
        self.pull()
        self.assertEqual(attendance.check_out, self.naive(12))
        self.assertEqual(attendance.sync_status, "conflict")
        self.assertTrue(attendance.jibble_sync_message)

    def test_clock_out_without_clock_in_is_kept_as_a_conflict(self):
        lonely = self.simulator.add_time_entry(self.ada["id"], "Out", self.at(9))
        self.pull()
        self.assertFalse(self.attendances(self.ada_employee))
        stored = self.env["jibble.time.entry"].search([("entry_id", "=", lonely["id"])])
        self.assertEqual(stored.state, "conflict")
        self.assertIn("without a clock-in", stored.state_message)

    def test_unknown_person_is_kept_then_applied_once_linked(self):
        stranger = self.simulator.add_person("Stranger", email="stranger@example.com")
        self.work(stranger, 8, 12)
        logs = self.pull()
        held = self.env["jibble.time.entry"].search([("person_id", "=", stranger["id"])])
        self.assertEqual(set(held.mapped("state")), {"unmatched"})
        self.assertEqual(self.total(logs, "skipped"), 2)
        employee = self.env["hr.employee"].create({"name": "Stranger"})
        employee.jibble_user_id = stranger["id"]
        self.assertEqual(self.intervals(employee), [(self.naive(8), self.naive(12))])
        self.assertEqual(set(held.mapped("state")), {"applied"})

    def test_email_matching_links_employees_case_insensitively(self):
        self.env["ir.config_parameter"].set_param("jibble_connector.auto_match_email", True)
        person = self.simulator.add_person("Cleo", email="Cleo.Doe@Example.com")
        employee = self.env["hr.employee"].create(
            {"name": "Cleo", "work_email": "cleo.doe@example.COM"}
        )
        self.work(person, 8, 12)
        self.pull()
        self.assertEqual(employee.jibble_user_id, person["id"])
        self.assertEqual(employee.jibble_email, "Cleo.Doe@Example.com")
        self.assertEqual(self.intervals(employee), [(self.naive(8), self.naive(12))])

    def test_jibble_email_wins_over_work_email(self):
        self.env["ir.config_parameter"].set_param("jibble_connector.auto_match_email", True)
        person = self.simulator.add_person("Dora", email="dora@jibble.example")
        by_work = self.env["hr.employee"].create(
            {"name": "Dora W", "work_email": "dora@jibble.example"}
        )
        by_jibble = self.env["hr.employee"].create(
            {"name": "Dora J", "jibble_email": "DORA@jibble.example"}
        )
        self.work(person, 8, 12)
        self.pull()
        self.assertEqual(by_jibble.jibble_user_id, person["id"])
        self.assertFalse(by_work.jibble_user_id)

    def test_email_shared_by_two_employees_is_refused_and_logged(self):
        self.env["ir.config_parameter"].set_param("jibble_connector.auto_match_email", True)
        person = self.simulator.add_person("Eli", email="team@example.com")
        twins = self.env["hr.employee"].create(
            [
                {"name": "Eli One", "work_email": "team@example.com"},
                {"name": "Eli Two", "work_email": "TEAM@example.com"},
            ]
        )
        self.work(person, 8, 12)
        self.pull()
        self.assertFalse(any(twins.mapped("jibble_user_id")))
        refusal = self.last_log("match")
        self.assertEqual(refusal.status, "failed")
        self.assertIn("share the email", refusal.message)
        held = self.env["jibble.time.entry"].search([("person_id", "=", person["id"])])
        self.assertEqual(set(held.mapped("state")), {"unmatched"})

    def test_person_without_email_stays_unmatched(self):
        self.env["ir.config_parameter"].set_param("jibble_connector.auto_match_email", True)
        nobody = self.simulator.add_person("Nobody", email=None)
        self.env["hr.employee"].create({"name": "Nobody", "work_email": False})
        self.work(nobody, 8, 12)
        self.pull()
        held = self.env["jibble.time.entry"].search([("person_id", "=", nobody["id"])])
        self.assertEqual(set(held.mapped("state")), {"unmatched"})

    def test_match_employees_button_links_all_and_reports_the_rest(self):
        self.simulator.add_person("Fay", email="fay@example.com")
        self.simulator.add_person("Gus", email="gus@example.com")
        fay = self.env["hr.employee"].create({"name": "Fay", "work_email": "FAY@example.com"})
        action = self.env["res.config.settings"].create({}).action_jibble_match_employees()
        self.assertTrue(fay.jibble_user_id)
        self.assertIn("1 employees linked", action["params"]["message"])
        self.assertIn("Gus", action["params"]["message"])
        log = self.last_log("match")
        self.assertEqual((log.status, log.created_count, log.skipped_count), ("partial", 1, 1))

    def test_employee_with_sync_disabled_is_skipped_then_applied_when_enabled(self):
        self.ada_employee.jibble_sync_enabled = False
        self.work(self.ada, 8, 12)
        logs = self.pull()
        self.assertFalse(self.attendances(self.ada_employee))
        self.assertEqual(self.total(logs, "skipped"), 2)
        self.ada_employee.jibble_sync_enabled = True
        self.assertEqual(self.intervals(self.ada_employee), [(self.naive(8), self.naive(12))])

    def test_shifts_around_midnight_in_two_time_zones(self):
        """Jibble's `time` is the truth; localTime (here without an offset for Nia) and
        belongsToDate only say how the person saw it."""
        bogota = self.simulator.add_person(
            "Nia", time_zone="America/Bogota", local_time_offset=False
        )
        kolkata = self.simulator.add_person("Kai", time_zone="Asia/Kolkata")
        nia = self.env["hr.employee"].create({"name": "Nia", "jibble_user_id": bogota["id"]})
        kai = self.env["hr.employee"].create({"name": "Kai", "jibble_user_id": kolkata["id"]})
        nia_in, _nia_out = self.work(bogota, 20, 26)
        kai_in, _kai_out = self.work(kolkata, 18.5, 24.5)
        self.pull()
        self.assertEqual(self.intervals(nia), [(self.naive(20), self.naive(26))])
        self.assertEqual(self.intervals(kai), [(self.naive(18.5), self.naive(24.5))])
        nia_entry = self.env["jibble.time.entry"].search([("entry_id", "=", nia_in["id"])])
        kai_entry = self.env["jibble.time.entry"].search([("entry_id", "=", kai_in["id"])])
        self.assertEqual(nia_entry.local_time[:16], (self.naive(15)).strftime("%Y-%m-%dT%H:%M"))
        self.assertEqual(
            (nia_entry.offset_minutes, nia_entry.belongs_to_date), (-300, self.day.date())
        )
        self.assertEqual(
            (kai_entry.offset_minutes, kai_entry.belongs_to_date),
            (330, self.day.date() + timedelta(days=1)),
        )

    def test_a_shift_across_two_batches_is_created_once_whole(self):
        """Batches are a day here: a night shift waits for the batch that reads its end, and
        a clock-in still open when the whole run ends is applied at its end."""
        night_in, _night_out = self.work(self.ada, 20, 28)
        self.simulator.add_time_entry(self.ben["id"], "In", self.at(8, day=3))
        self.assertTrue(self.service._run_pull_batch("manual"))
        self.assertFalse(self.attendances(self.ada_employee))
        held = self.entry(night_in["id"])
        self.assertEqual((held.state, held.state_message), ("pending", HELD_OPEN))
        logs = self.pull()
        attendance = self.attendances(self.ada_employee)
        self.assertEqual(self.intervals(self.ada_employee), [(self.naive(20), self.naive(28))])
        self.assertEqual(held.state, "applied")
        self.assertEqual((self.total(logs, "created"), self.total(logs, "updated")), (1, 0))
        self.assertFalse(attendance.message_ids.tracking_value_ids)
        self.assertEqual(self.intervals(self.ben_employee), [(self.naive(8, 3), None)])
        waiting = self.last_log("apply")
        self.assertEqual((waiting.created_count, waiting.status), (1, "success"))
        self.assertIn("were waiting", waiting.message)

    def test_a_batch_applies_its_people_in_groups_keeping_one_group_in_memory(self):
        """The ORM's cache is dropped between groups of people: a batch of thousands of
        people needs the memory of one group."""
        cyd, cyd_employee = self.person_with_employee("Cyd")
        people = [self.ada, self.ben, cyd]
        for day, person in enumerate(people):
            self.work(person, 8, 17, day=day)
        with patch.object(jibble_apply, "PEOPLE_PER_GROUP", 2):
            logs = self.pull()
            self.assertEqual(self.total(logs, "created"), 3)
            self.env.invalidate_all()
            self.env["jibble.apply"]._apply_people(
                {person["id"]: self.naive(0) for person in people}, "manual"
            )
        employees = (self.ada_employee, self.ben_employee, cyd_employee)
        attendances = [self.attendances(employee) for employee in employees]
        entry_id = self.env["hr.attendance"]._fields["jibble_entry_id"]
        self.assertEqual(
            [self.env.cache.contains(attendance, entry_id) for attendance in attendances],
            [False, False, True],
            "the first group's attendances left the cache when the second group started",
        )
        self.assertEqual([len(attendance) for attendance in attendances], [1, 1, 1])

    def test_the_outcomes_of_a_batch_are_written_in_one_statement(self):
        """Every entry names the attendance it made; the outcomes of all the batch's people
        are written together, in one statement (models/rows.py, `update_rows`)."""
        for day in range(3):
            self.work(self.ada, 8, 12, day=day)
            self.work(self.ada, 13, 17, day=day)
            self.work(self.ben, 9, 18, day=day)
        self.env["jibble.config"]._set_param("sync_batch_hours", 24 * 7)
        with statements_run() as statements:
            logs = self.pull()
        self.assertEqual((len(logs), self.total(logs, "created")), (1, 9))
        entry_updates = [
            statement
            for statement in statements
            if statement.lstrip().startswith('UPDATE "jibble_time_entry"')
        ]
        self.assertEqual(len(entry_updates), 1, entry_updates)
        entries = self.env["jibble.time.entry"].search([])
        self.assertEqual(len(entries), 18)
        self.assertEqual(set(entries.mapped("state")), {"applied"})
        for attendance in self.attendances(self.ada_employee) | self.attendances(self.ben_employee):
            linked = entries.filtered(lambda entry, a=attendance: entry.attendance_id == a)
            self.assertEqual(
                sorted(linked.mapped("entry_id")),
                sorted([attendance.jibble_entry_id, attendance.jibble_out_entry_id]),
            )
            self.assertEqual(linked.employee_id, attendance.employee_id)

    def test_outage_mid_run_loses_nothing_and_duplicates_nothing(self):
        for day in range(3):
            self.work(self.ada, 8, 12, day=day)
            self.work(self.ben, 9, 17, day=day)
        service = self.service
        self.assertTrue(service._run_pull_batch("cron"))
        self.simulator.inject_fault("server_error", count=20, path_contains="TimeEntries")
        self.assertEqual(service._run_pull_batch("cron"), 0)
        failure = self.last_log()
        self.assertEqual(failure.status, "failed")
        self.assertIn("unavailable", failure.message)
        self.assertIn("will be read again", failure.detail)
        self.assertEqual(len(self.attendances(self.ada_employee)), 1)
        self.simulator.clear_faults()
        self.pull()
        self.assertEqual(
            self.intervals(self.ada_employee),
            [(self.naive(8, d), self.naive(12, d)) for d in range(3)],
        )
        self.assertEqual(len(self.attendances(self.ben_employee)), 3)
        self.assertEqual(self.env["jibble.time.entry"].search_count([]), 12)

    def test_cursor_and_overlap_window(self):
        params = self.env["ir.config_parameter"]
        params.set_param("jibble_connector.sync_overlap_hours", 6)
        first_run = self.pull()
        self.assertEqual(len(first_run), 5)
        self.assertIn(self.day.strftime("%Y-%m-%d 00:00:00"), first_run[-1].message)
        cursor = fields.Datetime.to_datetime(params.get_param("jibble_connector.sync_cursor"))
        self.assertFalse(params.get_param("jibble_connector.sync_run_position"))
        second_run = self.pull()
        self.assertEqual(len(second_run), 1)
        self.assertIn(f"from {cursor - timedelta(hours=6)} to", second_run.message)

    def test_sync_now_button_triggers_the_cron_which_pulls(self):
        self.work(self.ada, 8, 12)
        cron = self.env.ref("jibble_connector.ir_cron_jibble_sync")
        action = self.env["res.config.settings"].create({}).action_jibble_sync_now()
        self.assertIn("background", action["params"]["message"])
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]))
        for _batch in range(6):
            cron.method_direct_trigger()
        self.assertEqual(self.intervals(self.ada_employee), [(self.naive(8), self.naive(12))])
        self.assertEqual(self.last_log().trigger, "cron")

    def test_cron_reports_progress_and_resumes_where_it_stopped(self):
        self.work(self.ada, 8, 12, day=2)
        cron = self.env.ref("jibble_connector.ir_cron_jibble_sync")
        self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]).unlink()
        wake_ups = CronWakeUps(self)
        cron.method_direct_trigger()
        progress = self.env["ir.cron.progress"].search(
            [("cron_id", "=", cron.id)], limit=1, order="id desc"
        )
        self.assertEqual(progress.done, 1)
        self.assertGreater(progress.remaining, 0)
        # The workers are woken at once rather than at the cron runner's next look, with no
        # trigger row that would outlive the run.
        self.assertFalse(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]))
        self.assertTrue(wake_ups.received())
        position = self.env["ir.config_parameter"].get_param("jibble_connector.sync_run_position")
        self.assertTrue(position)
        while self.env["ir.config_parameter"].get_param("jibble_connector.sync_run_position"):
            cron.method_direct_trigger()
        self.assertEqual(self.intervals(self.ada_employee), [(self.naive(8, 2), self.naive(12, 2))])

    def run_a_turn(self, cron):
        """One turn of Odoo's cron runner on this job, as a cron worker runs it: up to ten
        calls while it reports work remaining."""
        self.env.flush_all()
        job = {**cron.read(load=None)[0], "done": 0, "remaining": 0, "timed_out_counter": 0}
        self.registry.enter_test_mode(self.cr)
        try:
            self.registry["ir.cron"]._process_job(
                self.registry.db_name, self.registry.cursor(), job
            )
        finally:
            self.registry.leave_test_mode()
        self.env.invalidate_all()

    def pull_turns(self, cron, limits):
        """Turns of the runner until the catch-up pull is done, under these time limits;
        returns the number of pull batches of each turn."""
        Log = self.env["jibble.sync.log"]
        batches_per_turn = []
        with patch.dict(config.options, limits):
            while not batches_per_turn or self.env["ir.config_parameter"].get_param(
                "jibble_connector.sync_run_position"
            ):
                before = Log.search_count([("operation", "=", "pull")])
                self.run_a_turn(cron)
                batches_per_turn.append(Log.search_count([("operation", "=", "pull")]) - before)
                self.assertLess(len(batches_per_turn), 10)
        return batches_per_turn

    def test_a_turn_of_the_cron_runner_ends_within_the_workers_time_limit(self):
        """Odoo's runner calls a job that reports work remaining up to ten times in one turn,
        and the cron worker's time limit covers the whole turn: ten pull batches of 25 s got
        the worker killed in the fifth, mid-batch, again and again through a long backfill."""
        for day in range(4):
            self.work(self.ada, 8, 12, day=day)
        cron = self.env.ref("jibble_connector.ir_cron_jibble_sync")
        cron.active = True
        Triggers = self.env["ir.cron.trigger"]
        Triggers.search([("cron_id", "=", cron.id)]).unlink()
        # A Jibble slow enough that each batch takes more than half of a one-second limit.
        self.simulator.on_request(
            lambda _path, _query: time.sleep(0.6), path_contains="TimeEntries", count=100
        )
        limits = {"limit_time_real_cron": 1, "limit_time_real": 120}
        with patch.dict(config.options, limits):
            self.run_a_turn(cron)
        self.assertEqual(len(self.env["jibble.sync.log"].search([("operation", "=", "pull")])), 1)
        self.assertTrue(
            self.env["ir.config_parameter"].get_param("jibble_connector.sync_run_position")
        )
        # The turn ended as if all were done (Odoo moved the next call to the cron's next
        # interval), and a trigger row, left by the end of the turn, has a worker go on at once.
        self.assertGreater(cron.nextcall, fields.Datetime.now())
        trigger = Triggers.search([("cron_id", "=", cron.id)])
        self.assertEqual(len(trigger), 1)
        self.assertLessEqual(trigger.call_at, fields.Datetime.now())
        turns = self.pull_turns(cron, limits)
        self.assertEqual(set(turns), {1})
        self.assertEqual(len(self.intervals(self.ada_employee)), 4)

    def test_without_a_time_limit_one_turn_of_the_runner_pulls_every_batch(self):
        self.work(self.ada, 8, 12, day=2)
        cron = self.env.ref("jibble_connector.ir_cron_jibble_sync")
        cron.active = True
        turns = self.pull_turns(cron, {"limit_time_real_cron": 0, "limit_time_real": 0})
        self.assertEqual(len(turns), 1)
        self.assertGreater(turns[0], 1)
        self.assertEqual(self.intervals(self.ada_employee), [(self.naive(8, 2), self.naive(12, 2))])

    def test_a_batch_is_sized_to_apply_within_the_cron_workers_time_limit(self):
        """At the pace of the last batch, a batch takes half of what a turn of the cron runner
        may take: a prefork worker's 120 s include the sleep before its turn (up to 70 s)."""
        Config = self.env["jibble.config"]
        prefork = {"workers": 2, "limit_time_real": 120, "limit_time_real_cron": -1}
        with patch.dict(config.options, prefork):
            self.assertEqual(self.service._batch_entries(), 10000)
            Config._set_param("batch_seconds_per_entry", "0.001")
            self.assertEqual(self.service._batch_entries(), 25000)
            Config._set_param("batch_seconds_per_entry", "0.004")
            self.assertEqual(self.service._batch_entries(), 6250)
            Config._set_param("batch_seconds_per_entry", "2")
            self.assertEqual(self.service._batch_entries(), 1000)
        with patch.dict(config.options, {**prefork, "limit_time_real_cron": 300}):
            self.assertEqual(self.service._batch_entries(), 1000)
            Config._set_param("batch_seconds_per_entry", "0.004")
            self.assertEqual(self.service._batch_entries(), 28750)
        threaded = {"workers": 0, "limit_time_real": 120, "limit_time_real_cron": -1}
        with patch.dict(config.options, threaded):
            self.assertEqual(self.service._batch_entries(), 15000)
            Config._set_param("batch_seconds_per_entry", "0.0001")
            self.assertEqual(self.service._batch_entries(), 50000)
            Config._set_param("sync_batch_entries", 7)
            self.assertEqual(self.service._batch_entries(), 7)

    def test_a_pull_batch_notes_its_pace_and_the_next_batch_reads_that_many(self):
        for day in range(3):
            self.work(self.ada, 8, 12, day=day)
            self.work(self.ben, 9, 17, day=day)
        params = self.env["ir.config_parameter"]
        with patch.object(sync_service, "PACE_MIN_ENTRIES", 4):
            self.service._run_pull_batch("cron", "quick")
            self.assertFalse(params.get_param("jibble_connector.batch_seconds_per_entry"))
            self.service._run_pull_batch("cron")
        log = self.last_log()
        self.assertEqual(log.received_count, 4)
        pace = float(params.get_param("jibble_connector.batch_seconds_per_entry"))
        self.assertAlmostEqual(pace * 4, log.duration, delta=0.001)
        # At ten seconds an entry, the next batches read as few entries as they may (here 7).
        params.set_param("jibble_connector.batch_seconds_per_entry", "10")
        params.set_param("jibble_connector.sync_batch_hours", 24 * 10)
        params.set_param("jibble_connector.sync_cursor", False)
        self.simulator.max_page_size = 5
        threaded = {"workers": 0, "limit_time_real": 120, "limit_time_real_cron": -1}
        with (
            patch.object(sync_service, "BATCH_ENTRIES_RANGE", (7, 50000)),
            patch.dict(config.options, threaded),
        ):
            logs = self.pull()
        self.assertGreaterEqual(len(logs.filtered("received_count")), 2)
        self.assertLessEqual(max(logs.mapped("received_count")), 10, "two pages at most")
        self.assertEqual(len(self.attendances(self.ada_employee)), 3)
        self.assertEqual(len(self.attendances(self.ben_employee)), 3)

    def test_a_second_run_while_one_is_running_is_skipped(self):
        with self.env.registry.cursor() as other_cr:
            other_cr.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [transaction.RUN_LOCKS, transaction.PULL_RUN],
            )
            self.service._run_pull_batch("cron")
        self.assertEqual(self.last_log().status, "skipped")
        self.assertIn("Another Jibble pull", self.last_log().message)

    def test_failed_rows_offer_retry_where_it_makes_sense(self):
        manual = self.env["hr.attendance"].create(
            {
                "employee_id": self.ada_employee.id,
                "check_in": self.naive(7),
                "check_out": self.naive(9),
            }
        )
        clock_in, _clock_out = self.work(self.ada, 8, 12)
        self.pull()
        conflict = self.env["jibble.sync.log"].search([("jibble_entry_id", "=", clock_in["id"])])
        self.assertTrue(conflict.can_retry)
        self.assertFalse(self.last_log().can_retry)
        manual.unlink()
        conflict.action_retry()
        self.assertEqual(self.intervals(self.ada_employee), [(self.naive(8), self.naive(12))])
        self.assertEqual(self.last_log("apply").status, "success")

        self.simulator.inject_fault("server_error", count=20, path_contains="TimeEntries")
        failure = self.pull()
        self.assertTrue(failure.can_retry)
        cron = self.env.ref("jibble_connector.ir_cron_jibble_sync")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        failure.action_retry()
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers + 1
        )

    def test_settings_show_the_last_sync(self):
        self.assertEqual(self.env["res.config.settings"].create({}).jibble_last_sync, "Never")
        self.work(self.ada, 8, 12)
        self.pull()
        summary = self.env["res.config.settings"].create({}).jibble_last_sync
        self.assertIn("Success", summary)
        self.assertIn("received", summary)
