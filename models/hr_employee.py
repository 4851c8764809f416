from collections import defaultdict

from odoo import _, api, fields, models

# Settings value of "Match employees by code" -> the employee field Jibble's code is compared to.
CODE_FIELDS = {"barcode": "barcode", "identification_id": "identification_id"}
# What applying entries reads of an employee: fetching only these keeps hr.employee's many
# other fields (and their access checks) out of every webhook.
SYNC_FIELDS = ["jibble_user_id", "jibble_sync_enabled", "last_jibble_sync", "name"]


def normalize(text):
    return (text or "").strip().lower()


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
        if self.env.context.get("jibble_no_apply"):
            return
        # Entry point: an HR user saved employees; applying writes what they may not.
        elevated = self.sudo()
        person_ids = [pid for pid in elevated.mapped("jibble_user_id") if pid]
        if person_ids:
            elevated.env["jibble.sync.service"]._apply_held(person_ids, "employee")

    # Linking Jibble people

    @api.model
    def _jibble_employees(self, person_ids):
        """The employee linked to each Jibble person, archived ones included."""
        employees = self.with_context(active_test=False).search_fetch(
            [("jibble_user_id", "in", list(person_ids))], SYNC_FIELDS
        )
        return {employee.jibble_user_id: employee for employee in employees}

    @api.model
    def _jibble_link_people(self, people, by_email, by_code):
        """Link unlinked employees to Jibble people (jibble.person rows), returns
        ({person id: employee}, [sentences about people that could not be linked]).

        By email (`jibble_email`, then work email) and then by code (the employee field
        `by_code` names); a person Jibble removed is not linked anew. A match shared by two
        employees is refused: guessing would put one person's hours on another's attendance.
        """
        people = people.filtered(lambda person: person.status != "Removed")
        linked_ids = set(self._jibble_employees(people.mapped("person_id")))
        people = people.filtered(lambda person: person.person_id not in linked_ids)
        code_field = CODE_FIELDS.get(by_code)
        if not people or not (by_email or code_field):
            return {}, []
        Employee = self
        candidates = Employee.search([("jibble_user_id", "=", False)])
        indexes = []
        if by_email:
            indexes += [
                ("email", _index(candidates, "jibble_email")),
                ("email", _index(candidates, "work_email")),
            ]
        if code_field:
            indexes.append(("code", _index(candidates, code_field)))
        linked, refused, taken = {}, [], Employee.browse()
        for person in people:
            for attribute, index in indexes:
                matches = index.get(normalize(person[attribute]), Employee) - taken
                if len(matches) == 1:
                    matches.with_context(jibble_no_apply=True).write(
                        {"jibble_user_id": person.person_id, "jibble_email": person.email}
                    )
                    linked[person.person_id] = matches
                    taken |= matches
                    break
                if len(matches) > 1:
                    refused.append(
                        _(
                            "%(count)s employees share the %(what)s %(value)s: link %(name)s "
                            "by hand (%(employees)s).",
                            count=len(matches),
                            what=attribute,
                            value=person[attribute],
                            name=person.name or person.person_id,
                            employees=", ".join(matches.mapped("name")),
                        )
                    )
                    break
        return linked, refused

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


def _index(employees, field_name):
    index = defaultdict(employees.browse)
    for employee in employees:
        key = normalize(employee[field_name])
        if key:
            index[key] |= employee
    return index
