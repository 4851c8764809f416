from odoo import fields, models

ENTRY_STATES = [
    ("pending", "Waiting to be applied"),
    ("applied", "Applied"),
    ("unmatched", "No linked employee"),
    ("disabled", "Employee sync disabled"),
    ("conflict", "Conflict"),
    ("ignored", "Ignored"),
]


class JibbleTimeEntry(models.Model):
    """Every Jibble time entry received, kept so that none is ever lost.

    Attendances are derived from these rows: an entry that cannot be applied yet (unknown
    person, conflict) stays here with its reason and is applied again when things change.
    """

    _name = "jibble.time.entry"
    _description = "Jibble Time Entry"
    _order = "time desc, id desc"
    _rec_name = "entry_id"

    entry_id = fields.Char(string="Jibble Entry", required=True, readonly=True, index=True)
    person_id = fields.Char(string="Jibble Person", required=True, readonly=True, index=True)
    employee_id = fields.Many2one("hr.employee", readonly=True, index="btree_not_null")
    entry_type = fields.Char(string="Type", required=True, readonly=True)
    time = fields.Datetime(required=True, readonly=True, index=True)
    belongs_to_date = fields.Date(readonly=True)
    is_active = fields.Boolean(
        string="Active in Jibble",
        default=True,
        readonly=True,
        help="Off once Jibble archived or deleted the entry.",
    )
    activity_id = fields.Char(string="Activity ID", readonly=True)
    project_id = fields.Char(string="Project ID", readonly=True)
    location_id = fields.Char(string="Location ID", readonly=True)
    activity = fields.Char(readonly=True)
    project = fields.Char(readonly=True)
    location = fields.Char(readonly=True)
    state = fields.Selection(
        ENTRY_STATES, default="pending", required=True, readonly=True, index=True
    )
    state_message = fields.Char(readonly=True)
    attendance_id = fields.Many2one("hr.attendance", readonly=True, ondelete="set null")
    observed_seq = fields.Integer(
        string="Observation",
        default=0,
        readonly=True,
        help="Order of the pull or webhook event that last changed this entry: news older "
        "than it (a slow pull, a retried event) does not overwrite it.",
    )

    _sql_constraints = [
        ("entry_id_unique", "UNIQUE(entry_id)", "A Jibble entry is stored once."),
    ]
