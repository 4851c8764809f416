from odoo import fields, models

SYNC_STATUSES = [
    ("synced", "Synced"),
    ("conflict", "Conflict"),
    ("error", "Error"),
]


class HrAttendance(models.Model):
    _inherit = "hr.attendance"

    jibble_entry_id = fields.Char(
        string="Jibble Clock-in Entry",
        copy=False,
        index="btree_not_null",
        readonly=True,
        help="Id of the Jibble 'In' entry this attendance was created from.",
    )
    jibble_out_entry_id = fields.Char(
        string="Jibble Clock-out Entry",
        copy=False,
        index="btree_not_null",
        readonly=True,
        help="Id of the Jibble 'Out' entry that closed this attendance.",
    )
    jibble_activity = fields.Char(readonly=True)
    jibble_project = fields.Char(readonly=True)
    jibble_location = fields.Char(readonly=True)
    sync_status = fields.Selection(
        SYNC_STATUSES,
        string="Jibble Sync Status",
        copy=False,
        readonly=True,
        index="btree_not_null",
    )
    jibble_sync_message = fields.Char(
        copy=False,
        readonly=True,
        help="Why the last change from Jibble could not be applied as it came.",
    )

    _sql_constraints = [
        (
            "jibble_entry_id_unique",
            "UNIQUE(jibble_entry_id)",
            "This Jibble clock-in entry is already linked to another attendance.",
        ),
        (
            "jibble_out_entry_id_unique",
            "UNIQUE(jibble_out_entry_id)",
            "This Jibble clock-out entry is already linked to another attendance.",
        ),
    ]
