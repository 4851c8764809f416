import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta, timezone
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odoo import fields
from odoo.tests import HttpCase, tagged

from ..jibble.events import Event
from ..jibble.signature import SIGNATURE_PREFIX
from ..models.jibble_webhook_event import INBOX_CRON, RETRY_BATCH
from .common import CronWakeUps, time_entry
from .test_properties import event_like

SECRET = "test-webhook-secret"


def sign(body, timestamp=None, secret=SECRET):
    content = f"{timestamp}.".encode() + body if timestamp is not None else body
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def iso(value):
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def utc_now():
    return datetime.now(timezone.utc).replace(tzinfo=None)


@tagged("post_install", "-at_install")
class TestWebhook(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].set_param("jibble_connector.webhook_secret", SECRET)
        cls.employee = cls.env["hr.employee"].create({"name": "Wanda", "jibble_user_id": "p-1"})
        cls.day = (utc_now() - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
        cls.counter = 0

    def at(self, hours, day=0):
        return self.day + timedelta(days=day, hours=hours)

    def entry(self, entry_id, entry_type, hours, person="p-1", day=0, **extra):
        return time_entry(entry_id, person, entry_type, iso(self.at(hours, day)), **extra)

    def event(self, event_type, entry, event_id=None, occurred_at=None):
        TestWebhook.counter += 1
        return {
            "id": event_id or f"evt-{TestWebhook.counter}",
            "type": event_type,
            "occurredAt": iso(occurred_at or utc_now()),
            "data": entry,
        }

    def post(self, payload, timestamp=True, signature=None, headers=None, raw=None):
        body = raw if raw is not None else json.dumps(payload).encode()
        sent_at = str(int(time.time())) if timestamp is True else timestamp
        all_headers = {"Content-Type": "application/json"}
        if signature is not False:
            all_headers["X-Jibble-Signature"] = signature or sign(body, sent_at)
        if sent_at is not None:
            all_headers["X-Jibble-Timestamp"] = sent_at
        all_headers.update(headers or {})
        return self.url_open("/jibble/webhook", data=body, headers=all_headers, timeout=30)

    def attendances(self):
        return self.env["hr.attendance"].search([("employee_id", "=", self.employee.id)])

    def snapshot(self):
        return (
            self.env["hr.attendance"].search_count([]),
            self.env["jibble.webhook.event"].search_count([]),
            self.env["jibble.time.entry"].search_count([]),
        )

    def stored_event(self, payload):
        return self.env["jibble.webhook.event"].search([("event_id", "=", payload["id"])])

    def test_created_updated_and_deleted_events_change_attendances(self):
        clock_in = self.entry("in-1", "In", 8)
        response = self.post(self.event("TimeEntry.Created", clock_in))
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["status"], "done")
        self.assertEqual(self.attendances().check_in, self.at(8))
        self.assertFalse(self.attendances().check_out)

        clock_out = self.entry("out-1", "Out", 16.5)
        self.assertEqual(self.post(self.event("TimeEntry.Created", clock_out)).status_code, 200)
        self.assertEqual(self.attendances().check_out, self.at(16.5))
        self.assertEqual(self.attendances().jibble_out_entry_id, "out-1")

        moved = dict(clock_in, time=iso(self.at(7.75)))
        self.assertEqual(self.post(self.event("TimeEntry.Updated", moved)).status_code, 200)
        self.assertEqual(self.attendances().check_in, self.at(7.75))

        deleted_out = self.event("TimeEntry.Deleted", {"id": "out-1"})
        self.assertEqual(self.post(deleted_out).status_code, 200)
        self.assertFalse(self.attendances().check_out)
        self.assertEqual(
            self.post(self.event("TimeEntry.Deleted", {"id": "in-1"})).status_code, 200
        )
        self.assertFalse(self.attendances())
        logs = self.env["jibble.sync.log"].search([("operation", "=", "webhook")])
        self.assertEqual(len(logs.filtered(lambda log: log.status == "success")), 5)

    def assertRefused(self, response, status, reason_part):
        self.assertEqual(response.status_code, status, response.text)
        self.assertEqual(response.json()["status"], "refused")
        self.assertIn(reason_part, response.json()["reason"])

    def test_refusals_answer_their_status_and_write_nothing(self):
        entry = self.entry("in-2", "In", 8, day=1)
        before = self.snapshot()
        stale = str(int(time.time()) - 3600)
        too_old = self.event("TimeEntry.Created", entry, occurred_at=utc_now() - timedelta(days=91))
        future = self.event("TimeEntry.Created", entry, occurred_at=utc_now() + timedelta(hours=1))
        no_date = dict(self.event("TimeEntry.Created", entry), occurredAt="soon")
        no_person = self.event(
            "TimeEntry.Created", {k: v for k, v in entry.items() if k != "personId"}
        )
        cases = [
            (dict(signature=False), 401, "missing X-Jibble-Signature"),
            (dict(signature="sha256=" + "0" * 64), 401, "does not match"),
            (dict(timestamp=None), 401, "missing X-Jibble-Timestamp"),
            (dict(timestamp=stale), 401, "outside the accepted window"),
            (dict(timestamp="soon"), 401, "not a Unix time"),
            (dict(raw=b"{not json"), 400, "not JSON"),
            (dict(raw=b"[1, 2]"), 400, "not a JSON object"),
            (dict(raw=json.dumps({"type": "TimeEntry.Created"}).encode()), 400, "'id'"),
            (
                dict(raw=json.dumps({"id": "e", "type": "TimeEntry.Created", "data": {}}).encode()),
                400,
                "'data'",
            ),
            (dict(raw=json.dumps(no_person).encode()), 400, "personId"),
            (dict(raw=json.dumps(too_old).encode()), 400, "older than the 90 days"),
            (dict(raw=json.dumps(future).encode()), 400, "in the future"),
            (dict(raw=b"x" * (1024 * 1024 + 1)), 413, "1 MiB"),
        ]
        for kwargs, status, reason in cases:
            with self.subTest(status=status, reason=reason):
                self.assertRefused(
                    self.post(self.event("TimeEntry.Created", entry), **kwargs), status, reason
                )
        with self.subTest("no occurredAt and no signed timestamp"):
            self.env["ir.config_parameter"].set_param(
                "jibble_connector.accept_unsigned_timestamps", True
            )
            self.assertRefused(self.post(no_date, timestamp=None), 400, "occurredAt")
        self.assertEqual(self.snapshot(), before)

    def test_an_entry_with_an_unreadable_value_is_kept_and_held_with_the_reason(self):
        unreadable = self.entry("in-bad", "In", 9, belongsToDate="2025-13-45")
        response = self.post(self.event("TimeEntry.Created", unreadable, event_id="evt-bad"))
        self.assertEqual((response.status_code, response.json()["status"]), (202, "waiting"))
        self.assertIn("belongsToDate", response.json()["reason"])
        stored = self.env["jibble.time.entry"].search([("entry_id", "=", "in-bad")])
        self.assertEqual(stored.state, "invalid")
        self.assertFalse(self.attendances())
        log = self.env["jibble.sync.log"].search([("jibble_event_id", "=", "evt-bad")])
        self.assertEqual(log.status, "partial")
        self.assertEqual(self.stored_event({"id": "evt-bad"}).state, "waiting")

        bad_time = self.entry("in-bad-time", "In", 9, day=1)
        bad_time["time"] = "yesterday"
        response = self.post(self.event("TimeEntry.Created", bad_time))
        self.assertEqual((response.status_code, response.json()["status"]), (202, "waiting"))
        self.assertIn("'yesterday'", response.json()["reason"])

    def test_an_event_without_occurred_at_is_dated_by_its_signed_timestamp(self):
        payload = self.event("TimeEntry.Created", self.entry("in-ts", "In", 8, day=2))
        del payload["occurredAt"]
        response = self.post(payload)
        self.assertEqual(response.status_code, 200, response.text)
        event = self.stored_event(payload)
        self.assertLessEqual(abs((event.occurred_at - utc_now()).total_seconds()), 60)

    def test_refusal_logging_is_throttled_per_reason_and_address(self):
        entry = self.entry("in-3", "In", 8, day=2)
        for _attempt in range(5):
            self.post(self.event("TimeEntry.Created", entry), signature="sha256=bad")
        refusals = self.env["jibble.sync.log"].search([("message", "like", "Webhook refused")])
        self.assertEqual(len(refusals), 1)
        self.assertEqual(refusals.remote_address, "127.0.0.1")
        self.assertEqual(refusals.status, "failed")

    def test_no_secret_configured_fails_closed(self):
        self.env["ir.config_parameter"].set_param("jibble_connector.webhook_secret", False)
        before = self.snapshot()
        response = self.post(self.event("TimeEntry.Created", self.entry("in-4", "In", 8)))
        self.assertRefused(response, 503, "not configured")
        self.assertEqual(self.snapshot(), before)

    def test_unknown_event_type_is_accepted_and_logged_as_ignored(self):
        before = self.snapshot()
        response = self.post({"id": "evt-x", "type": "Person.Created", "data": {}})
        self.assertEqual(response.status_code, 202)
        self.assertEqual(response.json()["status"], "ignored")
        self.assertEqual(self.snapshot(), before)
        log = self.env["jibble.sync.log"].search([("jibble_event_id", "=", "evt-x")])
        self.assertEqual(log.status, "skipped")

    def test_bare_hex_signature_without_timestamp_is_accepted_when_settings_allow(self):
        payload = self.event("TimeEntry.Created", self.entry("in-5", "In", 8, day=1))
        body = json.dumps(payload).encode()
        bare = sign(body)[len(SIGNATURE_PREFIX) :]
        self.assertRefused(
            self.post(payload, timestamp=None, signature=bare), 401, "X-Jibble-Timestamp"
        )
        self.env["ir.config_parameter"].set_param(
            "jibble_connector.accept_unsigned_timestamps", True
        )
        response = self.post(payload, timestamp=None, signature=bare)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(len(self.attendances()), 1)

    def test_replayed_event_has_no_second_effect(self):
        payload = self.event("TimeEntry.Created", self.entry("in-6", "In", 8, day=1))
        self.assertEqual(self.post(payload).status_code, 200)
        moved = dict(payload, data=dict(payload["data"], time=iso(self.at(9, day=1))))
        response = self.post(moved)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["status"], "duplicate")
        self.assertEqual(self.attendances().check_in, self.at(8, day=1))
        self.assertEqual(self.env["jibble.webhook.event"].search_count([]), 1)

    def test_storing_an_event_is_one_insert_and_a_duplicate_stores_nothing(self):
        """The receiver's work in the queue mode (an insert in a savepoint): its cost must not
        be the ORM's create."""
        Inbox = self.env["jibble.webhook.event"]
        entry = self.entry("in-one", "In", 8, day=1)
        occurred = utc_now().replace(microsecond=123456)
        event = Event("evt-one", "TimeEntry.Created", occurred, entry)
        with self.assertQueryCount(3):
            stored = Inbox._store(event, "10.0.0.7", queued=True)
        self.assertRecordValues(
            stored,
            [
                {
                    "event_id": "evt-one",
                    "event_type": "TimeEntry.Created",
                    "occurred_at": occurred.replace(microsecond=0),
                    "jibble_entry_id": "in-one",
                    "remote_address": "10.0.0.7",
                    "state": "received",
                    "attempts": 0,
                    "next_attempt_at": False,
                    "create_uid": self.env.uid,
                }
            ],
        )
        self.assertEqual(json.loads(stored.payload), entry)
        self.assertEqual(stored._news().at, occurred)
        with self.assertQueryCount(3):
            self.assertFalse(Inbox._store(event, "10.0.0.8", queued=False))
        self.assertEqual(Inbox.search([("event_id", "=", "evt-one")]), stored)

    def test_a_new_entry_is_stored_without_reading_it_back(self):
        """The handler of an event's entry: its search and its insert, nothing read again."""
        Inbox = self.env["jibble.webhook.event"]
        news = Inbox._store(
            Event("evt-new", "TimeEntry.Created", utc_now(), self.entry("in-new", "In", 8, day=1)),
            "",
            queued=True,
        )._news()
        # The first entry also reads what Odoo caches: names and field mappings.
        Inbox._handle_time_entry(self.entry("in-first", "In", 8, day=2), news)
        with self.assertQueryCount(2):
            affected = Inbox._handle_time_entry(self.entry("in-new", "In", 8, day=1), news)
        self.assertEqual(affected, {"p-1": self.at(8, day=1)})

    def test_an_event_reads_no_more_with_a_long_history(self):
        """A shift's two events cost the same queries after forty days of attendances as before
        them, and read none of the older attendances: Odoo 18's overtime bookkeeping read every
        attendance of the employee on each change (`_bounded_to_overtime_days`)."""
        Inbox = self.env["jibble.webhook.event"]
        Attendance = self.env["hr.attendance"]

        def store(day, tag):
            return Inbox.union(
                *(
                    Inbox._store(
                        Event(
                            f"evt-{tag}-{kind}",
                            "TimeEntry.Created",
                            utc_now(),
                            self.entry(f"{tag}-{kind}", kind, hour, day=day),
                        ),
                        "",
                        queued=True,
                    )
                    for kind, hour in (("In", 8), ("Out", 16))
                )
            )

        def queries_of_a_shift(day):
            events = store(day, f"shift{day}")
            # The employee's last sync is written at most once a minute: not measured here.
            self.employee.last_jibble_sync = fields.Datetime.now()
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            for event in events:
                event._apply(commit=False)
            self.env.flush_all()
            return self.env.cr.sql_log_count - before

        # Each measured shift follows two others, read as its neighbours: the first ones also
        # warm Odoo's caches. The two measured are a week apart: a working day and a day off
        # cost different queries in Odoo's overtime bookkeeping.
        queries_of_a_shift(-9)
        queries_of_a_shift(-8)
        before_the_history = queries_of_a_shift(-7)
        Inbox.union(*(store(day, f"history{day}") for day in range(-50, -10)))._apply(commit=False)
        history = self.attendances().filtered(lambda a: a.check_in < self.at(0, day=-10))
        self.assertEqual(len(history), 40)
        queries_of_a_shift(-2)
        queries_of_a_shift(-1)
        self.assertEqual(queries_of_a_shift(0), before_the_history)
        self.assertEqual(len(self.attendances()), 46)
        read = self.env.cache.get_records(Attendance, Attendance._fields["check_in"])
        self.assertFalse(read & history, "the event read attendances of days it did not touch")

    def test_an_older_update_delivered_late_does_not_win(self):
        clock_in = self.entry("in-late", "In", 8, day=2)
        happened = utc_now() - timedelta(minutes=10)
        self.post(self.event("TimeEntry.Created", clock_in, occurred_at=happened))
        newer = dict(clock_in, time=iso(self.at(9, day=2)))
        older = dict(clock_in, time=iso(self.at(8.5, day=2)))
        self.post(
            self.event("TimeEntry.Updated", newer, occurred_at=happened + timedelta(minutes=2))
        )
        response = self.post(
            self.event("TimeEntry.Updated", older, occurred_at=happened + timedelta(minutes=1))
        )
        self.assertEqual(response.json()["status"], "done")
        self.assertEqual(self.attendances().check_in, self.at(9, day=2))

    def test_event_that_conflicts_is_kept_and_applied_by_the_retry_cron(self):
        manual = self.env["hr.attendance"].create(
            {"employee_id": self.employee.id, "check_in": self.at(7), "check_out": self.at(12)}
        )
        payload = self.event("TimeEntry.Created", self.entry("in-7", "In", 8))
        response = self.post(payload)
        self.assertEqual(response.status_code, 202)
        self.assertEqual(response.json()["status"], "waiting")
        event = self.stored_event(payload)
        self.assertEqual((event.state, event.attempts), ("waiting", 1))
        self.assertTrue(event.last_error)
        self.assertEqual(self.attendances(), manual)
        conflict_log = self.env["jibble.sync.log"].search(
            [("jibble_entry_id", "=", "in-7"), ("operation", "=", "apply")]
        )
        self.assertIn("collides", conflict_log.message)

        manual.unlink()
        event.next_attempt_at = utc_now() - timedelta(seconds=1)
        self.env["jibble.webhook.event"]._cron_retry_events()
        self.assertEqual((event.state, event.attempts), ("done", 2))
        self.assertEqual(self.attendances().jibble_entry_id, "in-7")

    def test_event_for_an_unlinked_person_is_applied_once_linked(self):
        payload = self.event("TimeEntry.Created", self.entry("in-8", "In", 8, person="p-new"))
        response = self.post(payload)
        self.assertEqual((response.status_code, response.json()["status"]), (202, "waiting"))
        newcomer = self.env["hr.employee"].create({"name": "Newcomer"})
        self.assertFalse(self.env["hr.attendance"].search([("employee_id", "=", newcomer.id)]))
        newcomer.jibble_user_id = "p-new"
        attendance = self.env["hr.attendance"].search([("employee_id", "=", newcomer.id)])
        self.assertEqual(attendance.jibble_entry_id, "in-8")
        event = self.stored_event(payload)
        event.next_attempt_at = utc_now() - timedelta(seconds=1)
        self.env["jibble.webhook.event"]._cron_retry_events()
        self.assertEqual(event.state, "done")

    def test_queued_events_are_answered_at_once_and_applied_by_the_inbox_cron(self):
        self.env["ir.config_parameter"].set_param("jibble_connector.webhook_apply_mode", "queue")
        inbox_cron = self.env.ref("jibble_connector.ir_cron_jibble_webhook_retry")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", inbox_cron.id)])
        payload = self.event("TimeEntry.Created", self.entry("in-q", "In", 8, day=2), "evt-q")
        response = self.post(payload)
        self.assertEqual((response.status_code, response.json()["status"]), (202, "queued"))
        event = self.stored_event(payload)
        self.assertEqual(event.state, "received")
        self.assertFalse(self.attendances())
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", inbox_cron.id)]),
            triggers + 1,
        )
        self.env["jibble.webhook.event"]._cron_retry_events()
        self.assertEqual(event.state, "done")
        self.assertEqual(self.attendances().check_in, self.at(8, day=2))

    def test_the_inbox_applies_a_batch_and_keeps_only_the_events_that_fail(self):
        """One unit for the batch; a handler that fails, or a plan that fails for one person,
        keeps that event alone for a retry."""
        self.env["ir.config_parameter"].set_param("jibble_connector.webhook_apply_mode", "queue")
        other = self.env["hr.employee"].create({"name": "Otto", "jibble_user_id": "p-2"})
        Inbox, Apply = type(self.env["jibble.webhook.event"]), type(self.env["jibble.apply"])
        handle, apply_people = Inbox._handle_time_entry, Apply._apply_people

        def failing_handler(inbox, data, news):
            if data["id"] == "in-b3":
                raise ValueError("handler broke")
            return handle(inbox, data, news)

        def failing_plan(apply, affected, trigger):
            if "p-2" in affected:
                raise ValueError("plan broke for p-2")
            return apply_people(apply, affected, trigger)

        payloads = [
            self.event("TimeEntry.Created", self.entry("in-b1", "In", 8, day=1)),
            self.event("TimeEntry.Created", self.entry("in-b2", "In", 8, person="p-2", day=1)),
            self.event("TimeEntry.Created", self.entry("in-b3", "In", 8, day=2)),
        ]
        for payload in payloads:
            self.assertEqual(self.post(payload).json()["status"], "queued")
        events = [self.stored_event(payload) for payload in payloads]
        with (
            patch.object(Inbox, "_handle_time_entry", failing_handler),
            patch.object(Apply, "_apply_people", failing_plan),
        ):
            self.env["jibble.webhook.event"]._cron_retry_events()
        self.assertEqual([event.state for event in events], ["done", "failed", "failed"])
        self.assertIn("plan broke for p-2", events[1].last_error)
        self.assertIn("handler broke", events[2].last_error)
        self.assertEqual(self.attendances().jibble_entry_id, "in-b1")
        self.assertFalse(self.env["hr.attendance"].search([("employee_id", "=", other.id)]))
        logs = self.env["jibble.sync.log"].search(
            [("jibble_event_id", "in", [payload["id"] for payload in payloads])]
        )
        self.assertEqual(
            sorted(logs.mapped("status")), ["failed", "failed", "success"], logs.mapped("message")
        )

        for event in events[1:]:
            event.next_attempt_at = utc_now() - timedelta(seconds=1)
        self.env["jibble.webhook.event"]._cron_retry_events()
        self.assertEqual([event.state for event in events], ["done", "done", "done"])
        self.assertEqual(self.attendances().mapped("jibble_entry_id"), ["in-b3", "in-b1"])
        self.assertEqual(
            self.env["hr.attendance"].search([("employee_id", "=", other.id)]).jibble_entry_id,
            "in-b2",
        )

    def test_an_event_applied_on_receipt_is_not_applied_again_by_the_inbox_cron(self):
        payload = self.event("TimeEntry.Created", self.entry("in-r", "In", 8, day=2))
        self.env["hr.attendance"].create(
            {"employee_id": self.employee.id, "check_in": self.at(7, 2), "check_out": self.at(9, 2)}
        )
        self.assertEqual(self.post(payload).json()["status"], "waiting")
        event = self.stored_event(payload)
        self.env["jibble.webhook.event"]._cron_retry_events()
        self.assertEqual(event.attempts, 1, "the retry waits for its backoff")

    def test_an_inbox_backlog_wakes_the_cron_again_until_it_is_worked_through(self):
        """Odoo's cron runner calls a cron that reports work remaining ten times, then waits
        a minute for its next look: the workers are woken to go on at once, without a trigger
        row that would outlive the run."""
        Inbox = self.env["jibble.webhook.event"]
        cron = self.env.ref(INBOX_CRON)
        for number in range(RETRY_BATCH + 1):
            entry = self.entry(f"in-{number}", "In", 8, person=f"nobody-{number}", day=1)
            occurred = datetime.now(timezone.utc).replace(tzinfo=None)
            Inbox._store(Event(f"evt-b{number}", "TimeEntry.Created", occurred, entry), "", True)
        Triggers = self.env["ir.cron.trigger"]
        Triggers.search([("cron_id", "=", cron.id)]).unlink()
        wake_ups = CronWakeUps(self)
        Inbox._cron_retry_events()
        self.assertEqual(Inbox.search_count([("state", "=", "received")]), 1)
        self.assertFalse(Triggers.search([("cron_id", "=", cron.id)]))
        self.assertTrue(wake_ups.received(), "the cron workers are woken")
        Inbox._cron_retry_events()
        self.assertFalse(Triggers.search([("cron_id", "=", cron.id)]))
        self.assertFalse(wake_ups.received(wait=0.5), "nothing left: nobody is woken")

    def test_health_route_answers(self):
        response = self.url_open("/jibble/webhook/health")
        self.assertEqual((response.status_code, response.json()["status"]), (200, "ok"))


@tagged("post_install", "-at_install")
class TestWebhookFuzz(HttpCase):
    """Random signed and unsigned bodies over real HTTP: never a 500, nothing written for a
    refusal."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].set_param("jibble_connector.webhook_secret", SECRET)

    def test_random_bodies_never_get_a_server_error(self):
        statuses = []

        @settings(
            max_examples=60,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(
            body=st.binary(max_size=300) | event_like.map(lambda e: json.dumps(e).encode()),
            signed=st.booleans(),
        )
        def post(body, signed):
            before = (
                self.env["jibble.webhook.event"].search_count([]),
                self.env["hr.attendance"].search_count([]),
            )
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "X-Jibble-Timestamp": stamp,
                "X-Jibble-Signature": sign(body, stamp) if signed else "sha256=00",
            }
            response = self.url_open("/jibble/webhook", data=body, headers=headers, timeout=30)
            statuses.append(response.status_code)
            self.assertLess(response.status_code, 500, response.text)
            if response.status_code >= 400:
                after = (
                    self.env["jibble.webhook.event"].search_count([]),
                    self.env["hr.attendance"].search_count([]),
                )
                self.assertEqual(after, before)

        post()
        self.assertIn(400, statuses)
        self.assertIn(401, statuses)
