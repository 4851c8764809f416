from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError

MANAGER_GROUP = "jibble_connector.group_jibble_manager"
OPERATIONS = [
    ("pull", "Catch-up Pull"),
    ("quick_pull", "Quick Pull"),
    ("deep_pull", "Deep Re-read"),
    ("reconcile", "Reconciliation"),
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
    api_calls = fields.Integer(string="API Calls", readonly=True)
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
                log.operation in ("pull", "quick_pull", "deep_pull")
                or (log.operation == "webhook" and bool(log.jibble_event_id))
                or (log.operation == "apply" and bool(log.jibble_entry_id))
            )

    @api.model
    def _check_manager(self):
        """Every public method that changes something checks this itself: a view that hides
        a button does not stop a call over RPC."""
        user = self.env.user
        if not (
            self.env.su or user.has_group(MANAGER_GROUP) or user.has_group("base.group_system")
        ):
            raise AccessError(_("Only Jibble connector managers can do this."))

    def action_retry(self):
        """Do again what failed: pull again, re-apply a held webhook event or entry."""
        self._check_manager()
        # Entry point: a manager's button; retrying writes entries and attendances.
        retryable = self.sudo().filtered("can_retry")
        env = retryable.env
        if retryable.filtered(lambda log: log.operation in ("pull", "quick_pull")):
            env.ref("jibble_connector.ir_cron_jibble_sync")._trigger()
        if retryable.filtered(lambda log: log.operation == "deep_pull"):
            env.ref("jibble_connector.ir_cron_jibble_deep_resync")._trigger()
        events = env["jibble.webhook.event"].search(
            [
                ("event_id", "in", retryable.mapped("jibble_event_id")),
                ("state", "!=", "done"),
            ]
        )
        events._apply(commit=False)
        entry_ids = retryable.filtered(lambda log: log.operation == "apply").mapped(
            "jibble_entry_id"
        )
        entries = env["jibble.time.entry"].search([("entry_id", "in", entry_ids)])
        if entries:
            env["jibble.sync.service"]._apply_held(set(entries.mapped("person_id")), "manual")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Jibble"),
                "message": _("Retry done; its result appears as a new row in the Sync Log."),
                "type": "info",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    @api.model
    def _record(self, operation, status, message, **values):
        """Write one log row (callers run elevated: see the transaction policy)."""
        values.setdefault("end", fields.Datetime.now())
        return self.create(
            {
                "operation": operation,
                "status": status,
                "message": message,
                **values,
            }
        )

    @api.model
    def _purgeable_ids(self, cutoff):
        """Rows older than `cutoff` whose failure, if any, is over: a later pull of the same
        kind succeeded, the entry was applied, the event was applied, or there is nothing
        left to retry. Selected in SQL, so that unresolved failures never fill the batch."""
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT l.id FROM jibble_sync_log l
             WHERE l.start < %(cutoff)s
               AND (l.status != 'failed'
                    OR l.operation IN ('match', 'connection_test', 'reconcile')
                    OR (l.operation IN ('pull', 'quick_pull', 'deep_pull') AND EXISTS (
                        SELECT 1 FROM jibble_sync_log later
                         WHERE later.operation = l.operation AND later.status = 'success'
                           AND later.start > l.start))
                    OR (l.operation = 'apply' AND NOT EXISTS (
                        SELECT 1 FROM jibble_time_entry e
                         WHERE e.entry_id = l.jibble_entry_id
                           AND e.state NOT IN ('applied', 'ignored')))
                    OR (l.operation = 'webhook' AND NOT EXISTS (
                        SELECT 1 FROM jibble_webhook_event ev
                         WHERE ev.event_id = l.jibble_event_id AND ev.state != 'done')))
             ORDER BY l.id
             LIMIT %(limit)s
            """,
            {"cutoff": cutoff, "limit": PURGE_BATCH},
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _cron_purge(self):
        """Remove log rows and applied webhook events older than the retention, in batches;
        failures that are not resolved yet stay until they are."""
        days = self.env["jibble.config"]._int_param("log_retention_days", 90)
        cutoff = fields.Datetime.now() - timedelta(days=days)
        purge = self.browse(self._purgeable_ids(cutoff))
        purge.unlink()
        events = self.env["jibble.webhook.event"].search(
            [("received_at", "<", cutoff), ("state", "=", "done")], limit=PURGE_BATCH
        )
        events.unlink()
        more = len(purge) == PURGE_BATCH or len(events) == PURGE_BATCH
        self.env["ir.cron"]._notify_progress(
            done=len(purge) + len(events), remaining=PURGE_BATCH if more else 0
        )
        return len(purge) + len(events)
