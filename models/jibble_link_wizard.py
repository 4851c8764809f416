from odoo import _, api, fields, models
from odoo.exceptions import UserError


class JibbleLinkWizard(models.TransientModel):
    """Link a Jibble person to an employee: their held entries become attendances at once."""

    _name = "jibble.link.wizard"
    _description = "Link a Jibble Person to an Employee"

    person_id = fields.Many2one("jibble.person", required=True, string="Jibble Person")
    person_email = fields.Char(related="person_id.email")
    person_code = fields.Char(related="person_id.code")
    held_entry_count = fields.Integer(related="person_id.held_entry_count")
    employee_id = fields.Many2one(
        "hr.employee", required=True, domain=[("jibble_user_id", "=", False)]
    )

    @api.model
    def default_get(self, fields_list):
        """From the People list, or from held entries (all of one person)."""
        values = super().default_get(fields_list)
        model, ids = self.env.context.get("active_model"), self.env.context.get("active_ids")
        if model == "jibble.time.entry" and ids:
            person_ids = set(self.env["jibble.time.entry"].browse(ids).mapped("person_id"))
            if len(person_ids) > 1:
                raise UserError(_("Select the entries of one Jibble person at a time."))
            values["person_id"] = self.env["jibble.person"].sudo()._ensure(person_ids).id
        elif model == "jibble.person" and ids:
            if len(ids) > 1:
                raise UserError(_("Link one Jibble person at a time."))
            values["person_id"] = ids[0]
        return values

    def action_link(self):
        self.ensure_one()
        self.env["jibble.sync.log"]._check_manager()
        if self.employee_id.sudo().jibble_user_id:
            raise UserError(_("%s is already linked to a Jibble person.", self.employee_id.name))
        # Entry point: a manager's button; writing the link applies the held entries.
        self.employee_id.sudo().write(
            {"jibble_user_id": self.person_id.person_id, "jibble_email": self.person_id.email}
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Jibble"),
                "message": _(
                    "%(person)s is linked to %(employee)s; their held entries were applied.",
                    person=self.person_id.name or self.person_id.person_id,
                    employee=self.employee_id.name,
                ),
                "type": "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
