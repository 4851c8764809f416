"""Property-based tests: random and mutated input never gets past the boundaries."""

import hashlib
import hmac
import json
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from odoo.tests import BaseCase, tagged

from ..jibble.entries import EntryError, parse_entry, parse_instant
from ..jibble.events import Event, EventRefused, parse_event
from ..jibble.signature import SignatureError, verify_signature

SECRET = "property-secret"
NOW = 1_750_000_000
EXAMPLES = 300

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
event_like = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values | st.text(min_size=1),
        "type": st.sampled_from(["TimeEntry.Created", "TimeEntry.Updated", "TimeEntry.Deleted"])
        | json_values,
        "data": st.fixed_dictionaries(
            {},
            optional={
                "id": json_values | st.text(min_size=1),
                "personId": json_values | st.text(min_size=1),
                "type": st.sampled_from(["In", "Out", "Break"]) | json_values,
                "time": st.datetimes().map(lambda d: d.isoformat() + "Z") | json_values,
                "status": st.sampled_from(["Active", "Archived"]) | json_values,
            },
        )
        | json_values,
    },
)


def sign(body, timestamp):
    content = f"{timestamp}.".encode() + body if timestamp is not None else body
    return "sha256=" + hmac.new(SECRET.encode(), content, hashlib.sha256).hexdigest()


@tagged("post_install", "-at_install")
class TestSignatureProperties(BaseCase):
    @settings(max_examples=EXAMPLES, deadline=None)
    @given(body=st.binary(max_size=2048), timestamp=st.none() | st.integers(NOW - 299, NOW + 299))
    def test_a_correct_signature_is_always_accepted(self, body, timestamp):
        stamp = None if timestamp is None else str(timestamp)
        verify_signature(SECRET, body, sign(body, stamp), stamp, NOW, 300)

    @settings(max_examples=EXAMPLES, deadline=None)
    @given(
        body=st.binary(max_size=512),
        signature=st.none() | st.text(max_size=80),
        timestamp=st.none() | st.text(max_size=30) | st.integers().map(str),
    )
    def test_anything_else_is_refused_with_a_reason_and_never_crashes(
        self, body, signature, timestamp
    ):
        try:
            verify_signature(SECRET, body, signature, timestamp, NOW, 300)
        except SignatureError as error:
            self.assertTrue(str(error))
        else:
            self.assertEqual(
                signature.strip().lower().removeprefix("sha256="),
                sign(body, timestamp and timestamp.strip())[7:],
            )

    @settings(max_examples=EXAMPLES, deadline=None)
    @given(body=st.binary(min_size=1, max_size=256), flip=st.integers(0, 255))
    def test_a_mutated_body_is_refused(self, body, flip):
        signature = sign(body, None)
        mutated = bytes([body[0] ^ (flip or 1)]) + body[1:]
        with self.assertRaises(SignatureError):
            verify_signature(SECRET, mutated, signature, None, NOW, 300)


@tagged("post_install", "-at_install")
class TestEventParserProperties(BaseCase):
    @settings(max_examples=EXAMPLES, deadline=None)
    @given(body=st.binary(max_size=1024) | json_values.map(lambda v: json.dumps(v).encode()))
    def test_random_bodies_are_refused_with_400_or_parsed(self, body):
        try:
            event = parse_event(body)
        except EventRefused as refusal:
            self.assertEqual(refusal.status, 400)
        else:
            self.assertIsInstance(event, Event)

    @settings(max_examples=EXAMPLES, deadline=None)
    @given(event=event_like)
    def test_parsed_entry_events_have_what_storing_needs(self, event):
        try:
            parsed = parse_event(json.dumps(event).encode())
        except EventRefused as refusal:
            self.assertEqual(refusal.status, 400)
            return
        if parsed.event_type.startswith("TimeEntry."):
            self.assertIsInstance(parsed.data["id"], str)
            if parsed.event_type != "TimeEntry.Deleted":
                parse_entry(parsed.data)


@tagged("post_install", "-at_install")
class TestEntryParsingProperties(BaseCase):
    @settings(max_examples=EXAMPLES, deadline=None)
    @given(raw=event_like.map(lambda event: event.get("data")))
    def test_any_entry_is_read_or_refused_with_a_reason(self, raw):
        try:
            parsed = parse_entry(raw)
        except EntryError as error:
            self.assertTrue(str(error))
            return
        self.assertEqual(parsed.entry_id, raw["id"][:255])
        if parsed.problem is None:
            self.assertIsNotNone(parsed.time)
            self.assertIsNone(parsed.time.tzinfo)
        else:
            self.assertTrue(parsed.problem)

    @settings(max_examples=EXAMPLES, deadline=None)
    @given(
        instant=st.datetimes(),
        offset=st.integers(-14 * 60, 14 * 60),
        seconds=st.booleans(),
    )
    def test_an_instant_with_any_offset_is_read_as_the_same_utc_moment(
        self, instant, offset, seconds
    ):
        sign_char = "-" if offset < 0 else "+"
        text = instant.strftime("%Y-%m-%dT%H:%M:%S" if seconds else "%Y-%m-%dT%H:%M")
        text = f"{text}{sign_char}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
        try:
            parsed = parse_instant(text)
        except ValueError:
            return  # beyond the year 1..9999 once moved to UTC: refused, never an overflow
        base = instant if seconds else instant.replace(second=0)
        self.assertEqual(parsed, base.replace(microsecond=0) - timedelta(minutes=offset))
