"""Property-based tests: random and mutated input never gets past the boundaries."""

import hashlib
import hmac
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odoo.tests import BaseCase, TransactionCase, tagged

from ..controllers.webhook import WebhookRefused, parse_event
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
        except WebhookRefused as refusal:
            self.assertEqual(refusal.status, 400)
        else:
            self.assertIsInstance(event, dict)

    @settings(max_examples=EXAMPLES, deadline=None)
    @given(event=event_like)
    def test_parsed_entry_events_have_what_applying_needs(self, event):
        try:
            parsed = parse_event(json.dumps(event).encode())
        except WebhookRefused as refusal:
            self.assertEqual(refusal.status, 400)
            return
        if parsed["type"].startswith("TimeEntry."):
            self.assertIsInstance(parsed["data"]["id"], str)
            if parsed["type"] != "TimeEntry.Deleted":
                for key in ("personId", "type", "time"):
                    self.assertIsInstance(parsed["data"][key], str)


@tagged("post_install", "-at_install")
class TestEntryMappingProperties(TransactionCase):
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(raw=event_like.map(lambda event: event.get("data")))
    def test_mapping_any_entry_gives_values_or_a_value_error(self, raw):
        if not isinstance(raw, dict):
            return
        service = self.env["jibble.sync.service"]
        entries_before = self.env["jibble.time.entry"].search_count([])
        try:
            values = service._entry_values(raw, {})
        except (ValueError, TypeError, AttributeError, KeyError, OverflowError):
            self.assertEqual(self.env["jibble.time.entry"].search_count([]), entries_before)
            return
        self.assertIn(values["entry_type"], raw["type"])
        self.assertIsNone(values["time"].tzinfo)
