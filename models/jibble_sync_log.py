from datetime import timedelta

from odoo import _, api, fields, models

OPERATIONS = [
    ("pull", "Scheduled Pull"),
    ("webhook", "Webhook Event"),
    ("apply", "Apply Entries"),
    ("match", "Employee Match"),
    ("connection_test", "Connection Test"),
]
TRIGGERS = [
    ("cron", "Scheduled"),
    ("manual", "Manual"),
    ("webhook", "Webhook"),
    ("employee", "Employee Change"),
]
STATUSES = [
    ("success", "Success"),
    ("partial", "Partial"),
    ("failed", "Failed"),
    ("skipped", "Skipped"),
]
PURGE_BATCH = 1000


class JibbleSyncLog(models.Model):
    """One row per sync run, webhook event, employee match or connection test."""

    _name = "jibble.sync.log"
    _description = "Jibble Sync Log"
    _order = "start desc, id desc"
    _rec_name = "message"

    operation = fields.Selection(OPERATIONS, required=True, readonly=True, index=True)
    trigger = fields.Selection(TRIGGERS, required=True, readonly=True, default="manual")
    status = fields.Selection(STATUSES, required=True, readonly=True, index=True)
    start = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now, index=True)
    end = fields.Datetime(readonly=True)
    duration = fields.Float(string="Duration (s)", readonly=True, aggregator="avg", digits=(16, 3))
    received_count = fields.Integer(string="Received", readonly=True)
    created_count = fields.Integer(string="Created", readonly=True)
    updated_count = fields.Integer(string="Updated", readonly=True)
    deleted_count = fields.Integer(string="Deleted", readonly=True)
    skipped_count = fields.Integer(string="Skipped", readonly=True)
    failed_count = fields.Integer(string="Failed", readonly=True)
    message = fields.Char(readonly=True, required=True)
    detail = fields.Text(
        string="Technical Detail",
        readonly=True,
        help="Response body or traceback of a failure. Never contains a secret.",
    )
    employee_id = fields.Many2one("hr.employee", readonly=True, index="btree_not_null")
    attendance_id = fields.Many2one(
        "hr.attendance", readonly=True, ondelete="set null", index="btree_not_null"
    )
    jibble_entry_id = fields.Char(readonly=True, index="btree_not_null")
    jibble_event_id = fields.Char(readonly=True, index="btree_not_null")
    remote_address = fields.Char(readonly=True)
    company_id = fields.Many2one(
        "res.company", readonly=True, default=lambda self: self.env.company, index=True
    )

    can_retry = fields.Boolean(compute="_compute_can_retry")

    @api.depends("status", "operation", "jibble_event_id", "jibble_entry_id")
    def _compute_can_retry(self):
        for log in self:
            log.can_retry = log.status in ("failed", "partial") and (
                log.operation == "pull"
                or (log.operation == "webhook" and bool(log.jibble_event_id))
                or (log.operation == "apply" and bool(log.jibble_entry_id))
            )

    def action_retry(self):
        """Do again what failed: pull again, re-apply a held webhook event or entry."""
        if self.filtered(lambda log: log.operation == "pull" and log.can_retry):
            self.env.ref("jibble_connector.ir_cron_jibble_sync").sudo()._trigger()
        events = (
            self.env["jibble.webhook.event"]
            .sudo()
            .search(
                [
                    ("event_id", "in", self.filtered("can_retry").mapped("jibble_event_id")),
                    ("state", "!=", "done"),
                ]
            )
        )
        events._process()
        entries = (
            self.env["jibble.time.entry"]
            .sudo()
            .search(
                [
                    (
                        "entry_id",
                        "in",
                        self.filtered(
                            lambda log: log.can_retry and log.operation == "apply"
                        ).mapped("jibble_entry_id"),
                    ),
                ]
            )
        )
        if entries:
            self.env["jibble.sync.service"]._retry_entries(entries)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Jibble"),
                "message": _("Retry started; its result appears as a new row in the Sync Log."),
                "type": "info",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    @api.model
    def _record(self, operation, status, message, **values):
        """Write one log row whatever the caller's rights: logging must never fail the caller."""
        values.setdefault("end", fields.Datetime.now())
        return self.sudo().create(
            {
                "operation": operation,
                "status": status,
                "message": message,
                **values,
            }
        )

    def _resolved_failures(self):
        """Failed rows whose failure is over: a later pull succeeded, the entry was applied,
        the webhook event was applied, or the row was a refusal with nothing to retry."""
        Entry = self.env["jibble.time.entry"].sudo()
        Event = self.env["jibble.webhook.event"].sudo()
        last_success = self.search(
            [("operation", "=", "pull"), ("status", "=", "success")], limit=1
        ).start
        applied_entries = set(
            Entry.search(
                [
                    ("entry_id", "in", self.mapped("jibble_entry_id")),
                    ("state", "in", ("applied", "ignored")),
                ]
            ).mapped("entry_id")
        )
        done_events = set(
            Event.search(
                [
                    ("event_id", "in", self.mapped("jibble_event_id")),
                    ("state", "=", "done"),
                ]
            ).mapped("event_id")
        )
        return self.filtered(
            lambda log: (
                (log.operation == "pull" and last_success and log.start < last_success)
                or (log.operation == "apply" and log.jibble_entry_id in applied_entries)
                or (
                    log.operation == "webhook"
                    and (not log.jibble_event_id or log.jibble_event_id in done_events)
                )
                or log.operation in ("match", "connection_test")
            )
        )

    @api.model
    def _cron_purge(self):
        """Remove log rows and applied webhook events older than the retention, in batches;
        failures that are not resolved yet stay until they are."""
        days = int(
            self.env["ir.config_parameter"].sudo().get_param("jibble_connector.log_retention_days")
            or 90
        )
        cutoff = fields.Datetime.now() - timedelta(days=days)
        old = self.sudo().search([("start", "<", cutoff)], order="id", limit=PURGE_BATCH)
        failed = old.filtered(lambda log: log.status == "failed")
        purge = (old - failed) | failed._resolved_failures()
        purge.unlink()
        events = (
            self.env["jibble.webhook.event"]
            .sudo()
            .search([("received_at", "<", cutoff), ("state", "=", "done")], limit=PURGE_BATCH)
        )
        events.unlink()
        more = len(old) == PURGE_BATCH or len(events) == PURGE_BATCH
        self.env["ir.cron"]._notify_progress(
            done=len(purge) + len(events), remaining=PURGE_BATCH if more else 0
        )
        return len(purge) + len(events)
