from odoo import _, api, fields, models


class HrEmployee(models.Model):
    _inherit = "hr.employee"

    jibble_user_id = fields.Char(
        string="Jibble Person ID",
        copy=False,
        index="btree_not_null",
        tracking=True,
        groups="hr.group_hr_user",
        help="Id of the Jibble person whose time entries become this employee's attendances.",
    )
    jibble_email = fields.Char(
        copy=False,
        groups="hr.group_hr_user",
        help="Email of the Jibble person, used to link the employee when no id is set.",
    )
    jibble_sync_enabled = fields.Boolean(
        string="Sync with Jibble",
        default=True,
        tracking=True,
        groups="hr.group_hr_user",
        help="When off, Jibble entries of this employee are kept but not turned into attendances.",
    )
    last_jibble_sync = fields.Datetime(
        copy=False,
        readonly=True,
        groups="hr.group_hr_user",
    )
    jibble_linked = fields.Boolean(
        compute="_compute_jibble_linked",
        search="_search_jibble_linked",
        groups="hr.group_hr_user",
    )
    jibble_attendance_count = fields.Integer(
        compute="_compute_jibble_counts",
        groups="hr_attendance.group_hr_attendance_officer",
    )
    jibble_log_count = fields.Integer(
        compute="_compute_jibble_counts",
        groups="hr_attendance.group_hr_attendance_officer",
    )

    _sql_constraints = [
        (
            "jibble_user_id_unique",
            "UNIQUE(jibble_user_id)",
            "This Jibble person is already linked to another employee.",
        ),
    ]

    @api.depends("jibble_user_id")
    def _compute_jibble_linked(self):
        for employee in self:
            employee.jibble_linked = bool(employee.jibble_user_id)

    def _search_jibble_linked(self, operator, value):
        if operator not in ("=", "!="):
            return NotImplemented
        linked = (operator == "=") == bool(value)
        return [("jibble_user_id", "!=" if linked else "=", False)]

    def _compute_jibble_counts(self):
        attendance_counts = dict(
            self.env["hr.attendance"]._read_group(
                [("employee_id", "in", self.ids), ("jibble_entry_id", "!=", False)],
                ["employee_id"],
                ["__count"],
            )
        )
        log_counts = dict(
            self.env["jibble.sync.log"]._read_group(
                [("employee_id", "in", self.ids)], ["employee_id"], ["__count"]
            )
        )
        for employee in self:
            employee.jibble_attendance_count = attendance_counts.get(employee, 0)
            employee.jibble_log_count = log_counts.get(employee, 0)

    @api.model_create_multi
    def create(self, vals_list):
        employees = super().create(vals_list)
        employees._apply_waiting_jibble_entries()
        return employees

    def write(self, vals):
        result = super().write(vals)
        if vals.get("jibble_user_id") or vals.get("jibble_sync_enabled"):
            self._apply_waiting_jibble_entries()
        return result

    def _apply_waiting_jibble_entries(self):
        """Entries received before the employee was linked must not be lost: apply them now."""
        person_ids = [pid for pid in self.sudo().mapped("jibble_user_id") if pid]
        if person_ids:
            self.env["jibble.sync.service"].sudo()._apply_waiting_entries(person_ids)

    def action_view_jibble_attendances(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Jibble Attendances"),
            "res_model": "hr.attendance",
            "view_mode": "list,form",
            "domain": [("employee_id", "=", self.id), ("jibble_entry_id", "!=", False)],
        }

    def action_view_jibble_logs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "jibble_connector.action_jibble_sync_log"
        )
        action["domain"] = [("employee_id", "=", self.id)]
        action["context"] = {}
        return action
