import json
import time
import traceback
from datetime import datetime, timedelta

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import mute_logger

from ..jibble.entries import FROM_EVENT, News, parse_entry
from . import transaction
from .jibble_time_entry import HELD_STATES
from .rows import insert_rows

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
INBOX_CRON = "jibble_connector.ir_cron_jibble_webhook_retry"


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

    event_id = fields.Char(required=True, readonly=True)  # indexed by its unique constraint
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
        store it once: the second waits for the first and then inserts nothing. One
        statement in a savepoint (`insert_rows`, as for entries): this is the receiver's whole
        work in the queue mode, and the ORM's create cost as much as the rest of the request
        for a row with nothing to compute.
        """
        now = fields.Datetime.now()
        values = {
            "event_id": event.event_id,
            "event_type": event.event_type,
            "occurred_at": event.occurred_at.replace(microsecond=0),
            "news_key": News(event.occurred_at, FROM_EVENT).key(),
            "received_at": now,
            "payload": json.dumps(event.data),
            "jibble_entry_id": (event.data or {}).get("id"),
            "remote_address": remote_address,
            "state": "received",
            "attempts": 0,
            "next_attempt_at": None if queued else now + ON_RECEIPT_GRACE,
        }
        try:
            # Not ON CONFLICT DO NOTHING: in Odoo's REPEATABLE READ it fails with a
            # serialization error when the other worker's row came after this snapshot.
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint(flush=False):
                return self.browse(insert_rows(self, [values], returning=True))
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
        """Apply these events as one unit of work (models/transaction.py): each event's news
        is stored by its handler, then the people they touch are planned together, so that a
        backlog costs one batch of attendance writes, not one per event. Returns the state of
        the last event. `commit=False` when a person asked for it: their request's
        transaction is kept."""
        if not self:
            return False
        started, clock = fields.Datetime.now(), time.monotonic()
        payloads = {event: json.loads(event.payload or "null") or {} for event in self}
        people = set().union(*(event._people(data) for event, data in payloads.items()))
        transaction.start_unit(self.env, people, commit=commit)
        affected, failures = {}, {}
        for event, data in payloads.items():
            try:
                with self.env.cr.savepoint():
                    handler = getattr(event, self._handlers()[event.event_type])
                    affected[event] = handler(data, event._news()) or {}
            except Exception:  # noqa: BLE001 - a failure of any kind keeps the event
                failures[event] = traceback.format_exc(limit=8)
        self._apply_affected(affected, failures)
        entries = self.env["jibble.time.entry"].search(
            [("entry_id", "in", [e for e in self.mapped("jibble_entry_id") if e])]
        )
        by_entry = {entry.entry_id: entry for entry in entries}
        duration = (time.monotonic() - clock) / len(self)
        self.env["jibble.sync.log"].create(
            [
                event._outcome(by_entry.get(event.jibble_entry_id), failures.get(event))
                | {"start": started, "end": fields.Datetime.now(), "duration": duration}
                for event in self
            ]
        )
        return self[-1:].state

    def _apply_affected(self, affected, failures):
        """Plan everyone the events touch at once; when that fails as a whole, event by event,
        so that only the events whose change fails are kept for a retry."""
        Apply = self.env["jibble.apply"]
        merged = {}
        for more in affected.values():
            for person_id, since in more.items():
                merged[person_id] = min(since, merged.get(person_id, since))
        try:
            with self.env.cr.savepoint():
                Apply._apply_people(merged, "webhook")
            return
        except Exception:  # noqa: BLE001 - retried event by event just below
            if len(affected) == 1:
                failures.update(dict.fromkeys(affected, traceback.format_exc(limit=8)))
                return
        for event, more in affected.items():
            try:
                with self.env.cr.savepoint():
                    Apply._apply_people(more, "webhook")
            except Exception:  # noqa: BLE001 - a failure of any kind keeps the event
                failures[event] = traceback.format_exc(limit=8)

    def _outcome(self, entry, failure):
        """The event's new state, and the values of its log row."""
        attempt = self.attempts + 1
        row = {
            "operation": "webhook",
            "trigger": "webhook",
            "jibble_event_id": self.event_id,
            "jibble_entry_id": self.jibble_entry_id,
            "employee_id": entry.employee_id.id if entry else False,
            "received_count": 1,
        }
        if failure:
            self._schedule_retry(attempt, "failed", failure.strip().splitlines()[-1][:500])
            message = _("Webhook event %s could not be applied; it will be retried.", self.event_id)
            return row | {
                "status": "failed",
                "message": message,
                "failed_count": 1,
                "detail": failure,
            }
        if entry and entry.state in HELD_STATES:
            reason = entry.state_message or dict(entry._fields["state"].selection)[entry.state]
            self._schedule_retry(attempt, "waiting", reason)
            message = _(
                "Webhook event %(event)s is kept until it can be applied: %(reason)s",
                event=self.event_id,
                reason=reason,
            )
            return row | {"status": "partial", "message": message, "skipped_count": 1}
        self.write(
            {"state": "done", "attempts": attempt, "next_attempt_at": False, "last_error": False}
        )
        return row | {"status": "success", "message": _("Webhook event %s applied.", self.event_id)}

    def _handle_time_entry(self, data, news):
        """A created or updated entry: stored unless newer news is. Returns whom to plan
        again, from when: a handler stores, the inbox applies."""
        Entry = self.env["jibble.time.entry"]
        parsed = parse_entry(data)
        names = self.env["jibble.sync.service"]._known_names()
        affected = Entry._store_news([parsed], news, names)
        if affected:
            # The store changed the entry and already asks to plan its person from its time.
            return affected
        stored = Entry.search_fetch(
            [("entry_id", "=", parsed.entry_id)], ["state", "time", "person_id"]
        )
        if stored.state in ("pending", "conflict") and stored.time:
            # A retry: what held the entry back (a colliding attendance) may be gone.
            since = min(stored.time, affected.get(stored.person_id, stored.time))
            affected[stored.person_id] = since
        return affected

    def _handle_time_entry_deleted(self, data, news):
        """A deletion may carry the whole entry or only its id; an entry not received yet
        leaves a tombstone, so that an older read cannot bring it back."""
        Entry = self.env["jibble.time.entry"]
        stored = Entry.search([("entry_id", "=", data["id"])])
        if not stored:
            person_id = data.get("personId") if isinstance(data.get("personId"), str) else None
            if Entry._store_tombstone(data["id"], person_id, news):
                return {}
            # A pull stored the entry meanwhile, for a person this unit did not lock: the
            # next attempt finds the entry before it locks.
            raise UserError(_("The entry arrived while its deletion was being applied."))
        return stored._mark_deleted(news)

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
        # Not env.ref: its check that the cron exists is one more query per event, and the
        # trigger's own statement finds no active cron as well.
        cron_id = self.env["ir.model.data"]._xmlid_to_res_id(INBOX_CRON)
        self.env["ir.cron"].browse(cron_id)._jibble_trigger_now()

    @api.model
    def _cron_retry_events(self):
        """Apply queued events, and again those held back or failed, oldest first: one unit
        and one commit per batch."""
        due_domain = [
            ("state", "in", ("received", "waiting", "failed")),
            "|",
            ("next_attempt_at", "=", False),
            ("next_attempt_at", "<=", fields.Datetime.now()),
        ]
        due = self.search(due_domain, order="received_at, id", limit=RETRY_BATCH)
        due._apply()
        transaction.commit_unit(self.env)
        remaining = self.search_count(due_domain)
        transaction.notify_progress(self.env, INBOX_CRON, len(due), remaining)

    def action_retry(self):
        """Apply the selected events again now, from the inbox or the log."""
        self.env["jibble.sync.log"]._check_manager()
        # Entry point: a manager's button; applying writes entries and attendances.
        self.sudo().filtered(lambda event: event.state != "done")._apply(commit=False)
