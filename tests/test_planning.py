"""Planning one person's attendances from their Jibble entries (jibble/planning.py)."""

from datetime import datetime

from odoo.tests import BaseCase, tagged

from ..jibble.planning import (
    APPLIED,
    CONFLICT,
    IGNORED,
    PENDING,
    Attendance,
    PlanEntry,
    pair_entries,
    plan_person,
)


def at(hour, minute=0, day=3):
    return datetime(2025, 3, day, hour, minute)


def entry(entry_id, entry_type, hour, minute=0, **extra):
    return PlanEntry(entry_id, entry_type, at(hour, minute), **extra)


def spans(intervals):
    """Intervals as (start id, end id or None)."""
    return [(i.start.entry_id, i.end.entry_id if i.end else None) for i in intervals]


def times(intervals):
    return [(i.start.time, i.end.time if i.end else None) for i in intervals]


def break_day():
    """In 08:00, StartBreak 12:00, In 12:30 ending that break, Out 17:00."""
    return [
        entry("out", "Out", 17),
        entry("break-end", "In", 12, 30, break_id="b1"),
        entry("break-start", "StartBreak", 12, break_id="b1"),
        entry("in", "In", 8),
    ]


@tagged("post_install", "-at_install")
class TestPlanning(BaseCase):
    def test_in_then_out_is_one_closed_interval_with_both_entries_applied(self):
        intervals, states = pair_entries([entry("out", "Out", 17), entry("in", "In", 8)])
        self.assertEqual(spans(intervals), [("in", "out")])
        self.assertEqual(times(intervals), [(at(8), at(17))])
        for entry_id in ("in", "out"):
            self.assertEqual(states[entry_id].state, APPLIED)
            self.assertIs(states[entry_id].interval, intervals[0])

    def test_in_without_out_is_an_open_interval(self):
        intervals, states = pair_entries([entry("in", "In", 8)])
        self.assertEqual(spans(intervals), [("in", None)])
        self.assertEqual(states["in"].state, APPLIED)
        self.assertFalse(intervals[0].closed_by_jibble)

    def test_second_in_switches_activity_by_closing_the_first_interval(self):
        intervals, states = pair_entries(
            [
                entry("a", "In", 8),
                entry("b", "In", 10),
                entry("c", "Out", 12),
            ]
        )
        self.assertEqual(spans(intervals), [("a", "b"), ("b", "c")])
        self.assertEqual(times(intervals), [(at(8), at(10)), (at(10), at(12))])
        self.assertEqual({state.state for state in states.values()}, {APPLIED})

    def test_start_break_ends_the_interval_and_break_in_opens_the_next(self):
        intervals, states = pair_entries(break_day())
        self.assertEqual(spans(intervals), [("in", "break-start"), ("break-end", "out")])
        self.assertEqual(times(intervals), [(at(8), at(12)), (at(12, 30), at(17))])
        morning, afternoon = intervals
        for entry_id, interval in (
            ("in", morning),
            ("break-start", morning),
            ("break-end", afternoon),
            ("out", afternoon),
        ):
            self.assertEqual(states[entry_id].state, APPLIED, entry_id)
            self.assertIs(states[entry_id].interval, interval, entry_id)

    def test_paid_break_keeps_one_interval_with_all_four_entries_applied_to_it(self):
        intervals, states = pair_entries(break_day(), paid_breaks=True)
        self.assertEqual(spans(intervals), [("in", "out")])
        self.assertEqual(times(intervals), [(at(8), at(17))])
        for entry_id in ("in", "break-start", "break-end", "out"):
            self.assertEqual(states[entry_id].state, APPLIED, entry_id)
            self.assertIs(states[entry_id].interval, intervals[0], entry_id)

    def test_out_with_nothing_open_is_a_conflict(self):
        intervals, states = pair_entries([entry("out", "Out", 7), entry("in", "In", 8)])
        self.assertEqual(spans(intervals), [("in", None)])
        self.assertEqual(states["out"].state, CONFLICT)
        self.assertIn("Clock-out without a clock-in", states["out"].message)
        self.assertIsNone(states["out"].interval)

    def test_out_after_a_closed_interval_is_a_conflict(self):
        intervals, states = pair_entries(
            [entry("in", "In", 8), entry("out", "Out", 12), entry("again", "Out", 13)]
        )
        self.assertEqual(spans(intervals), [("in", "out")])
        self.assertEqual(states["again"].state, CONFLICT)
        self.assertEqual(states["out"].state, APPLIED)

    def test_start_break_with_nothing_open_is_a_conflict(self):
        intervals, states = pair_entries(
            [entry("break", "StartBreak", 9, break_id="b1"), entry("in", "In", 10)]
        )
        self.assertEqual(spans(intervals), [("in", None)])
        self.assertEqual(states["break"].state, CONFLICT)
        self.assertIn("Break started without a clock-in", states["break"].message)

    def test_start_break_with_nothing_open_is_a_conflict_with_paid_breaks_too(self):
        intervals, states = pair_entries(
            [entry("break", "StartBreak", 9, break_id="b1")], paid_breaks=True
        )
        self.assertEqual(intervals, [])
        self.assertEqual(states["break"].state, CONFLICT)

    def test_out_during_a_break_is_applied_without_an_interval(self):
        intervals, states = pair_entries(
            [
                entry("in", "In", 8),
                entry("break", "StartBreak", 12, break_id="b1"),
                entry("out", "Out", 13),
            ]
        )
        self.assertEqual(spans(intervals), [("in", "break")])
        self.assertEqual(states["out"].state, APPLIED)
        self.assertIsNone(states["out"].interval)
        self.assertIn("during a break", states["out"].message)

    def test_out_during_a_paid_break_closes_the_interval(self):
        intervals, states = pair_entries(
            [
                entry("in", "In", 8),
                entry("break", "StartBreak", 12, break_id="b1"),
                entry("out", "Out", 13),
            ],
            paid_breaks=True,
        )
        self.assertEqual(spans(intervals), [("in", "out")])
        self.assertIs(states["break"].interval, intervals[0])

    def test_clock_in_after_out_during_a_break_opens_a_new_interval(self):
        intervals, _states = pair_entries(
            [
                entry("in", "In", 8),
                entry("break", "StartBreak", 12, break_id="b1"),
                entry("out", "Out", 13),
                entry("next", "In", 14),
            ]
        )
        self.assertEqual(spans(intervals), [("in", "break"), ("next", None)])

    def test_unknown_type_is_ignored_with_its_type_and_never_counted(self):
        intervals, states = pair_entries(
            [entry("in", "In", 8), entry("pause", "Pause", 10), entry("out", "Out", 12)]
        )
        self.assertEqual(spans(intervals), [("in", "out")])
        self.assertEqual(states["pause"].state, IGNORED)
        self.assertIn("Pause", states["pause"].message)
        self.assertIsNone(states["pause"].interval)

    def test_unknown_type_alone_opens_and_closes_nothing(self):
        intervals, states = pair_entries([entry("pause", "Pause", 10)])
        self.assertEqual(intervals, [])
        self.assertEqual(states["pause"].state, IGNORED)
        intervals, states = pair_entries([entry("in", "In", 8), entry("pause", "Pause", 10)])
        self.assertEqual(spans(intervals), [("in", None)])
        self.assertEqual(states["pause"].state, IGNORED)

    def test_inactive_entries_are_ignored(self):
        intervals, states = pair_entries(
            [
                entry("in", "In", 8),
                entry("archived-out", "Out", 12, active=False),
                entry("archived-in", "In", 13, active=False),
                entry("out", "Out", 17),
            ]
        )
        self.assertEqual(spans(intervals), [("in", "out")])
        for entry_id in ("archived-out", "archived-in"):
            self.assertEqual(states[entry_id].state, IGNORED, entry_id)
            self.assertIsNone(states[entry_id].interval, entry_id)

    def test_auto_out_sets_closed_by_jibble(self):
        intervals, _states = pair_entries(
            [
                entry("in", "In", 8),
                entry("auto", "Out", 23, 59, client_type="AutoOut"),
                PlanEntry("in2", "In", at(8, day=4)),
                PlanEntry("out2", "Out", at(17, day=4), client_type="Web"),
            ]
        )
        self.assertEqual(spans(intervals), [("in", "auto"), ("in2", "out2")])
        self.assertTrue(intervals[0].closed_by_jibble)
        self.assertFalse(intervals[1].closed_by_jibble)

    def test_auto_out_client_type_on_a_break_start_is_not_closed_by_jibble(self):
        intervals, _states = pair_entries(
            [entry("in", "In", 8), entry("break", "StartBreak", 12, client_type="AutoOut")]
        )
        self.assertFalse(intervals[0].closed_by_jibble)

    def test_out_and_in_at_the_same_instant_close_then_open(self):
        intervals, states = pair_entries(
            [entry("a", "In", 8), entry("c", "In", 12), entry("b", "Out", 12)]
        )
        self.assertEqual(spans(intervals), [("a", "b"), ("c", None)])
        self.assertEqual({state.state for state in states.values()}, {APPLIED})

    def test_start_break_and_in_at_the_same_instant_close_then_open(self):
        intervals, _states = pair_entries(
            [entry("a", "In", 8), entry("c", "In", 12), entry("b", "StartBreak", 12)]
        )
        self.assertEqual(spans(intervals), [("a", "b"), ("c", None)])

    def test_plan_creates_updates_and_unlinks_by_in_entry(self):
        entries = [
            entry("a", "In", 8),
            entry("b", "Out", 12),
            entry("c", "In", 13),
            entry("d", "Out", 17),
            entry("gone", "In", 18, active=False),
        ]
        plan = plan_person(entries, [Attendance(1, "a"), Attendance(2, "gone")])
        self.assertEqual(spans(plan.create), [("c", "d")])
        self.assertEqual(
            [(aid, i.start.entry_id, i.end.entry_id) for aid, i in plan.update], [(1, "a", "b")]
        )
        self.assertEqual(plan.unlink, [2])
        self.assertEqual(plan.states["gone"].state, IGNORED)
        self.assertEqual(plan.states["d"].state, APPLIED)

    def test_plan_unlinks_the_attendance_of_an_archived_clock_in(self):
        entries = [entry("a", "In", 8), entry("b", "Out", 12), entry("c", "In", 12)]
        plan = plan_person(entries, [Attendance(1, "a"), Attendance(2, "c")])
        self.assertEqual([(aid, i.start.entry_id) for aid, i in plan.update], [(1, "a"), (2, "c")])
        self.assertEqual((plan.create, plan.unlink), ([], []))
        # The clock-in at 12:00 is archived: its attendance goes, nothing else changes.
        entries[2] = entry("c", "In", 12, active=False)
        plan = plan_person(entries, [Attendance(1, "a"), Attendance(2, "c")])
        self.assertEqual([aid for aid, _interval in plan.update], [1])
        self.assertEqual((plan.create, plan.unlink), ([], [2]))

    def test_plan_unlinks_the_break_end_attendance_when_breaks_become_paid(self):
        plan = plan_person(break_day(), [Attendance(1, "in"), Attendance(2, "break-end")], True)
        self.assertEqual(
            [(aid, i.start.entry_id, i.end.entry_id) for aid, i in plan.update], [(1, "in", "out")]
        )
        self.assertEqual((plan.create, plan.unlink), ([], [2]))

    def test_plan_of_nothing_existing_creates_every_interval(self):
        plan = plan_person(break_day(), [])
        self.assertEqual(spans(plan.create), [("in", "break-start"), ("break-end", "out")])
        self.assertEqual((plan.update, plan.unlink), ([], []))

    def test_held_open_interval_is_not_created_and_its_entries_stay_pending(self):
        entries = [entry("a", "In", 8), entry("b", "Out", 12), entry("c", "In", 13)]
        plan = plan_person(entries, [], hold_open=True)
        self.assertEqual(spans(plan.create), [("a", "b")])
        self.assertEqual(
            [plan.states[entry_id].state for entry_id in "abc"], [APPLIED, APPLIED, PENDING]
        )
        self.assertIsNone(plan.states["c"].interval)
        self.assertEqual(spans(plan_person(entries, []).create), [("a", "b"), ("c", None)])

    def test_held_open_interval_holds_its_paid_break_too(self):
        day = [e for e in break_day() if e.entry_id != "out"]
        plan = plan_person(day, [], paid_breaks=True, hold_open=True)
        self.assertEqual(plan.create, [])
        self.assertEqual({state.state for state in plan.states.values()}, {PENDING})

    def test_held_open_keeps_an_existing_open_attendance(self):
        plan = plan_person([entry("a", "In", 8)], [Attendance(1, "a")], hold_open=True)
        self.assertEqual([(aid, i.start.entry_id) for aid, i in plan.update], [(1, "a")])
        self.assertEqual((plan.create, plan.unlink), ([], []))
        self.assertEqual(plan.states["a"].state, APPLIED)

    def test_edited_break_replans_both_intervals(self):
        existing = [Attendance(1, "in"), Attendance(2, "break-end")]
        before = plan_person(break_day(), existing)
        self.assertEqual(
            [(aid, i.start.time, i.end.time) for aid, i in before.update],
            [(1, at(8), at(12)), (2, at(12, 30), at(17))],
        )
        edited = [
            entry("in", "In", 8),
            entry("break-start", "StartBreak", 11, 45, break_id="b1"),
            entry("break-end", "In", 13, break_id="b1"),
            entry("out", "Out", 17),
        ]
        after = plan_person(edited, existing)
        self.assertEqual(
            [(aid, i.start.time, i.end.time) for aid, i in after.update],
            [(1, at(8), at(11, 45)), (2, at(13), at(17))],
        )
        self.assertEqual((after.create, after.unlink), ([], []))

    def test_archived_break_start_makes_the_break_end_a_switch(self):
        edited = break_day()
        edited[2] = entry("break-start", "StartBreak", 12, break_id="b1", active=False)
        plan = plan_person(edited, [Attendance(1, "in"), Attendance(2, "break-end")])
        self.assertEqual(
            [(aid, i.start.time, i.end.time) for aid, i in plan.update],
            [(1, at(8), at(12, 30)), (2, at(12, 30), at(17))],
        )
        self.assertEqual(plan.states["break-start"].state, IGNORED)
