import json
import time
import traceback
from datetime import datetime, timedelta

import psycopg2

from odoo import _, api, fields, models
from odoo.tools import mute_logger

from ..jibble.entries import FROM_EVENT, News, parse_entry
from . import transaction
from .jibble_time_entry import HELD_STATES

EVENT_STATES = [
    ("received", "Received"),
    ("done", "Applied"),
    ("waiting", "Waiting (entry held back)"),
    ("failed", "Failed, will retry"),
]
MAX_RETRY_DELAY = timedelta(hours=1)
# An event applied on receipt is left to the inbox cron only if that did not happen by then.
ON_RECEIPT_GRACE = timedelta(minutes=2)
RETRY_BATCH = 200


class JibbleWebhookEvent(models.Model):
    """The durable inbox: an accepted webhook event is stored here before it is answered.

    Applying an event is one unit of work (models/transaction.py); an event whose entry
    cannot be applied yet stays here and is retried with backoff, so no accepted event is
    lost. `_handlers` says which method applies which event type: an inheriting module
    extends it to handle a new type or change one, without touching the controller.
    """

    _name = "jibble.webhook.event"
    _description = "Jibble Webhook Event"
    _order = "received_at desc, id desc"
    _rec_name = "event_id"

    event_id = fields.Char(required=True, readonly=True, index=True)
    event_type = fields.Char(required=True, readonly=True)
    occurred_at = fields.Datetime(readonly=True)
    news_key = fields.Char(readonly=True, help="Orders this news against pulls and events.")
    received_at = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    payload = fields.Text(readonly=True)
    jibble_entry_id = fields.Char(readonly=True, index="btree_not_null")
    remote_address = fields.Char(readonly=True)
    state = fields.Selection(
        EVENT_STATES, default="received", required=True, readonly=True, index=True
    )
    attempts = fields.Integer(readonly=True)
    next_attempt_at = fields.Datetime(readonly=True, index="btree_not_null")
    last_error = fields.Text(readonly=True)

    _sql_constraints = [
        ("event_id_unique", "UNIQUE(event_id)", "A Jibble webhook event is stored once."),
    ]

    @api.model
    def _handlers(self):
        """Event type -> name of the method that applies it: extend this to add a type."""
        return {
            "TimeEntry.Created": "_handle_time_entry",
            "TimeEntry.Updated": "_handle_time_entry",
            "TimeEntry.Deleted": "_handle_time_entry_deleted",
        }

    @api.model
    def _store(self, event, remote_address, queued):
        """Insert the event, or return an empty recordset when its id was received before.

        The unique constraint decides, so two workers receiving the same event at once
        store it once: the second waits for the first and then sees the duplicate.
        """
        values = {
            "event_id": event.event_id,
            "event_type": event.event_type,
            "occurred_at": event.occurred_at.replace(microsecond=0),
            "news_key": News(event.occurred_at, FROM_EVENT).key(),
            "payload": json.dumps(event.data),
            "jibble_entry_id": (event.data or {}).get("id"),
            "remote_address": remote_address,
            "next_attempt_at": False if queued else fields.Datetime.now() + ON_RECEIPT_GRACE,
        }
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                return self.create(values)
        except psycopg2.errors.UniqueViolation:
            return self.browse()

    # Applying

    def _news(self):
        if not self.news_key:
            return News(self.occurred_at or self.received_at, FROM_EVENT)
        return News(datetime.fromisoformat(self.news_key.split("#")[0]), FROM_EVENT)

    def _people(self, data):
        """Whom applying this event may change: the entry's person, before and now."""
        people = {data.get("personId")} if isinstance(data.get("personId"), str) else set()
        if isinstance(data.get("id"), str):
            people |= self.env["jibble.time.entry"]._people_of([data["id"]])
        return people

    def _apply(self, commit=True):
        """Apply one event as one unit of work; returns its state. `commit=False` when a
        person asked for it: their request's transaction is kept."""
        self.ensure_one()
        Log = self.env["jibble.sync.log"]
        started, clock = fields.Datetime.now(), time.monotonic()
        data = json.loads(self.payload or "null") or {}
        transaction.start_unit(self.env, self._people(data), commit=commit)
        attempt = self.attempts + 1
        try:
            with self.env.cr.savepoint():
                handler = getattr(self, self._handlers()[self.event_type])
                entry = handler(data, self._news())
        except Exception as error:  # noqa: BLE001 - a failure of any kind keeps the event
            self._schedule_retry(attempt, "failed", f"{type(error).__name__}: {error}")
            Log._record(
                "webhook",
                "failed",
                _("Webhook event %s could not be applied; it will be retried.", self.event_id),
                trigger="webhook",
                start=started,
                duration=time.monotonic() - clock,
                jibble_event_id=self.event_id,
                jibble_entry_id=self.jibble_entry_id,
                received_count=1,
                failed_count=1,
                detail=traceback.format_exc(limit=8),
            )
            return self.state
        if entry and entry.state in HELD_STATES:
            reason = entry.state_message or dict(entry._fields["state"].selection)[entry.state]
            self._schedule_retry(attempt, "waiting", reason)
            status = "partial"
            message = _(
                "Webhook event %(event)s is kept until it can be applied: %(reason)s",
                event=self.event_id,
                reason=reason,
            )
        else:
            self.write(
                {
                    "state": "done",
                    "attempts": attempt,
                    "next_attempt_at": False,
                    "last_error": False,
                }
            )
            status, message = "success", _("Webhook event %s applied.", self.event_id)
        Log._record(
            "webhook",
            status,
            message,
            trigger="webhook",
            start=started,
            duration=time.monotonic() - clock,
            jibble_event_id=self.event_id,
            jibble_entry_id=self.jibble_entry_id,
            employee_id=entry.employee_id.id if entry else False,
            received_count=1,
            skipped_count=int(status == "partial"),
        )
        return self.state

    def _handle_time_entry(self, data, news):
        """A created or updated entry: stored unless newer news is, then applied."""
        Entry = self.env["jibble.time.entry"]
        parsed = parse_entry(data)
        names = self.env["jibble.sync.service"]._known_names()
        affected = Entry._store_news([parsed], news, names)
        stored = Entry.search([("entry_id", "=", parsed.entry_id)])
        if stored.state in ("pending", "conflict") and stored.time:
            # A retry: what held the entry back (a colliding attendance) may be gone.
            since = min(stored.time, affected.get(stored.person_id, stored.time))
            affected[stored.person_id] = since
        self.env["jibble.apply"]._apply_people(affected, "webhook")
        return stored

    def _handle_time_entry_deleted(self, data, news):
        """A deletion may carry the whole entry or only its id; an entry not received yet
        leaves a tombstone, so that an older read cannot bring it back."""
        Entry = self.env["jibble.time.entry"]
        stored = Entry.search([("entry_id", "=", data["id"])])
        if not stored:
            person_id = data.get("personId") if isinstance(data.get("personId"), str) else None
            tombstone = Entry._store_tombstone(data["id"], person_id, news)
            if tombstone:
                return tombstone
            # A pull stored the entry meanwhile: this unit locked nobody, so it may lock now.
            stored = Entry.search([("entry_id", "=", data["id"])])
            transaction.lock_people(self.env, stored.mapped("person_id"))
        affected = stored._mark_deleted(news)
        self.env["jibble.apply"]._apply_people(affected, "webhook")
        return stored

    def _schedule_retry(self, attempt, state, reason):
        delay = min(timedelta(minutes=2 ** min(attempt, 10)), MAX_RETRY_DELAY)
        self.write(
            {
                "state": state,
                "attempts": attempt,
                "last_error": reason,
                "next_attempt_at": fields.Datetime.now() + delay,
            }
        )

    def _queue(self):
        """Leave the events to the inbox cron, woken now rather than at its next run."""
        self.env.ref("jibble_connector.ir_cron_jibble_webhook_retry")._trigger()

    @api.model
    def _cron_retry_events(self):
        """Apply queued events, and again those held back or failed, oldest first: one unit
        and one commit per event."""
        due_domain = [
            ("state", "in", ("received", "waiting", "failed")),
            "|",
            ("next_attempt_at", "=", False),
            ("next_attempt_at", "<=", fields.Datetime.now()),
        ]
        due = self.search(due_domain, order="received_at, id", limit=RETRY_BATCH)
        for event in due:
            event._apply()
            transaction.commit_unit(self.env)
        remaining = self.search_count(due_domain)
        self.env["ir.cron"]._notify_progress(done=len(due), remaining=remaining)

    def action_retry(self):
        """Apply the selected events again now, from the inbox or the log."""
        self.env["jibble.sync.log"]._check_manager()
        # Entry point: a manager's button; applying writes entries and attendances.
        for event in self.sudo().filtered(lambda event: event.state != "done"):
            event._apply(commit=False)
