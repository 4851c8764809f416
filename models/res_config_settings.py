from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

from ..jibble.secret_box import KEY_HELP, SecretKeyError
from .jibble_config import (
    DEFAULT_TIME_ATTENDANCE_URL,
    DEFAULT_TIME_TRACKING_URL,
    DEFAULT_TOKEN_URL,
    DEFAULT_WORKSPACE_URL,
)
from .jibble_pull_run import DEFAULT_BATCH_HOURS

CREDENTIAL_GROUP = "base.group_system"
SECRET_STATES = [
    ("unset", "Not set"),
    ("encrypted", "Stored encrypted"),
    ("clear", "Stored unencrypted"),
    ("unreadable", "Stored, but no configured key opens it"),
]


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
    # The secrets are write-only: typing one seals and stores it at once (the inverse); the
    # settings row and every answer to the browser only ever hold an empty value.
    jibble_client_secret = fields.Char(
        string="API Key Secret",
        compute="_compute_jibble_secret_inputs",
        inverse="_inverse_jibble_client_secret",
        groups=CREDENTIAL_GROUP,
    )
    jibble_webhook_secret = fields.Char(
        string="Webhook Secret",
        compute="_compute_jibble_secret_inputs",
        inverse="_inverse_jibble_webhook_secret",
        groups=CREDENTIAL_GROUP,
    )
    jibble_client_secret_state = fields.Selection(
        SECRET_STATES, compute="_compute_jibble_secret_states", groups=CREDENTIAL_GROUP
    )
    jibble_webhook_secret_state = fields.Selection(
        SECRET_STATES, compute="_compute_jibble_secret_states", groups=CREDENTIAL_GROUP
    )
    jibble_secrets_encrypted = fields.Boolean(
        string="Secrets Encrypted",
        compute="_compute_jibble_secret_states",
        groups=CREDENTIAL_GROUP,
    )
    jibble_key_problem = fields.Char(
        compute="_compute_jibble_secret_states", groups=CREDENTIAL_GROUP
    )
    jibble_key_help = fields.Char(compute="_compute_jibble_secret_states", groups=CREDENTIAL_GROUP)
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
    jibble_time_attendance_url = fields.Char(
        string="Time Attendance API URL",
        config_parameter="jibble_connector.time_attendance_url",
        default=DEFAULT_TIME_ATTENDANCE_URL,
    )
    jibble_sync_interval = fields.Integer(
        string="Catch-up Interval (minutes)",
        config_parameter="jibble_connector.sync_interval",
        default=15,
        help="How often the catch-up pull re-reads Jibble from its cursor (minus the re-read "
        "window), for late edits and archived entries.",
    )
    jibble_quick_sync = fields.Boolean(
        string="Quick Pull",
        config_parameter="jibble_connector.quick_sync",
        help="Also read the last minutes of Jibble every few minutes, so that clock-ins and "
        "clock-outs show in Odoo soon after they happen (Jibble sends no webhooks itself).",
    )
    jibble_quick_interval = fields.Integer(
        string="Quick Pull Interval (minutes)",
        config_parameter="jibble_connector.quick_interval",
        default=2,
    )
    jibble_deep_resync_days = fields.Integer(
        string="Re-check the Last N Days",
        config_parameter="jibble_connector.deep_resync_days",
        default=35,
        help="Every night the deep re-read reads these days of Jibble again, so that late "
        "corrections (a fixed clock-out before payroll, an archived entry) reach Odoo, and "
        "compares Jibble's tracked time with Odoo's hours.",
    )
    jibble_resync_max_days = fields.Integer(
        string="Longest Re-sync (days)",
        config_parameter="jibble_connector.resync_max_days",
        default=366,
        help="The longest period Re-sync a Period accepts at once.",
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
        help="Each catch-up pull reads this many hours before its cursor again, for late edits.",
    )
    jibble_sync_batch_hours = fields.Integer(
        string="Batch Size (hours)",
        config_parameter="jibble_connector.sync_batch_hours",
        default=DEFAULT_BATCH_HOURS,
        help="A pull works through Jibble time in slices of at most this many hours, and of as "
        "many entries as the cron worker's time limit allows at the pace of the last slice, "
        "committing each.",
    )
    jibble_paid_breaks = fields.Boolean(
        string="Paid Breaks",
        config_parameter="jibble_connector.paid_breaks",
        help="Keep one attendance across a Jibble break instead of ending it when the break "
        "starts and opening the next when it ends.",
    )
    jibble_quiet_chatter = fields.Boolean(
        string="Quiet Chatter",
        config_parameter="jibble_connector.quiet_chatter",
        help="Off (default): the attendances Jibble creates and changes get Odoo's usual chatter "
        "lines ('Attendance created', Check In and Check Out changes). On: they get none, "
        "which makes large pulls and each webhook markedly faster; the sync log still "
        "records every change.",
    )
    jibble_odoo_auto_check_out = fields.Boolean(
        string="Odoo's Automatic Check-Out Closes Jibble Attendances",
        config_parameter="jibble_connector.odoo_auto_check_out",
        help="Off (recommended): Jibble is the source of truth and closes forgotten days itself "
        "(AutoOut), so Odoo's automatic check-out leaves the attendances Jibble keeps open "
        "alone. On: Odoo closes them too; Jibble's real clock-out replaces Odoo's when it comes.",
    )
    jibble_auto_match_email = fields.Boolean(
        string="Match Employees by Email",
        config_parameter="jibble_connector.auto_match_email",
    )
    jibble_match_code = fields.Selection(
        [("barcode", "Badge ID"), ("identification_id", "Identification No")],
        string="Match Employees by Code",
        config_parameter="jibble_connector.match_code",
        help="Link a Jibble person whose code (the organization's employee code in Jibble) "
        "equals this field of an unlinked employee.",
    )
    jibble_signature_tolerance = fields.Integer(
        string="Signature Tolerance (seconds)",
        config_parameter="jibble_connector.signature_tolerance",
        default=300,
    )
    jibble_accept_unsigned_timestamps = fields.Boolean(
        string="Accept Events Without a Signed Timestamp",
        config_parameter="jibble_connector.accept_unsigned_timestamps",
        help="Off (recommended): a request must carry X-Jibble-Timestamp, signed with the "
        "body, so that a captured request cannot be replayed later.",
    )
    jibble_webhook_apply_mode = fields.Selection(
        [
            ("immediate", "On receipt"),
            ("queue", "In the background"),
        ],
        string="Apply Webhook Events",
        config_parameter="jibble_connector.webhook_apply_mode",
        default="immediate",
        help="On receipt: the answer to the sender waits until the attendance is written. In "
        "the background: the event is stored, answered at once (202) and applied by the inbox "
        "cron seconds later; for busy workspaces where clock-ins arrive in bursts.",
    )
    jibble_log_retention_days = fields.Integer(
        string="Keep Log Rows (days)",
        config_parameter="jibble_connector.log_retention_days",
        default=90,
        help="Older log rows and applied webhook events are removed; unresolved failures stay. "
        "Events older than this are refused, as their ids are no longer remembered.",
    )
    jibble_neutralized = fields.Boolean(compute="_compute_jibble_neutralized")
    jibble_webhook_url = fields.Char(string="Webhook URL", compute="_compute_jibble_webhook_url")
    jibble_last_sync = fields.Char(string="Last Sync", compute="_compute_jibble_last_sync")

    @api.depends()
    def _compute_jibble_secret_inputs(self):
        for settings in self:
            settings.jibble_client_secret = False
            settings.jibble_webhook_secret = False

    def _inverse_jibble_client_secret(self):
        self._store_typed_secret("jibble_client_secret", "client_secret")

    def _inverse_jibble_webhook_secret(self):
        self._store_typed_secret("jibble_webhook_secret", "webhook_secret")

    def _store_typed_secret(self, field_name, param):
        for settings in self:
            if settings[field_name]:
                self.env["jibble.config"]._store_secret(param, settings[field_name])
        self.invalidate_recordset([field_name])

    # The settings form opens with an onchange on a new record: a computed field without a
    # dependency keeps the empty value that call starts from, so these depend on company_id
    # (which has a default), as Odoo's own settings fields do.
    @api.depends("company_id")
    def _compute_jibble_secret_states(self):
        Config = self.env["jibble.config"]
        problem = Config._key_problem()
        try:
            encrypts = Config._secret_box().encrypts
        except SecretKeyError:
            encrypts = False
        for settings in self:
            settings.jibble_client_secret_state = Config._secret_state("client_secret")
            settings.jibble_webhook_secret_state = Config._secret_state("webhook_secret")
            settings.jibble_secrets_encrypted = encrypts
            settings.jibble_key_problem = problem
            settings.jibble_key_help = KEY_HELP

    @api.depends("company_id")
    def _compute_jibble_last_sync(self):
        # A summary for Settings, whose users may not read the log itself.
        last = (
            self.env["jibble.sync.log"]
            .sudo()
            .search([("operation", "in", ("pull", "quick_pull", "deep_pull"))], limit=1)
        )
        summary = (
            _("Never")
            if not last
            else _(
                "%(when)s (%(what)s, %(trigger)s): %(status)s, %(received)s received, "
                "%(created)s created, %(updated)s updated, %(deleted)s deleted, "
                "%(failed)s failed",
                when=fields.Datetime.to_string(fields.Datetime.context_timestamp(self, last.start)),
                what=dict(last._fields["operation"].selection)[last.operation],
                trigger=dict(last._fields["trigger"].selection)[last.trigger],
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
    def _compute_jibble_neutralized(self):
        neutralized = self.env["jibble.config"]._is_neutralized()
        for settings in self:
            settings.jibble_neutralized = neutralized

    @api.depends("company_id")
    def _compute_jibble_webhook_url(self):
        base_url = self.env["ir.config_parameter"].get_param("web.base.url", "")
        for settings in self:
            settings.jibble_webhook_url = f"{base_url.rstrip('/')}/jibble/webhook"

    @api.constrains("jibble_sync_interval", "jibble_quick_interval")
    def _check_jibble_intervals(self):
        for settings in self:
            if settings.jibble_sync_interval < 1 or settings.jibble_quick_interval < 1:
                raise ValidationError(_("Jibble pull intervals must be at least one minute."))

    @api.constrains("jibble_deep_resync_days", "jibble_resync_max_days")
    def _check_jibble_periods(self):
        for settings in self:
            if settings.jibble_deep_resync_days < 1 or settings.jibble_resync_max_days < 1:
                raise ValidationError(_("Jibble re-read periods must be at least one day."))

    def _check_jibble_credentials_right(self):
        """Public methods can be called over RPC on any recordset, even an empty one, by any
        user: those that change settings or secrets check the right themselves."""
        if not (self.env.su or self.env.user.has_group(CREDENTIAL_GROUP)):
            raise AccessError(_("Only system administrators can change the Jibble settings."))

    def set_values(self):
        # Checked before any module's part runs (Odoo checks only in `execute`): called over
        # RPC on an empty recordset, it would otherwise reset every setting as the superuser.
        self._check_jibble_credentials_right()
        result = super().set_values()
        for xmlid, interval, active in (
            ("jibble_connector.ir_cron_jibble_sync", self.jibble_sync_interval, True),
            (
                "jibble_connector.ir_cron_jibble_quick_sync",
                self.jibble_quick_interval,
                self.jibble_quick_sync,
            ),
        ):
            cron = self.env.ref(xmlid, raise_if_not_found=False)
            wanted = {"interval_number": interval, "interval_type": "minutes", "active": active}
            if cron and any(cron[name] != value for name, value in wanted.items()):
                cron.write(wanted)
        return result

    def action_clear_jibble_client_secret(self):
        self._check_jibble_credentials_right()
        self.env["jibble.config"]._store_secret("client_secret", False)
        return {"type": "ir.actions.client", "tag": "reload"}

    def action_clear_jibble_webhook_secret(self):
        self._check_jibble_credentials_right()
        self.env["jibble.config"]._store_secret("webhook_secret", False)
        return {"type": "ir.actions.client", "tag": "reload"}

    def action_rotate_jibble_secrets(self):
        """After changing jibble_encryption_key (old key kept as jibble_encryption_key_previous)."""
        self._check_jibble_credentials_right()
        count = self.env["jibble.config"]._rotate_secrets()
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
        self.env["jibble.sync.log"]._check_manager()
        ok, message = self.env["jibble.config"].sudo()._test_connection()
        return self._jibble_notification(message, ok=ok, sticky=not ok)

    def action_jibble_sync_now(self):
        """Runs through the cron so a long pull never blocks the screen or a web worker."""
        self.env["jibble.sync.log"]._check_manager()
        self.env.ref("jibble_connector.ir_cron_jibble_sync").sudo()._trigger()
        return self._jibble_notification(
            _("Jibble sync started in the background; see the Jibble Sync Log for its result.")
        )

    def action_jibble_match_employees(self):
        self.env["jibble.sync.log"]._check_manager()
        linked, unmatched = self.env["jibble.person"].sudo()._match_all()
        message = _("%s employees linked to Jibble.", len(linked))
        if unmatched:
            message += " " + _("Still unmatched: %s.", ", ".join(unmatched[:20]))
        return self._jibble_notification(message, ok=True, sticky=bool(unmatched))
