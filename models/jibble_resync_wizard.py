from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError


class JibbleResyncWizard(models.TransientModel):
    """Re-read a period of Jibble on demand, for corrections older than the deep re-read's."""

    _name = "jibble.resync.wizard"
    _description = "Re-sync a Period from Jibble"

    date_from = fields.Date(required=True, default=lambda self: self._default_from())
    date_to = fields.Date(required=True, default=fields.Date.context_today)
    employee_ids = fields.Many2many(
        "hr.employee",
        string="Employees",
        domain=[("jibble_user_id", "!=", False)],
        help="Only these employees' Jibble entries; all when empty.",
    )

    @api.model
    def _default_from(self):
        return fields.Date.context_today(self) - timedelta(days=7)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if self.env.context.get("active_model") == "hr.employee":
            values["employee_ids"] = [(6, 0, self.env.context.get("active_ids", []))]
        return values

    def action_resync(self):
        """Queue the period for the deep re-read cron and wake it: it runs in the background,
        in committed batches, and reports in the Sync Log what it changed."""
        self.ensure_one()
        self.env["jibble.sync.log"]._check_manager()
        if self.date_from > self.date_to:
            raise UserError(_("The period starts after it ends."))
        longest = self.env["jibble.config"].sudo()._int_param("resync_max_days", 366)
        if (self.date_to - self.date_from).days + 1 > longest:
            raise UserError(
                _(
                    "A re-sync covers at most %(days)s days; split the period or change the "
                    "limit in Settings.",
                    days=longest,
                )
            )
        # Entry point: a manager's button; the request and the cron are the connector's.
        elevated = self.sudo()
        person_ids = elevated.employee_ids.mapped("jibble_user_id")
        elevated.env["jibble.pull.run"]._request_period(
            self.date_from, self.date_to, person_ids, self.env.user.tz
        )
        elevated.env.ref("jibble_connector.ir_cron_jibble_deep_resync")._trigger()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Jibble"),
                "message": _(
                    "Re-sync of %(first)s to %(last)s started in the background; the Sync Log "
                    "shows what it changed.",
                    first=self.date_from,
                    last=self.date_to,
                ),
                "type": "info",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
