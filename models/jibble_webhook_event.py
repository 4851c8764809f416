import json
import time
import traceback
from datetime import timedelta

import psycopg2

from odoo import _, api, fields, models
from odoo.tools import mute_logger

EVENT_STATES = [
    ("received", "Received"),
    ("done", "Applied"),
    ("waiting", "Waiting (entry held back)"),
    ("failed", "Failed, will retry"),
]
ENTRY_EVENT_TYPES = ("TimeEntry.Created", "TimeEntry.Updated", "TimeEntry.Deleted")
HELD_ENTRY_STATES = ("unmatched", "disabled", "conflict", "pending")
MAX_RETRY_DELAY = timedelta(hours=1)
RETRY_BATCH = 200


class JibbleWebhookEvent(models.Model):
    """The durable inbox: an accepted webhook event is stored here before it is answered.

    Applying happens in a savepoint after storing; an event whose entry cannot be applied
    yet stays here and is retried with backoff, so no accepted event is ever lost.
    """

    _name = "jibble.webhook.event"
    _description = "Jibble Webhook Event"
    _order = "received_at desc, id desc"
    _rec_name = "event_id"

    event_id = fields.Char(required=True, readonly=True, index=True)
    event_type = fields.Char(required=True, readonly=True)
    occurred_at = fields.Datetime(readonly=True)
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
    observation = fields.Integer(
        readonly=True,
        help="Arrival order among pulls and events: a retry of this event does not undo "
        "what a later pull or event brought.",
    )

    _sql_constraints = [
        ("event_id_unique", "UNIQUE(event_id)", "A Jibble webhook event is stored once."),
    ]

    @api.model
    def _store(self, values):
        """Insert the event, or return an empty recordset when its id was received before.

        The unique constraint decides, so two workers receiving the same event at once
        store it once: the second waits for the first and then sees the duplicate.
        """
        values = {**values, "observation": self.env["jibble.sync.service"]._next_observation()}
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                return self.sudo().create(values)
        except psycopg2.errors.UniqueViolation:
            return self.browse()

    def _lock_for_processing(self):
        """The events nobody else is applying right now, locked until this transaction ends."""
        if not self:
            return self
        self.flush_recordset()
        self.env.cr.execute(
            "SELECT id FROM jibble_webhook_event WHERE id IN %s FOR UPDATE SKIP LOCKED",
            [tuple(self.ids)],
        )
        return self.browse(row[0] for row in self.env.cr.fetchall())

    def _process(self):
        """Apply each event through the sync service and record how it went."""
        Log = self.env["jibble.sync.log"]
        for event in self._lock_for_processing():
            started, clock = fields.Datetime.now(), time.monotonic()
            attempt = event.attempts + 1
            try:
                with self.env.cr.savepoint():
                    entry = self.env["jibble.sync.service"]._apply_event_entry(
                        event.event_type, json.loads(event.payload)["data"], event.observation
                    )
            except Exception as error:  # noqa: BLE001 - a failure of any kind keeps the event
                event._schedule_retry(attempt, "failed", f"{type(error).__name__}: {error}")
                Log._record(
                    "webhook",
                    "failed",
                    _(
                        "Webhook event %(event)s could not be applied; it will be retried.",
                        event=event.event_id,
                    ),
                    trigger="webhook",
                    start=started,
                    duration=time.monotonic() - clock,
                    jibble_event_id=event.event_id,
                    jibble_entry_id=event.jibble_entry_id,
                    received_count=1,
                    failed_count=1,
                    detail=traceback.format_exc(limit=8),
                )
                continue
            if entry.state in HELD_ENTRY_STATES:
                event._schedule_retry(attempt, "waiting", entry.state_message or entry.state)
                status, message = (
                    "partial",
                    _(
                        "Webhook event %(event)s is kept until it can be applied: %(reason)s",
                        event=event.event_id,
                        reason=entry.state_message or entry.state,
                    ),
                )
            else:
                event.write(
                    {
                        "state": "done",
                        "attempts": attempt,
                        "next_attempt_at": False,
                        "last_error": False,
                    }
                )
                status, message = (
                    "success",
                    _("Webhook event %(event)s applied.", event=event.event_id),
                )
            Log._record(
                "webhook",
                status,
                message,
                trigger="webhook",
                start=started,
                duration=time.monotonic() - clock,
                jibble_event_id=event.event_id,
                jibble_entry_id=event.jibble_entry_id,
                employee_id=entry.employee_id.id,
                received_count=1,
                skipped_count=int(status == "partial"),
            )

    def _queue(self):
        """Leave the events to the inbox cron, woken now rather than at its next run."""
        self.env.ref("jibble_connector.ir_cron_jibble_webhook_retry").sudo()._trigger()

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

    @api.model
    def _cron_retry_events(self):
        """Apply queued events and again those held back or failed, oldest first, in batches."""
        self.env["jibble.sync.service"]._read_committed_from_here()
        due_domain = [
            ("state", "in", ("received", "waiting", "failed")),
            "|",
            ("next_attempt_at", "=", False),
            ("next_attempt_at", "<=", fields.Datetime.now()),
        ]
        due = self.search(due_domain, order="received_at, id", limit=RETRY_BATCH)
        due._process()
        remaining = self.search_count(due_domain)
        self.env["ir.cron"]._notify_progress(done=len(due), remaining=remaining)

    def action_retry(self):
        """Apply the selected events again now, from the inbox or the log."""
        self.filtered(lambda event: event.state != "done")._process()
