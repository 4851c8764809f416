"""The shapes of the Jibble that exists (../shared/jibble-api.md): breaks, automatic
clock-outs, coordinates, codes, removed people, date windows, capped pages, the quick pull."""

from datetime import datetime, timezone

from odoo.tests import tagged

from .common import SimulatorCase


@tagged("post_install", "-at_install")
class TestJibbleAsItIs(SimulatorCase):
    def setUp(self):
        super().setUp()
        self.ada, self.employee = self.person_with_employee("Ada")
        self.params = self.env["ir.config_parameter"]

    def day_with_break(self, day=0, **in_values):
        """In 08:00, StartBreak 12:00, In 12:30 (same breakId), Out 17:00."""
        sim, person = self.simulator, self.ada["id"]
        clock_in = sim.add_time_entry(person, "In", self.at(8, day), **in_values)
        start = sim.start_break(person, self.at(12, day))
        back = sim.end_break(person, self.at(12.5, day), start["breakId"])
        clock_out = sim.add_time_entry(person, "Out", self.at(17, day))
        return clock_in, start, back, clock_out

    def test_a_break_splits_the_day_and_is_not_worked_time(self):
        support = self.simulator.add_activity("Support")
        sim, person = self.simulator, self.ada["id"]
        sim.add_time_entry(person, "In", self.at(8))
        start = sim.start_break(person, self.at(12))
        sim.end_break(person, self.at(12.5), start["breakId"], activity_id=support["id"])
        sim.add_time_entry(person, "Out", self.at(17))
        self.pull()
        self.assertEqual(
            self.intervals(self.employee),
            [(self.naive(8), self.naive(12)), (self.naive(12.5), self.naive(17))],
        )
        after_break = self.attendances(self.employee)[1]
        self.assertEqual(after_break.jibble_activity, "Support")
        # The break is in no attendance. (Odoo's worked hours would also take the calendar's
        # lunch off on working days only: they depend on the weekday of the test's day.)
        present = sum(
            (attendance.check_out - attendance.check_in).total_seconds()
            for attendance in self.attendances(self.employee)
        )
        self.assertEqual(present / 3600, 8.5)
        entries = self.env["jibble.time.entry"].search([])
        self.assertEqual(set(entries.mapped("state")), {"applied"})
        self.assertEqual(entries.mapped("employee_id"), self.employee)
        self.assertEqual(entries.mapped("attendance_id"), self.attendances(self.employee))

    def test_paid_breaks_keep_one_attendance_across_the_break(self):
        self.params.set_param("jibble_connector.paid_breaks", True)
        self.day_with_break()
        self.pull()
        self.assertEqual(self.intervals(self.employee), [(self.naive(8), self.naive(17))])
        attendance = self.attendances(self.employee)
        entries = self.env["jibble.time.entry"].search([])
        self.assertEqual(entries.mapped("attendance_id"), attendance)
        self.assertEqual(set(entries.mapped("state")), {"applied"})

    def test_edits_and_deletions_of_break_entries_re_plan_the_day(self):
        _clock_in, start, back, _clock_out = self.day_with_break()
        self.pull()
        self.simulator.update_time_entry(start["id"], time=self.at(11))
        self.pull()
        self.assertEqual(
            self.intervals(self.employee),
            [(self.naive(8), self.naive(11)), (self.naive(12.5), self.naive(17))],
        )
        self.simulator.delete_time_entry(back["id"])
        self.pull()
        self.assertEqual(self.intervals(self.employee), [(self.naive(8), self.naive(11))])
        out = self.env["jibble.time.entry"].search([("entry_type", "=", "Out")])
        self.assertEqual((out.state, out.state_message), ("applied", "Clocked out during a break."))

    def test_an_unknown_entry_type_is_kept_logged_once_and_never_counted(self):
        self.simulator.add_time_entry(self.ada["id"], "In", self.at(8))
        odd = self.simulator.add_time_entry(self.ada["id"], "Pause", self.at(10))
        self.simulator.add_time_entry(self.ada["id"], "Out", self.at(12))
        self.pull()
        self.params.set_param("jibble_connector.sync_cursor", False)
        self.pull()
        self.assertEqual(self.intervals(self.employee), [(self.naive(8), self.naive(12))])
        stored = self.entry(odd["id"])
        self.assertEqual(stored.state, "ignored")
        self.assertIn("Pause", stored.state_message)
        logged = self.env["jibble.sync.log"].search([("jibble_entry_id", "=", odd["id"])])
        self.assertEqual((len(logged), logged.status), (1, "skipped"))
        self.assertIn("Pause", logged.message)

    def test_an_automatic_clock_out_is_marked_and_filtered(self):
        self.simulator.add_time_entry(self.ada["id"], "In", self.at(8))
        self.simulator.add_time_entry(self.ada["id"], "Out", self.at(12))
        self.simulator.add_time_entry(self.ada["id"], "In", self.at(13))
        self.simulator.add_time_entry(self.ada["id"], "Out", self.at(23.98), client_type="AutoOut")
        self.pull()
        normal, forgotten = self.attendances(self.employee)
        self.assertEqual((normal.in_mode, normal.out_mode), ("jibble", "jibble"))
        self.assertEqual(forgotten.out_mode, "auto_check_out")
        search_view = self.env.ref("jibble_connector.view_attendance_search_jibble")
        self.assertIn('name="jibble_auto_out"', search_view.arch)
        closed_by_jibble = self.env["hr.attendance"].search(
            [("jibble_out_entry_id", "!=", False), ("out_mode", "=", "auto_check_out")]
        )
        self.assertEqual(closed_by_jibble, forgotten)

    def test_coordinates_go_to_odoo_own_attendance_fields(self):
        self.simulator.add_time_entry(
            self.ada["id"], "In", self.at(8), coordinates={"latitude": 50.85, "longitude": 4.35}
        )
        self.simulator.add_time_entry(
            self.ada["id"], "Out", self.at(12), coordinates={"latitude": -33.9, "longitude": 18.4}
        )
        self.pull()
        attendance = self.attendances(self.employee)
        self.assertEqual((attendance.in_latitude, attendance.in_longitude), (50.85, 4.35))
        self.assertEqual((attendance.out_latitude, attendance.out_longitude), (-33.9, 18.4))

    def test_a_jibble_that_refuses_time_filters_still_syncs_everything(self):
        self.simulator.refuse_time_filter = True
        for day in range(3):
            self.day_with_break(day)
        self.simulator.add_time_entry(self.ada["id"], "In", self.at(22, 2))
        self.simulator.add_time_entry(self.ada["id"], "Out", self.at(30, 2))
        logs = self.pull()
        self.assertEqual(set(logs.mapped("status")), {"success"})
        expected = [
            interval
            for day in range(3)
            for interval in (
                (self.naive(8, day), self.naive(12, day)),
                (self.naive(12.5, day), self.naive(17, day)),
            )
        ] + [(self.naive(22, 2), self.naive(30, 2))]
        self.assertEqual(self.intervals(self.employee), expected)
        self.assertTrue(self.params.get_param("jibble_connector.time_filter_refused"))
        self.params.set_param("jibble_connector.sync_cursor", False)
        again = self.pull()
        self.assertEqual(
            [self.total(again, name) for name in ("created", "updated", "deleted")], [0, 0, 0]
        )

    def test_pages_capped_below_top_without_next_link_lose_no_row(self):
        self.simulator.max_page_size = 3
        for hour in range(8, 18):
            self.simulator.add_time_entry(self.ada["id"], "In", self.at(hour))
            self.simulator.add_time_entry(self.ada["id"], "Out", self.at(hour + 0.5))
        self.pull()
        self.assertEqual(len(self.attendances(self.employee)), 10)
        self.assertEqual(self.env["jibble.time.entry"].search_count([]), 20)

    def test_a_busy_window_is_read_in_bounded_batches_and_loses_nothing(self):
        self.params.set_param("jibble_connector.sync_batch_entries", 7)
        self.simulator.max_page_size = 5
        others = [self.person_with_employee(f"Busy {n}") for n in range(2)]
        for person, _employee in [(self.ada, self.employee), *others]:
            for hour in range(8, 13):
                self.simulator.add_time_entry(person["id"], "In", self.at(hour))
                self.simulator.add_time_entry(person["id"], "Out", self.at(hour + 0.5))
        logs = self.pull()
        day_zero = [log for log in logs if log.received_count]
        self.assertGreaterEqual(len(day_zero), 3, "the day was read in several batches")
        self.assertLessEqual(max(log.received_count for log in logs), 10, "two pages at most")
        self.assertEqual(self.env["jibble.time.entry"].search_count([("is_active", "=", True)]), 30)
        for _person, employee in [(self.ada, self.employee), *others]:
            self.assertEqual(len(self.attendances(employee)), 5)
        self.params.set_param("jibble_connector.sync_cursor", False)
        again = self.pull()
        self.assertEqual(
            [self.total(again, name) for name in ("created", "updated", "deleted")], [0, 0, 0]
        )

    def test_an_unreadable_value_holds_that_entry_and_the_rest_is_applied(self):
        self.simulator.add_time_entry(self.ada["id"], "In", self.at(8))
        self.simulator.add_time_entry(self.ada["id"], "Out", self.at(12))
        odd = self.simulator.add_time_entry(self.ada["id"], "In", self.at(13))
        self.simulator.update_time_entry(odd["id"], offset="five hours")
        logs = self.pull()
        self.assertEqual(self.intervals(self.employee), [(self.naive(8), self.naive(12))])
        held = self.entry(odd["id"])
        self.assertEqual(held.state, "invalid")
        self.assertIn("offset", held.state_message)
        self.assertIn("five hours", held.state_message)
        self.assertIn("success", logs.mapped("status"))
        self.simulator.update_time_entry(odd["id"], offset="PT1H")
        self.params.set_param("jibble_connector.sync_cursor", False)
        self.pull()
        self.assertEqual(held.state, "applied")
        self.assertEqual(self.intervals(self.employee)[-1], (self.naive(13), None))

    def test_people_are_linked_by_code_when_settings_say_so(self):
        self.params.set_param("jibble_connector.match_code", "barcode")
        coded = self.simulator.add_person("Cody", code="E0042")
        employee = self.env["hr.employee"].create({"name": "Cody", "barcode": "E0042"})
        self.simulator.add_time_entry(coded["id"], "In", self.at(9))
        self.pull()
        self.assertEqual(employee.jibble_user_id, coded["id"])
        self.assertEqual(self.intervals(employee), [(self.naive(9), None)])

    def test_a_removed_person_is_not_linked_anew_and_keeps_their_entries(self):
        self.params.set_param("jibble_connector.auto_match_email", True)
        gone = self.simulator.add_person("Gone", email="gone@example.com", status="Removed")
        self.env["hr.employee"].create({"name": "Gone", "work_email": "gone@example.com"})
        clock_in = self.simulator.add_time_entry(gone["id"], "In", self.at(9))
        self.pull()
        self.assertFalse(self.env["hr.employee"].search([("jibble_user_id", "=", gone["id"])]))
        held = self.entry(clock_in["id"])
        self.assertEqual(held.state, "unmatched")
        self.assertEqual(
            (held.person_name, held.person_email, held.person_code),
            ("Gone", "gone@example.com", gone["code"]),
        )

    def test_the_quick_pull_shows_today_and_the_catch_up_then_changes_nothing(self):
        this_hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
        clock_in = self.simulator.add_time_entry(self.ada["id"], "In", this_hour)
        self.service._run_pull_batch("manual", "quick")
        quick = self.last_log("quick_pull")
        self.assertEqual((quick.status, quick.created_count), ("success", 1))
        self.assertEqual(self.attendances(self.employee).jibble_entry_id, clock_in["id"])
        logs = self.pull()
        self.assertEqual(
            [self.total(logs, name) for name in ("created", "updated", "deleted")], [0, 0, 0]
        )
