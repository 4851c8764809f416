"""Reading one raw Jibble TimeEntry (jibble/entries.py)."""

from datetime import date, datetime

from odoo.tests import BaseCase, tagged

from ..jibble.entries import (
    FROM_EVENT,
    FROM_PULL,
    EntryError,
    News,
    parse_entry,
    parse_instant,
    parse_offset,
)


def raw(**extra):
    """A Jibble TimeEntry as the API and the webhook carry it."""
    return {
        "id": "e1",
        "personId": "p1",
        "type": "In",
        "time": "2025-03-01T08:02:11.512Z",
        "status": "Active",
        "activityId": None,
        "projectId": None,
        "locationId": None,
        **extra,
    }


@tagged("post_install", "-at_install")
class TestEntries(BaseCase):
    def test_time_with_z_is_utc_and_the_stored_time_drops_the_fraction(self):
        self.assertEqual(
            parse_instant("2025-03-01T08:02:11.512Z"), datetime(2025, 3, 1, 8, 2, 11, 512000)
        )
        parsed = parse_entry(raw())
        self.assertEqual(parsed.time, datetime(2025, 3, 1, 8, 2, 11))
        self.assertIsNone(parsed.time.tzinfo)
        self.assertIsNone(parsed.problem)

    def test_time_with_an_offset_is_converted_to_utc(self):
        self.assertEqual(parse_instant("2025-03-01T10:02:11+02:00"), datetime(2025, 3, 1, 8, 2, 11))
        self.assertEqual(parse_instant("2025-03-01T03:32:11-0430"), datetime(2025, 3, 1, 8, 2, 11))
        self.assertEqual(
            parse_entry(raw(time="2025-03-01T00:30:00+05:30")).time, datetime(2025, 2, 28, 19)
        )

    def test_time_with_a_seven_digit_fraction_keeps_microseconds(self):
        self.assertEqual(
            parse_instant("2025-03-01T08:02:11.1234567Z"), datetime(2025, 3, 1, 8, 2, 11, 123456)
        )
        self.assertEqual(
            parse_entry(raw(time="2025-03-01T08:02:11.9999999Z")).time,
            datetime(2025, 3, 1, 8, 2, 11),
        )

    def test_time_without_seconds_is_read(self):
        self.assertEqual(parse_instant("2025-03-01T08:02Z"), datetime(2025, 3, 1, 8, 2))
        self.assertEqual(parse_instant("2025-03-01T08:02"), datetime(2025, 3, 1, 8, 2))

    def test_local_time_with_and_without_offset_is_accepted(self):
        for local_time in ("2025-03-01T15:02:11.512+07:00", "2025-03-01T15:02:11.512"):
            with self.subTest(local_time=local_time):
                parsed = parse_entry(raw(localTime=local_time, offset="PT7H"))
                self.assertIsNone(parsed.problem)
                self.assertEqual(parsed.local_time, local_time)
                self.assertEqual(parsed.offset_minutes, 420)
                self.assertEqual(parsed.time, datetime(2025, 3, 1, 8, 2, 11))

    def test_offsets_in_minutes(self):
        cases = {
            "PT5H30M": 330,
            "-PT5H": -300,
            "PT0S": 0,
            "+05:30": 330,
            "-03:00": -180,
            "+0545": 345,
            "PT14H": 840,
            "-PT9H30M": -570,
        }
        for text, minutes in cases.items():
            with self.subTest(offset=text):
                self.assertEqual(parse_offset(text), minutes)
        self.assertEqual(parse_entry(raw(offset="-PT5H")).offset_minutes, -300)

    def test_offsets_that_are_not_utc_offsets_are_refused(self):
        for text in (
            "",
            "P",
            "PT",
            "5 hours",
            "PT19H",
            "-P1D",
            "+19:00",
            "+99:99",
            "+05:75",
            330,
            None,
        ):
            with self.subTest(offset=text), self.assertRaises(ValueError):
                parse_offset(text)

    def test_unreadable_values_hold_the_entry_naming_the_field(self):
        cases = [
            ("time", "yesterday at eight"),
            ("time", "2025-02-30T08:00:00Z"),
            ("time", 1740816131),
            ("belongsToDate", "2025-13-01"),
            ("belongsToDate", 20250301),
            ("offset", "five hours"),
            ("localTime", "at lunch"),
            ("coordinates", {"latitude": "north", "longitude": 4.4}),
            ("coordinates", {"latitude": 95.0, "longitude": 4.4}),
            ("coordinates", {"lat": 50.8}),
            ("coordinates", "50.8,4.4"),
        ]
        for key, value in cases:
            with self.subTest(key=key, value=value):
                parsed = parse_entry(raw(**{key: value}))
                self.assertIn(f"its {key} ", parsed.problem)
                self.assertEqual(parsed.entry_id, "e1")
                self.assertEqual(parsed.person_id, "p1")
                self.assertEqual(parsed.entry_type, "In")

    def test_an_unreadable_time_leaves_time_empty_and_the_rest_read(self):
        parsed = parse_entry(
            raw(time="not a time", belongsToDate="2025-03-01", offset="PT1H", note="late")
        )
        self.assertIsNone(parsed.time)
        self.assertIn("its time 'not a time' cannot be read", parsed.problem)
        self.assertEqual(parsed.belongs_to_date, date(2025, 3, 1))
        self.assertEqual(parsed.offset_minutes, 60)
        self.assertEqual(parsed.note, "late")

    def test_every_problem_is_reported_together(self):
        parsed = parse_entry(raw(time="x", belongsToDate="y", offset="z"))
        for key in ("time", "belongsToDate", "offset"):
            self.assertIn(f"its {key} ", parsed.problem)

    def test_missing_time_or_type_is_a_problem(self):
        entry = raw()
        del entry["time"], entry["type"]
        parsed = parse_entry(entry)
        self.assertIsNone(parsed.time)
        self.assertIn("no time", parsed.problem)
        self.assertIn("no type", parsed.problem)

    def test_coordinates_are_read(self):
        parsed = parse_entry(raw(coordinates={"latitude": 50.85, "longitude": -4.35}))
        self.assertEqual((parsed.latitude, parsed.longitude), (50.85, -4.35))
        self.assertIsNone(parsed.problem)
        parsed = parse_entry(raw(coordinates=None))
        self.assertEqual((parsed.latitude, parsed.longitude), (None, None))

    def test_missing_id_or_person_raises_entry_error(self):
        for entry in (
            {k: v for k, v in raw().items() if k != "id"},
            {k: v for k, v in raw().items() if k != "personId"},
            raw(id=""),
            raw(personId=None),
            raw(id=42),
            ["not", "an", "object"],
        ):
            with self.subTest(entry=entry), self.assertRaises(EntryError):
                parse_entry(entry)

    def test_archived_status_is_inactive(self):
        self.assertFalse(parse_entry(raw(status="Archived")).active)
        self.assertTrue(parse_entry(raw(status="Active")).active)
        self.assertTrue(parse_entry({k: v for k, v in raw().items() if k != "status"}).active)

    def test_break_and_provenance_fields_are_kept(self):
        parsed = parse_entry(
            raw(breakId="b1", clientType="AutoOut", kioskId="k1", belongsToDate="2025-02-28")
        )
        self.assertEqual(
            (parsed.break_id, parsed.client_type, parsed.kiosk_id, parsed.belongs_to_date),
            ("b1", "AutoOut", "k1", date(2025, 2, 28)),
        )

    def test_news_key_orders_by_instant_then_an_event_after_a_pull(self):
        morning, noon = datetime(2025, 3, 1, 8), datetime(2025, 3, 1, 12)
        keys = [
            News(noon, FROM_EVENT).key(),
            News(noon.replace(microsecond=1), FROM_PULL).key(),
            News(noon, FROM_PULL).key(),
            News(morning, FROM_EVENT).key(),
            News(datetime(999, 1, 1), FROM_EVENT).key(),
            News(datetime(2025, 3, 1, 11, 59, 59, 999999), FROM_PULL).key(),
        ]
        self.assertEqual(
            sorted(keys),
            [
                News(datetime(999, 1, 1), FROM_EVENT).key(),
                News(morning, FROM_EVENT).key(),
                News(datetime(2025, 3, 1, 11, 59, 59, 999999), FROM_PULL).key(),
                News(noon, FROM_PULL).key(),
                News(noon, FROM_EVENT).key(),
                News(noon.replace(microsecond=1), FROM_PULL).key(),
            ],
        )
        self.assertLess(News(noon).key(), News(noon, FROM_EVENT).key())

    def test_extreme_years_and_offsets_never_raise_overflow(self):
        for text in (
            "9999-12-31T23:59:59-01:00",
            "0001-01-01T00:00:00+05:00",
            "99999-01-01T00:00:00Z",
            "2025-03-01T99:00:00Z",
        ):
            with self.subTest(instant=text), self.assertRaises(ValueError):
                parse_instant(text)
        for text in (
            "P" + "9" * 400 + "D",
            "PT" + "9" * 400 + "H",
            "PT" + "9" * 400 + "M",
            "PT" + "9" * 400 + "S",
            "P" + "9" * 5000 + "D",
            "P99999999999D",
        ):
            with self.subTest(offset=text[:12]), self.assertRaises(ValueError):
                parse_offset(text)
        parsed = parse_entry(
            raw(
                time="9999-12-31T23:59:59-01:00",
                localTime="0001-01-01T00:00:00+05:00",
                offset="P" + "9" * 400 + "D",
                belongsToDate="99999-12-31",
            )
        )
        self.assertIsNone(parsed.time)
        self.assertIsNone(parsed.offset_minutes)
        for key in ("time", "localTime", "offset", "belongsToDate"):
            self.assertIn(f"its {key} ", parsed.problem)
