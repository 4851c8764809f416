"""Beside Odoo's own attendance features: automatic check-out, absence detection, kiosk and
manual attendances, overtime."""

from datetime import datetime, time, timedelta
from unittest.mock import patch

import pytz

from odoo.tests import new_test_user, tagged

from ..models.hr_attendance import TOUCHED_DAYS
from .common import SimulatorCase

ZONE = "Europe/Brussels"


@tagged("post_install", "-at_install")
class TestBesideOdoo(SimulatorCase):
    def setUp(self):
        super().setUp()
        self.company = self.env.company
        self.ada, self.employee = self.person_with_employee("Ada", tz=ZONE)
        self.employee.resource_calendar_id.tz = ZONE

    def local(self, day, hours):
        """The UTC instant (aware) of `hours` after local midnight, `day` days after the first."""
        midnight = pytz.timezone(ZONE).localize(
            datetime.combine(self.day.date() + timedelta(days=day), time())
        )
        return (midnight + timedelta(hours=hours)).astimezone(pytz.utc)

    def naive_local(self, day, hours):
        return self.local(day, hours).replace(tzinfo=None)

    def messages(self, attendance):
        return attendance.message_ids.mapped("body")

    # Automatic check-out

    def open_for_thirteen_hours(self):
        self.company.write({"auto_check_out": True, "auto_check_out_tolerance": 0})
        started = datetime.now(pytz.utc).replace(microsecond=0) - timedelta(hours=13)
        clock_in = self.simulator.add_time_entry(self.ada["id"], "In", started)
        self.env["jibble.config"]._set_param("quick_max_hours", 48)
        self.service._run_pull_batch("manual", "quick")
        attendance = self.attendances(self.employee)
        self.assertFalse(attendance.check_out)
        return clock_in, attendance

    def test_odoo_automatic_check_out_leaves_jibble_attendances_open(self):
        _clock_in, attendance = self.open_for_thirteen_hours()
        manual = self.env["hr.employee"].create({"name": "Kiosk Kim", "tz": ZONE})
        kiosk = self.env["hr.attendance"].create(
            {"employee_id": manual.id, "check_in": attendance.check_in}
        )
        self.env["hr.attendance"]._cron_auto_check_out()
        self.assertFalse(attendance.check_out, "Jibble's open attendance stays open")
        self.assertEqual(kiosk.out_mode, "auto_check_out", "others are still closed by Odoo")
        self.assertEqual(self.employee.attendance_state, "checked_in")

    def test_with_odoo_check_out_kept_jibble_real_clock_out_replaces_it(self):
        self.env["jibble.config"]._set_param("odoo_auto_check_out", True)
        _clock_in, attendance = self.open_for_thirteen_hours()
        self.env["hr.attendance"]._cron_auto_check_out()
        self.assertEqual(attendance.out_mode, "auto_check_out")
        closed_by_odoo = attendance.check_out
        self.assertTrue(closed_by_odoo)
        self.service._run_pull_batch("manual", "quick")
        self.assertEqual(attendance.check_out, closed_by_odoo, "a pull alone does not reopen it")

        real_out = datetime.now(pytz.utc).replace(microsecond=0) - timedelta(minutes=1)
        clock_out = self.simulator.add_time_entry(self.ada["id"], "Out", real_out)
        self.service._run_pull_batch("manual", "quick")
        self.assertEqual(attendance.check_out, real_out.replace(tzinfo=None))
        self.assertEqual(
            (attendance.out_mode, attendance.jibble_out_entry_id), ("jibble", clock_out["id"])
        )
        self.assertTrue(
            any("replaces the automatic check-out" in body for body in self.messages(attendance))
        )

    # Absence detection

    def test_a_backfill_removes_odoo_absence_and_a_night_shift_does_not_collide(self):
        self.company.absence_management = True
        today = datetime.now(pytz.timezone(ZONE)).date()
        absent_day = next(
            today - timedelta(days=back)
            for back in (1, 2, 3)
            if (today - timedelta(days=back)).weekday() < 5
        )
        with self.patched_today(datetime.combine(absent_day + timedelta(days=1), time())):
            self.env["hr.attendance"]._cron_absence_detection()
        technical = self.env["hr.attendance"].search(
            [("employee_id", "=", self.employee.id), ("in_mode", "=", "technical")]
        )
        self.assertEqual(len(technical), 1, "Odoo found the employee absent that day")
        midnight = pytz.timezone(ZONE).localize(datetime.combine(absent_day, time()))
        night_in = (midnight - timedelta(hours=2)).astimezone(pytz.utc).replace(tzinfo=None)
        night_out = (midnight + timedelta(hours=6)).astimezone(pytz.utc).replace(tzinfo=None)
        self.simulator.add_time_entry(self.ada["id"], "In", night_in)
        self.simulator.add_time_entry(self.ada["id"], "Out", night_out)
        logs = self.pull()
        self.assertFalse(technical.exists(), "the absence is gone once Jibble shows work")
        self.assertEqual(self.total(logs, "failed"), 0, "the night shift collided with nothing")
        self.assertEqual(self.intervals(self.employee), [(night_in, night_out)])
        typed = self.env["hr.employee"].create({"name": "Typed", "tz": ZONE})
        self.env["hr.attendance"].create(
            {"employee_id": typed.id, "check_in": night_in, "check_out": night_out}
        )
        self.assertEqual(self.overtime(self.employee), self.overtime(typed))

    def overtime(self, employee):
        records = self.env["hr.attendance.overtime"].search([("employee_id", "=", employee.id)])
        return sorted((record.date, round(record.duration, 4)) for record in records)

    def patched_today(self, today):
        """Odoo's absence detection takes `datetime.today()`: run it for another day."""

        class FixedDatetime(datetime):
            @classmethod
            def today(cls):
                return today

        return patch("odoo.addons.hr_attendance.models.hr_attendance.datetime", FixedDatetime)

    # Kiosk and manual attendances

    def kiosk_overlap(self):
        kiosk = self.env["hr.attendance"].create(
            {
                "employee_id": self.employee.id,
                "check_in": self.naive(7),
                "check_out": self.naive(9),
                "in_mode": "kiosk",
                "out_mode": "kiosk",
            }
        )
        clock_in = self.simulator.add_time_entry(self.ada["id"], "In", self.at(8))
        self.simulator.add_time_entry(self.ada["id"], "Out", self.at(12))
        self.pull()
        entry = self.entry(clock_in["id"])
        self.assertEqual(entry.state, "conflict")
        return kiosk, entry

    def test_a_kiosk_overlap_resolved_by_keeping_jibble(self):
        kiosk, entry = self.kiosk_overlap()
        entry.with_user(self.manager()).action_keep_jibble()
        self.assertFalse(kiosk.exists())
        self.assertEqual(self.intervals(self.employee), [(self.naive(8), self.naive(12))])
        self.assertEqual(entry.state, "applied")

    def test_a_kiosk_overlap_resolved_by_keeping_odoo_stays_resolved(self):
        kiosk, entry = self.kiosk_overlap()
        entry.with_user(self.manager()).action_keep_odoo()
        self.assertEqual(self.attendances(self.employee), kiosk)
        self.assertTrue(entry.is_overridden)
        self.assertEqual(entry.state, "ignored")
        self.env["ir.config_parameter"].set_param("jibble_connector.sync_cursor", False)
        self.pull()
        self.assertEqual(self.attendances(self.employee), kiosk, "the next pull keeps Odoo's")

    def manager(self):
        return new_test_user(
            self.env, "jibble_feature_manager", groups="hr_attendance.group_hr_attendance_manager"
        )

    # Chatter

    def test_quiet_chatter_gives_jibble_attendances_no_odoo_lines(self):
        sim, person = self.simulator, self.ada["id"]
        sim.add_time_entry(person, "In", self.local(0, 8))
        self.pull()
        first = self.attendances(self.employee)
        self.assertEqual(len(first.message_ids), 1, "Odoo's creation line, by default")
        self.env["jibble.config"]._set_param("quiet_chatter", True)
        self.deliver("TimeEntry.Created", sim.add_time_entry(person, "Out", self.local(0, 17)))
        self.deliver("TimeEntry.Created", sim.add_time_entry(person, "In", self.local(1, 8)))
        first, second = self.attendances(self.employee)
        self.assertEqual(first.check_out, self.naive_local(0, 17))
        self.assertEqual(len(first.message_ids), 1, "no Check Out tracking line")
        self.assertFalse(second.message_ids, "no creation line")
        self.env["jibble.config"]._set_param("quiet_chatter", False)
        self.deliver("TimeEntry.Created", sim.add_time_entry(person, "Out", self.local(1, 17)))
        self.assertEqual(len(second.message_ids), 1, "the Check Out tracking line is back")

    # Overtime

    def test_overtime_from_jibble_equals_overtime_of_the_same_attendances_typed_by_hand(self):
        typed = self.env["hr.employee"].create({"name": "Typed", "tz": ZONE})
        intervals = []
        sim, person = self.simulator, self.ada["id"]
        for day in range(3):
            sim.add_time_entry(person, "In", self.local(day, 8))
            start = sim.start_break(person, self.local(day, 12))
            sim.end_break(person, self.local(day, 12.75), start["breakId"])
            sim.add_time_entry(person, "Out", self.local(day, 17.5))
            intervals += [
                (self.local(day, 8), self.local(day, 12)),
                (self.local(day, 12.75), self.local(day, 17.5)),
            ]
        sim.add_time_entry(person, "In", self.local(2, 21))
        sim.add_time_entry(person, "Out", self.local(2, 27.5))
        intervals.append((self.local(2, 21), self.local(2, 27.5)))
        self.pull()
        self.env["hr.attendance"].create(
            [
                {
                    "employee_id": typed.id,
                    "check_in": start.replace(tzinfo=None),
                    "check_out": end.replace(tzinfo=None),
                }
                for start, end in intervals
            ]
        )
        self.assertEqual(
            self.intervals(self.employee),
            [(start.replace(tzinfo=None), end.replace(tzinfo=None)) for start, end in intervals],
        )
        self.assertTrue(self.overtime(typed))
        self.assertEqual(self.overtime(self.employee), self.overtime(typed))
        self.assertAlmostEqual(
            sum(self.attendances(self.employee).mapped("overtime_hours")),
            sum(self.attendances(typed).mapped("overtime_hours")),
        )

    def test_a_jibble_change_recomputes_overtime_from_the_first_day_it_touches(self):
        """Odoo recomputes every attendance of the employee on each change; the connector's
        changes recompute from the first day they touch, older days keep their values."""
        sim, person = self.simulator, self.ada["id"]
        sim.add_time_entry(person, "In", self.local(0, 7))
        sim.add_time_entry(person, "Out", self.local(0, 19))
        sim.add_time_entry(person, "In", self.local(2, 7))
        clock_out = sim.add_time_entry(person, "Out", self.local(2, 19))
        self.pull()
        older, edited = self.attendances(self.employee)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE hr_attendance SET overtime_hours = 42, expected_hours = 42 WHERE id IN %s",
            [(older.id, edited.id)],
        )
        self.env.invalidate_all()
        later = self.local(2, 20).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        self.deliver("TimeEntry.Updated", dict(clock_out, time=later))
        self.env.flush_all()
        self.env.invalidate_all()
        self.assertEqual(edited.check_out, self.naive_local(2, 20))
        self.assertEqual((older.overtime_hours, edited.overtime_hours > 0), (42, True))
        self.assertEqual(older.expected_hours, 42)
        self.assertNotEqual(edited.overtime_hours, 42)
        self.assertAlmostEqual(edited.expected_hours, edited.worked_hours - edited.overtime_hours)
        # Odoo's own change recomputes the whole history, as it always does.
        self.env["hr.attendance"].create(
            {
                "employee_id": self.employee.id,
                "check_in": self.naive_local(3, 8),
                "check_out": self.naive_local(3, 9),
            }
        )
        self.env.flush_all()
        self.env.invalidate_all()
        self.assertNotEqual(older.overtime_hours, 42)
        self.assertNotEqual(older.expected_hours, 42)

    def test_overtime_of_touched_days_equals_odoos_own(self):
        """The connector's bounded overtime query gives Odoo's values: a day's overtime split
        over its attendances, a short day, a weekend, local days across two UTC dates."""
        auckland = pytz.timezone("Pacific/Auckland")
        calendar = self.env["resource.calendar"].create({"name": "Auckland", "tz": auckland.zone})
        employees = self.env["hr.employee"].create(
            [{"name": name, "resource_calendar_id": calendar.id} for name in ("Ana", "Ben")]
        )
        monday = datetime(2026, 11, 2)
        shifts = [(0, 2, 12), (0, 13, 14), (1, 9, 12), (2, 8, 12), (2, 13, 17), (5, 10, 14)]

        def utc(day, hours):
            local = auckland.localize(monday + timedelta(days=day, hours=hours))
            return local.astimezone(pytz.utc).replace(tzinfo=None)

        attendances = self.env["hr.attendance"].create(
            [
                {
                    "employee_id": employee.id,
                    "check_in": utc(day, start + shift),
                    "check_out": utc(day, end + shift),
                }
                for shift, employee in enumerate(employees)
                for day, start, end in shifts
            ]
        )
        self.env.flush_all()
        odoos = {attendance.id: attendance.overtime_hours for attendance in attendances}
        self.assertEqual(
            [bool(odoos[attendance.id]) for attendance in attendances[:6]],
            [True, True, True, False, False, True],
            "overtime split over a day, undertime, a normal day, a weekend",
        )
        self.assertNotEqual(attendances[0].check_in.date(), attendances[1].check_in.date())
        self.env.cr.execute("UPDATE hr_attendance SET overtime_hours = 0")
        self.env.invalidate_all()
        # Monday's overtime is taken from its afternoon first: the morning's depends on it.
        touched = attendances - attendances[1] - attendances[7]
        touched.with_context(**{TOUCHED_DAYS: True})._compute_overtime_hours()
        self.env.flush_all()
        self.env.invalidate_all()
        self.assertEqual(
            {attendance.id: attendance.overtime_hours for attendance in touched},
            {attendance.id: odoos[attendance.id] for attendance in touched},
        )

    def test_overtime_days_of_a_change_equal_odoos_own(self):
        """The connector's changes read only the stretch of the days they touch when Odoo
        works out those days' overtime: the same overtime as Odoo's reading of the whole
        history, for a day's attendances of which only the last changed, a shift ending
        after local midnight, and the night New Zealand's summer time begins."""
        auckland = pytz.timezone("Pacific/Auckland")
        calendar = self.env["resource.calendar"].create({"name": "Auckland", "tz": auckland.zone})
        employees = self.env["hr.employee"].create(
            [{"name": name, "resource_calendar_id": calendar.id} for name in ("Cleo", "Dan")]
        )

        def utc(day, hours):
            local = auckland.localize(datetime(2026, 9, 21) + timedelta(days=day, hours=hours))
            return local.astimezone(pytz.utc).replace(tzinfo=None)

        # Monday 21 September; summer time begins on Sunday 27th at 2:00 (a shift across that
        # hour fails in Odoo 18 itself); the first shift is old history.
        shifts = [(-40, 8, 18), (0, 7, 12), (0, 13, 19), (1, 20, 25), (2, 9, 12), (6, 4, 7)]
        attendances = self.env["hr.attendance"].create(
            [
                {
                    "employee_id": employee.id,
                    "check_in": utc(day, start),
                    "check_out": utc(day, end),
                }
                for employee in employees
                for day, start, end in shifts
            ]
        )
        Overtime = self.env["hr.attendance.overtime"]

        def overtimes():
            self.env.flush_all()
            return sorted(
                (o.employee_id.id, o.date, round(o.duration, 4), round(o.duration_real, 4))
                for o in Overtime.search([("employee_id", "in", employees.ids)])
            )

        odoos = overtimes()
        self.assertEqual(len(odoos), 10, "each day of each employee has its overtime")
        Overtime.search([("employee_id", "in", employees.ids)]).unlink()
        changed = attendances.filtered(
            lambda a: a.check_in > utc(-1, 0) and a.check_in != utc(0, 7)
        )
        self.env.invalidate_all()
        changed.with_context(**{TOUCHED_DAYS: True})._update_overtime()
        self.assertEqual(
            overtimes(), [row for row in odoos if row[1] != datetime(2026, 8, 12).date()]
        )
