from datetime import datetime

from odoo.tests import BaseCase, tagged

from ..jibble.pairing import Entry, pair_entries


def entry(entry_id, entry_type, hour, minute=0, day=3):
    return Entry(entry_id, entry_type, datetime(2025, 3, day, hour, minute))


@tagged("post_install", "-at_install")
class TestPairing(BaseCase):
    def test_in_then_out_is_one_closed_interval(self):
        pairing = pair_entries([entry("out", "Out", 17), entry("in", "In", 8)])
        self.assertEqual(len(pairing.intervals), 1)
        interval = pairing.intervals[0]
        self.assertEqual((interval.start.entry_id, interval.end.entry_id), ("in", "out"))
        self.assertEqual(interval.check_out, datetime(2025, 3, 3, 17))
        self.assertFalse(pairing.unpaired_clock_outs)

    def test_in_without_out_stays_open(self):
        pairing = pair_entries([entry("in", "In", 8)])
        self.assertIsNone(pairing.intervals[0].end)
        self.assertIsNone(pairing.intervals[0].check_out)

    def test_lunch_break_makes_two_intervals(self):
        pairing = pair_entries(
            [
                entry("a", "In", 8),
                entry("b", "Out", 12),
                entry("c", "In", 13),
                entry("d", "Out", 17),
            ]
        )
        self.assertEqual(
            [(i.start.entry_id, i.end.entry_id) for i in pairing.intervals],
            [("a", "b"), ("c", "d")],
        )

    def test_second_in_switches_activity_by_closing_the_first(self):
        pairing = pair_entries([entry("a", "In", 8), entry("b", "In", 10), entry("c", "Out", 12)])
        self.assertEqual(
            [(i.start.entry_id, i.end.entry_id) for i in pairing.intervals],
            [("a", "b"), ("b", "c")],
        )

    def test_out_before_in_is_left_unpaired(self):
        pairing = pair_entries([entry("out", "Out", 7), entry("in", "In", 8)])
        self.assertEqual([e.entry_id for e in pairing.unpaired_clock_outs], ["out"])
        self.assertEqual(pairing.intervals[0].start.entry_id, "in")

    def test_out_and_in_at_the_same_instant_close_then_open(self):
        pairing = pair_entries([entry("a", "In", 8), entry("c", "In", 12), entry("b", "Out", 12)])
        self.assertEqual(
            [(i.start.entry_id, i.end and i.end.entry_id) for i in pairing.intervals],
            [("a", "b"), ("c", None)],
        )

    def test_unknown_types_are_ignored_not_paired(self):
        pairing = pair_entries([entry("a", "In", 8), entry("x", "Break", 9), entry("b", "Out", 10)])
        self.assertEqual([e.entry_id for e in pairing.ignored], ["x"])
        self.assertEqual(len(pairing.intervals), 1)
