import secrets

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

DEFAULT_TOKEN_URL = "https://identity.prod.jibble.io/connect/token"
DEFAULT_WORKSPACE_URL = "https://workspace.prod.jibble.io/v1"
DEFAULT_TIME_TRACKING_URL = "https://time-tracking.prod.jibble.io/v1"
DEFAULT_BATCH_HOURS = 168
CREDENTIAL_GROUP = "base.group_system"


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    jibble_sync_enabled = fields.Boolean(
        string="Jibble Sync", config_parameter="jibble_connector.sync_enabled"
    )
    jibble_client_id = fields.Char(
        string="API Key ID",
        config_parameter="jibble_connector.client_id",
        groups=CREDENTIAL_GROUP,
    )
    jibble_client_secret = fields.Char(string="API Key Secret", groups=CREDENTIAL_GROUP)
    jibble_webhook_secret = fields.Char(string="Webhook Secret", groups=CREDENTIAL_GROUP)
    jibble_secrets_encrypted = fields.Boolean(
        string="Secrets Encrypted",
        compute="_compute_jibble_secrets_encrypted",
        groups=CREDENTIAL_GROUP,
    )
    jibble_token_url = fields.Char(
        string="Token URL",
        config_parameter="jibble_connector.token_url",
        default=DEFAULT_TOKEN_URL,
    )
    jibble_workspace_url = fields.Char(
        string="Workspace API URL",
        config_parameter="jibble_connector.workspace_url",
        default=DEFAULT_WORKSPACE_URL,
    )
    jibble_time_tracking_url = fields.Char(
        string="Time Tracking API URL",
        config_parameter="jibble_connector.time_tracking_url",
        default=DEFAULT_TIME_TRACKING_URL,
    )
    jibble_sync_interval = fields.Integer(
        string="Sync Interval (minutes)",
        config_parameter="jibble_connector.sync_interval",
        default=15,
    )
    jibble_sync_start_date = fields.Datetime(
        string="Sync Start",
        config_parameter="jibble_connector.sync_start_date",
        help="The first pull reads Jibble time entries from this moment on.",
    )
    jibble_sync_overlap_hours = fields.Integer(
        string="Re-read Window (hours)",
        config_parameter="jibble_connector.sync_overlap_hours",
        default=48,
        help="Each pull reads this many hours before the last cursor again to catch late edits.",
    )
    jibble_sync_batch_hours = fields.Integer(
        string="Batch Size (hours)",
        config_parameter="jibble_connector.sync_batch_hours",
        default=DEFAULT_BATCH_HOURS,
        help="A pull works through Jibble time in slices of this many hours, committing each.",
    )
    jibble_auto_match_email = fields.Boolean(
        string="Match Employees by Email",
        config_parameter="jibble_connector.auto_match_email",
    )
    jibble_signature_tolerance = fields.Integer(
        string="Signature Tolerance (seconds)",
        config_parameter="jibble_connector.signature_tolerance",
        default=300,
    )
    jibble_webhook_apply_mode = fields.Selection(
        [
            ("immediate", "On receipt"),
            ("queue", "In the background"),
        ],
        string="Apply Webhook Events",
        config_parameter="jibble_connector.webhook_apply_mode",
        default="immediate",
        help="On receipt: the answer to Jibble waits until the attendance is written. In the "
        "background: the event is stored, answered at once (202) and applied by the inbox "
        "cron seconds later; for busy workspaces where clock-ins arrive in bursts.",
    )
    jibble_log_retention_days = fields.Integer(
        string="Keep Log Rows (days)",
        config_parameter="jibble_connector.log_retention_days",
        default=90,
        help="Older log rows and applied webhook events are removed; unresolved failures stay.",
    )
    jibble_webhook_url = fields.Char(string="Webhook URL", compute="_compute_jibble_webhook_url")
    jibble_last_sync = fields.Char(string="Last Sync", compute="_compute_jibble_last_sync")

    def _compute_jibble_last_sync(self):
        last = self.env["jibble.sync.log"].sudo().search([("operation", "=", "pull")], limit=1)
        summary = (
            _("Never")
            if not last
            else _(
                "%(when)s: %(status)s, %(received)s received, %(created)s created, "
                "%(updated)s updated, %(deleted)s deleted, %(failed)s failed",
                when=fields.Datetime.to_string(fields.Datetime.context_timestamp(self, last.start)),
                status=dict(last._fields["status"].selection)[last.status],
                received=last.received_count,
                created=last.created_count,
                updated=last.updated_count,
                deleted=last.deleted_count,
                failed=last.failed_count,
            )
        )
        for settings in self:
            settings.jibble_last_sync = summary

    @api.depends("company_id")
    def _compute_jibble_webhook_url(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for settings in self:
            settings.jibble_webhook_url = f"{base_url.rstrip('/')}/jibble/webhook"

    @api.constrains("jibble_sync_interval")
    def _check_jibble_sync_interval(self):
        for settings in self:
            if settings.jibble_sync_interval < 1:
                raise ValidationError(_("The Jibble sync interval must be at least one minute."))

    def _compute_jibble_secrets_encrypted(self):
        encrypts = self.env["jibble.sync.service"]._secret_box().encrypts
        for settings in self:
            settings.jibble_secrets_encrypted = encrypts

    @api.model
    def get_values(self):
        """Secrets are stored encrypted (see jibble/secret_box.py): shown to admins in clear."""
        values = super().get_values()
        if self.env.user.has_group(CREDENTIAL_GROUP):
            service = self.env["jibble.sync.service"]
            values["jibble_client_secret"] = service._secret("client_secret")
            values["jibble_webhook_secret"] = service._secret("webhook_secret")
        return values

    def set_values(self):
        result = super().set_values()
        if self.env.user.has_group(CREDENTIAL_GROUP):
            service = self.env["jibble.sync.service"]
            for name in ("client_secret", "webhook_secret"):
                if service._secret(name) != (self[f"jibble_{name}"] or False):
                    service._store_secret(name, self[f"jibble_{name}"])
        cron = self.env.ref("jibble_connector.ir_cron_jibble_sync", raise_if_not_found=False)
        if cron and cron.sudo().interval_number != self.jibble_sync_interval:
            cron.sudo().write(
                {"interval_number": self.jibble_sync_interval, "interval_type": "minutes"}
            )
        return result

    def action_generate_jibble_webhook_secret(self):
        """A secret long enough that guessing it is not an attack worth trying."""
        self.env["jibble.sync.service"]._store_secret("webhook_secret", secrets.token_urlsafe(32))
        return {"type": "ir.actions.client", "tag": "reload"}

    def action_rotate_jibble_secrets(self):
        """After changing jibble_encryption_key (old key kept as jibble_encryption_key_previous)."""
        count = self.env["jibble.sync.service"]._rotate_secrets()
        return self._jibble_notification(
            _("%s Jibble secrets re-encrypted with the current key.", count)
        )

    def _jibble_notification(self, message, ok=True, sticky=False):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Jibble"),
                "message": message,
                "type": "success" if ok else "danger",
                "sticky": sticky,
            },
        }

    def action_jibble_test_connection(self):
        ok, message = self.env["jibble.sync.service"]._test_connection()
        return self._jibble_notification(message, ok=ok, sticky=not ok)

    def action_jibble_sync_now(self):
        """Runs through the cron so a long pull never blocks the screen or a web worker."""
        self.env.ref("jibble_connector.ir_cron_jibble_sync").sudo()._trigger()
        return self._jibble_notification(
            _("Jibble sync started in the background; see the Jibble Sync Log for its result.")
        )

    def action_jibble_match_employees(self):
        linked, unmatched = self.env["jibble.sync.service"]._match_employees()
        message = _("%s employees linked to Jibble.", len(linked))
        if unmatched:
            message += " " + _("Still unmatched: %s.", ", ".join(unmatched[:20]))
        return self._jibble_notification(message, ok=True, sticky=bool(unmatched))
