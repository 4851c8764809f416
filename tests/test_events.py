"""Reading a webhook body (jibble/events.py): what is refused, and why."""

import json
from datetime import datetime

from odoo.tests import BaseCase, tagged

from ..jibble.events import EventRefused, parse_event

ENTRY = {"id": "entry-1", "personId": "person-1", "type": "In", "time": "2025-03-01T08:00:00Z"}


def body(**event):
    values = {
        "id": "event-1",
        "type": "TimeEntry.Created",
        "occurredAt": "2025-03-01T08:00:01.250Z",
        "data": ENTRY,
        **event,
    }
    return json.dumps({key: value for key, value in values.items() if value is not ...}).encode()


@tagged("post_install", "-at_install")
class TestEvents(BaseCase):
    def assertRefused(self, raw_body, reason):
        with self.assertRaises(EventRefused) as caught:
            parse_event(raw_body)
        self.assertEqual(caught.exception.status, 400)
        self.assertIn(reason, caught.exception.reason)
        self.assertEqual(str(caught.exception), caught.exception.reason)

    def test_a_created_event_is_read(self):
        event = parse_event(body())
        self.assertEqual((event.event_id, event.event_type), ("event-1", "TimeEntry.Created"))
        self.assertEqual(event.data, ENTRY)
        self.assertEqual(event.occurred_at, datetime(2025, 3, 1, 8, 0, 1, 250000))

    def test_refusals_say_why_with_status_400(self):
        cases = [
            (b"not json", "not JSON"),
            (b"", "not JSON"),
            (b"\xff\xfe{", "not JSON"),
            (b"[1, 2]", "not a JSON object"),
            (b'"text"', "not a JSON object"),
            (b"null", "not a JSON object"),
            (b'{"id": "event-1", "type": "Ping", "n": ' + b"1" * 5000 + b"}", "not JSON"),
            (body(id=...), "no usable 'id'"),
            (body(id=""), "no usable 'id'"),
            (body(id="   "), "no usable 'id'"),
            (body(id=42), "no usable 'id'"),
            (body(id="x" * 201), "no usable 'id'"),
            (body(type=...), "no usable 'type'"),
            (body(type=None), "no usable 'type'"),
            (body(data=...), "no time entry with an 'id'"),
            (body(data=[ENTRY]), "no time entry with an 'id'"),
            (body(data={"personId": "person-1"}), "no time entry with an 'id'"),
            (body(type="TimeEntry.Deleted", data={}), "no time entry with an 'id'"),
            (body(data={"id": "entry-1"}), "no usable 'personId'"),
            (body(type="TimeEntry.Updated", data={"id": "entry-1"}), "no usable 'personId'"),
            (body(data={"id": "entry-1", "personId": ""}), "no usable 'personId'"),
        ]
        for raw_body, reason in cases:
            with self.subTest(body=raw_body[:80], reason=reason):
                self.assertRefused(raw_body, reason)

    def test_a_deletion_with_only_an_entry_id_is_accepted(self):
        event = parse_event(body(type="TimeEntry.Deleted", data={"id": "entry-1"}))
        self.assertEqual(event.event_type, "TimeEntry.Deleted")
        self.assertEqual(event.data, {"id": "entry-1"})

    def test_occurred_at_is_naive_utc_with_microseconds(self):
        cases = {
            "2025-03-01T08:00:01.123456Z": datetime(2025, 3, 1, 8, 0, 1, 123456),
            "2025-03-01T09:00:01.1234567+01:00": datetime(2025, 3, 1, 8, 0, 1, 123456),
            "2025-03-01T03:00:01-05:00": datetime(2025, 3, 1, 8, 0, 1),
            "2025-03-01T08:00:01": datetime(2025, 3, 1, 8, 0, 1),
        }
        for text, expected in cases.items():
            with self.subTest(occurred_at=text):
                occurred_at = parse_event(body(occurredAt=text)).occurred_at
                self.assertEqual(occurred_at, expected)
                self.assertIsNone(occurred_at.tzinfo)

    def test_missing_or_unreadable_occurred_at_is_none_not_a_refusal(self):
        for value in (..., None, "soon", 1740816001, "9999-12-31T23:59:59-01:00"):
            with self.subTest(occurred_at=value):
                self.assertIsNone(parse_event(body(occurredAt=value)).occurred_at)

    def test_unknown_event_types_are_parsed_for_the_controller_to_decide(self):
        event = parse_event(body(type="Person.Updated", data={"fullName": "Ada"}))
        self.assertEqual(event.event_type, "Person.Updated")
        self.assertEqual(event.data, {"fullName": "Ada"})
        event = parse_event(body(type="TimeEntry.Exploded", data="not an object"))
        self.assertEqual(event.event_type, "TimeEntry.Exploded")
        self.assertIsNone(event.data)
        self.assertIsNone(parse_event(body(type="Ping", data=...)).data)

    def test_deeply_nested_bodies_are_refused_not_crashing(self):
        depth = 200_000
        for raw_body in (
            b"[" * depth + b"]" * depth,
            b'{"id": "event-1", "type": "Ping", "data": ' + b"[" * depth + b"]" * depth + b"}",
            b'{"a": ' * depth + b"1" + b"}" * depth,
        ):
            with self.subTest(starts=raw_body[:40]):
                self.assertRefused(raw_body, "not JSON")

    def test_text_and_bytes_bodies_read_alike(self):
        self.assertEqual(parse_event(body()), parse_event(body().decode()))
