from dataclasses import dataclass, field

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..jibble.planning import Attendance as PlannedAttendance

SYNC_STATUSES = [
    ("synced", "Synced"),
    ("conflict", "Conflict"),
    ("error", "Error"),
]
JIBBLE_MODE = [("jibble", "Jibble")]


@dataclass
class Execution:
    """What carrying out plans did: counts for the log and the changes Odoo refused."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    attendance_of: dict = field(default_factory=dict)  # interval start entry id -> attendance
    refused: list = field(default_factory=list)  # (person id, change, reason)


class HrAttendance(models.Model):
    _inherit = "hr.attendance"

    in_mode = fields.Selection(selection_add=JIBBLE_MODE, ondelete={"jibble": "set default"})
    out_mode = fields.Selection(selection_add=JIBBLE_MODE, ondelete={"jibble": "set default"})
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
        help="Id of the Jibble entry that closed this attendance: an 'Out', a break start, "
        "or the 'In' of the next activity.",
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

    # From Jibble's entries

    @api.model
    def _jibble_interval_values(self, interval, entries_by_id, employee):
        """The attendance values of one planned interval: the hook to map more of Jibble."""
        start = entries_by_id[interval.start.entry_id]
        end = entries_by_id[interval.end.entry_id] if interval.end else None
        return {
            "employee_id": employee.id,
            "check_in": start.time,
            "check_out": end.time if end else False,
            "jibble_entry_id": start.entry_id,
            "jibble_out_entry_id": end.entry_id if end else False,
            "jibble_activity": start.activity or False,
            "jibble_project": start.project or False,
            "jibble_location": start.location or False,
            "in_mode": "jibble",
            "out_mode": "auto_check_out" if interval.closed_by_jibble else "jibble",
            "in_latitude": start.latitude,
            "in_longitude": start.longitude,
            "out_latitude": end.latitude if end else 0.0,
            "out_longitude": end.longitude if end else 0.0,
            "sync_status": "synced",
            "jibble_sync_message": False,
        }

    @api.model
    def _jibble_existing(self, entry_ids):
        """Attendances opened by these entries, as planning sees them, and by id."""
        attendances = self.search([("jibble_entry_id", "in", list(entry_ids))])
        return (
            {a.jibble_entry_id: PlannedAttendance(a.id, a.jibble_entry_id) for a in attendances},
            {a.id: a for a in attendances},
        )

    def _jibble_changes(self, values):
        self.ensure_one()
        changes = {}
        for name, value in values.items():
            field_ = self._fields[name]
            current = self[name]
            if name == "employee_id":
                current = current.id
                wanted = value
            else:
                wanted = field_.convert_to_record(field_.convert_to_cache(value, self), self)
            if wanted != current:
                changes[name] = value
        return changes

    @api.model
    def _jibble_execute(self, changes):
        """Carry out attendance changes: [("unlink", attendance) | ("update", attendance,
        values) | ("create", values)]. Removals first and clock-out ids released before they
        are given again, so that the unique clock-out id never sees two holders.

        Raises what Odoo's own rules raise (ValidationError, IntegrityError); callers run
        this in a savepoint.
        """
        execution = Execution()
        Attendance = self
        removed = Attendance.union(*(change[1] for change in changes if change[0] == "unlink"))
        if removed:
            removed.unlink()
            execution.deleted += len(removed)
        updates = [change for change in changes if change[0] == "update"]
        releasing = Attendance.union(
            *(attendance for _op, attendance, values in updates if "jibble_out_entry_id" in values)
        )
        if releasing:
            # The ORM keeps writes pending and merges them: without this flush the release
            # would never reach the database before the id is given to another row.
            releasing.write({"jibble_out_entry_id": False})
            releasing.flush_recordset(["jibble_out_entry_id"])
        for _op, attendance, values in sorted(updates, key=lambda change: change[1].check_in):
            attendance.write(values)
            execution.updated += 1
        creates = [change[1] for change in changes if change[0] == "create"]
        if creates:
            Attendance.flush_model(["jibble_entry_id", "jibble_out_entry_id"])
            execution.created += len(Attendance.create(creates))
        return execution

    @api.model
    def _jibble_try(self, changes):
        """Carry out changes in a savepoint; returns (Execution, None) or (None, refusal)."""
        try:
            with self.env.cr.savepoint():
                return self._jibble_execute(changes), None
        except (ValidationError, psycopg2.IntegrityError) as error:
            reason = error.args[0] if isinstance(error, ValidationError) else str(error)
            return None, reason.strip()[:250]
