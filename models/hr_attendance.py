from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

import psycopg2
import pytz

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.osv import expression
from odoo.tools import format_datetime, frozendict

from ..jibble.planning import Attendance as PlannedAttendance

SYNC_STATUSES = [
    ("synced", "Synced"),
    ("conflict", "Conflict"),
    ("error", "Error"),
]
JIBBLE_MODE = [("jibble", "Jibble")]
# While Odoo's automatic check-out looks for attendances to close: not those Jibble keeps open.
NOT_KEPT_OPEN_BY_JIBBLE = [
    "|",
    "|",
    ("jibble_entry_id", "=", False),
    ("check_out", "!=", False),
    ("employee_id.jibble_sync_enabled", "=", False),
]
OUT_FIELDS = ("check_out", "out_mode", "out_latitude", "out_longitude")
# What Odoo recomputes for every attendance of an employee on each change (`_update_overtime`).
OVERTIME_FIELDS = ("overtime_hours", "validated_overtime_hours", "expected_hours")
# Set while the connector carries out its changes: their overtime is worked out from the days
# they touch (see `_update_overtime` and `_compute_overtime_hours`).
TOUCHED_DAYS = "jibble_overtime_of_touched_days"
# Odoo 18's query in `_compute_overtime_hours`, bounded in time: every attendance of a local
# day lies within a day and a bit of each other, whatever the calendar's time zone.
OVERTIME_QUERY = """
    SELECT att.id, att.worked_hours, ot.id, ot.duration
      FROM hr_attendance att
      JOIN hr_employee employee ON employee.id = att.employee_id
      JOIN resource_calendar calendar ON calendar.id = employee.resource_calendar_id
      JOIN hr_attendance_overtime ot
        ON date_trunc('day', CAST(att.check_in AT TIME ZONE 'utc' AT TIME ZONE calendar.tz
                                  AS date)) = date_trunc('day', ot.date)
       AND att.employee_id = ot.employee_id
       AND ot.adjustment IS false
     WHERE att.employee_id IN %s
       AND att.check_in >= %s
       AND att.check_in < %s
     ORDER BY att.check_in DESC
"""
DAY_AND_A_BIT = timedelta(days=2)
# Set by the connector's `_update_overtime` around Odoo's: {employee id: (start, stop)}, the
# stretch of time in which the attendances of the days it recomputes lie (see `_search`).
OVERTIME_DAYS_BOUNDS = "jibble_overtime_days_bounds"


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
    # Both ids are indexed by their unique constraints: a second index on either would only
    # cost one more write per attendance.
    jibble_entry_id = fields.Char(
        string="Jibble Clock-in Entry",
        copy=False,
        readonly=True,
        help="Id of the Jibble 'In' entry this attendance was created from.",
    )
    jibble_out_entry_id = fields.Char(
        string="Jibble Clock-out Entry",
        copy=False,
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
        values = {
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
        Mapping = self.env["jibble.field.mapping"]
        for jibble_field, moment, field_name in Mapping._active_mappings():
            entry = start if moment == "in" else end
            value = Mapping._value_of(entry, jibble_field) if entry else False
            if self._fields[field_name].type in ("char", "text") and value not in (False, None):
                value = str(value)
            values[field_name] = value if value is not None else False
        return values

    @api.model
    def _jibble_existing(self, entry_ids):
        """Attendances opened by these entries, as planning sees them, and by id."""
        attendances = self.search([("jibble_entry_id", "in", list(entry_ids))])
        return (
            {a.jibble_entry_id: PlannedAttendance(a.id, a.jibble_entry_id) for a in attendances},
            {a.id: a for a in attendances},
        )

    def _jibble_changes(self, values):
        """The values that differ. An attendance Odoo's automatic check-out closed stays
        closed until Jibble's own clock-out arrives (Settings let Odoo close them)."""
        self.ensure_one()
        if not values.get("check_out") and self._closed_by_odoo():
            values = {name: value for name, value in values.items() if name not in OUT_FIELDS}
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
    def _jibble_execute(self, changes, latest_first=False):
        """Carry out attendance changes: [("unlink", attendance) | ("update", attendance,
        values) | ("create", values)]. Removals first and clock-out ids released before they
        are given again, so that the unique clock-out id never sees two holders. Updates go
        in time order, or `latest_first`: when a shift's end moves later with the start of
        the next, the next must move first, or Odoo sees them overlap in between.

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
        in_order = sorted(updates, key=lambda change: change[1].check_in, reverse=latest_first)
        for _op, planned, values in in_order:
            attendance = planned.with_env(self.env)
            replaces_odoo = attendance._closed_by_odoo() and values.get("jibble_out_entry_id")
            attendance.write(values)
            if replaces_odoo:
                attendance._note_jibble_check_out()
            execution.updated += 1
        creates = [change[1] for change in changes if change[0] == "create"]
        if creates:
            Attendance.flush_model(["jibble_entry_id", "jibble_out_entry_id"])
            execution.created += len(Attendance.create(creates))
        return execution

    @api.model
    def _jibble_try(self, changes, latest_first=False):
        """Carry out changes in a savepoint; returns (Execution, None) or (None, refusal)."""
        try:
            with self.env.cr.savepoint():
                connector = self.with_context(**{TOUCHED_DAYS: True})
                if self.env["jibble.config"]._param("quiet_chatter"):
                    # Odoo's documented switch: no creation line, no tracking lines.
                    connector = connector.with_context(tracking_disable=True)
                execution = connector._jibble_execute(changes, latest_first)
                # Odoo would recompute the overtime at its next flush, outside this context.
                connector.env.flush_all()
                return execution, None
        except (ValidationError, psycopg2.IntegrityError) as error:
            reason = error.args[0] if isinstance(error, ValidationError) else str(error)
            return None, reason.strip()[:250]

    def _update_overtime(self, employee_attendance_dates=None):
        """Odoo recomputes the overtime hours of every attendance of the employees a change
        touches, their whole history, on each change: a pull would cost more batch after
        batch, and a webhook more as the years pass. For the connector's changes only the
        attendances from the first day touched on are recomputed: an older day's overtime
        did not change, so neither did its attendances' (the values are those of Odoo's full
        recompute). What was already waiting to be recomputed is left as it was, and Odoo's
        reading of the days' attendances is bounded to them (`_bounded_to_overtime_days`)."""
        if not self.env.context.get(TOUCHED_DAYS):
            return super()._update_overtime(employee_attendance_dates)
        if employee_attendance_dates is None:
            employee_attendance_dates = self._get_attendances_dates()
        overtime_fields = [self._fields[name] for name in OVERTIME_FIELDS]
        waiting = {field: set(self.env.records_to_compute(field)._ids) for field in overtime_fields}
        bounds = frozendict(
            {
                employee.id: (
                    min(start for start, _day in days) - DAY_AND_A_BIT,
                    max(start for start, _day in days) + DAY_AND_A_BIT,
                )
                for employee, days in employee_attendance_dates.items()
                if days
            }
        )
        bounded = self.with_context(**{OVERTIME_DAYS_BOUNDS: bounds})
        result = super(HrAttendance, bounded)._update_overtime(employee_attendance_dates)
        day_starts = [start for days in employee_attendance_dates.values() for start, _day in days]
        if day_starts:
            touched = self.search(
                [
                    ("employee_id", "in", [employee.id for employee in employee_attendance_dates]),
                    ("check_in", ">=", min(day_starts)),
                ]
            )
            for field in overtime_fields:
                added = set(self.env.records_to_compute(field)._ids) - waiting[field]
                self.env.remove_to_compute(field, self.browse(added - set(touched.ids)))
        return result

    def _compute_overtime_hours(self):
        """Odoo 18's computation, whose query reads every attendance of the employees, their
        whole history, for each batch of attendances it computes: a pull would slow down and
        grow in memory as the database fills. For the connector's changes the query reads the
        days of these attendances only; an attendance's overtime depends on its own day's
        alone, so the values are Odoo's (`test_overtime_of_touched_days_equals_odoos_own`)."""
        if not self.env.context.get(TOUCHED_DAYS):
            return super()._compute_overtime_hours()
        check_ins = [attendance.check_in for attendance in self if attendance.check_in]
        if not self.employee_id or not check_ins:
            return super()._compute_overtime_hours()
        self.flush_model(["worked_hours", "check_in", "employee_id"])
        self.env["hr.attendance.overtime"].flush_model(["duration"])
        self.env.cr.execute(
            OVERTIME_QUERY,
            [
                tuple(self.employee_id.ids),
                min(check_ins) - DAY_AND_A_BIT,
                max(check_ins) + DAY_AND_A_BIT,
            ],
        )
        reservoirs, latest_first = {}, defaultdict(list)
        for attendance_id, worked_hours, overtime_id, duration in self.env.cr.fetchall():
            if worked_hours:
                reservoirs[overtime_id] = duration
                latest_first[overtime_id].append((attendance_id, worked_hours))
        normal_percent, negative = {}, {}
        for overtime_id, attendances in latest_first.items():
            reservoir = reservoirs[overtime_id]
            if reservoir < 0:
                negative[attendances[0][0]] = reservoir
                continue
            # The day's overtime is taken from its latest attendances first.
            for attendance_id, worked_hours in attendances:
                if reservoir <= 0:
                    normal_percent[attendance_id] = 100
                elif worked_hours < reservoir:
                    normal_percent[attendance_id] = 0
                    reservoir -= worked_hours
                else:
                    normal_percent[attendance_id] = (worked_hours - reservoir) / worked_hours * 100
                    reservoir = 0
        for attendance in self:
            if attendance.id in negative:
                attendance.overtime_hours = negative[attendance.id]
            else:
                share = normal_percent.get(attendance.id, 100)
                attendance.overtime_hours = attendance.worked_hours * ((100 - share) / 100)

    # Beside Odoo's own attendance features

    def action_jibble_keep_jibble(self):
        return self._jibble_in_entries().action_keep_jibble()

    def action_jibble_keep_odoo(self):
        return self._jibble_in_entries().action_keep_odoo()

    def _jibble_in_entries(self):
        return self.env["jibble.time.entry"].search(
            [("entry_id", "in", self.mapped("jibble_entry_id"))]
        )

    def _closed_by_odoo(self):
        """Closed by Odoo's automatic check-out, not by a Jibble entry."""
        return bool(
            self.check_out and self.out_mode == "auto_check_out" and not self.jibble_out_entry_id
        )

    def _note_jibble_check_out(self):
        tz = self.employee_id._get_tz()
        self.message_post(
            body=_(
                "Checked out in Jibble at %(time)s: this replaces the automatic check-out by Odoo.",
                time=format_datetime(self.env, self.check_out, tz=tz, dt_format="short"),
            )
        )

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None, **kwargs):
        if self.env.context.get("jibble_keep_open"):
            domain = expression.AND([domain, NOT_KEPT_OPEN_BY_JIBBLE])
        bounds = self.env.context.get(OVERTIME_DAYS_BOUNDS)
        if bounds and limit is None:
            domain = self._bounded_to_overtime_days(domain, bounds)
        return super()._search(domain, offset=offset, limit=limit, order=order, **kwargs)

    @api.model
    def _bounded_to_overtime_days(self, domain, bounds):
        """Odoo 18's `_update_overtime` means to read the employee's attendances of the days it
        recomputes, but `OR([[], day])` is the whole domain, so it reads every attendance the
        employee ever had, on each change, and works out the local day of each. Its search is
        the only one there that asks for an employee's attendances alone, with no limit:
        bounded to the stretch of those days, it finds the same attendances on them."""
        if len(domain) != 1 or not isinstance(domain[0], (list, tuple)):
            return domain
        name, operator, employee_id = domain[0]
        if (name, operator) != ("employee_id", "=") or employee_id not in bounds:
            return domain
        start, stop = bounds[employee_id]
        return [*domain, ("check_in", ">=", start), ("check_in", "<", stop)]

    def _cron_auto_check_out(self):
        """Jibble closes forgotten days itself (AutoOut): the attendances it keeps open are
        left alone, unless Settings let Odoo's automatic check-out close them too."""
        keep_open = not self.env["jibble.config"]._param("odoo_auto_check_out")
        return super(
            HrAttendance, self.with_context(jibble_keep_open=keep_open)
        )._cron_auto_check_out()

    @api.model
    def _jibble_absences_worked(self, values_by_employee):
        """Odoo's technical attendances (absence detection) on local days Jibble shows worked:
        a late pull or a backfill must not leave an employee both absent and present, nor
        collide with a night shift that crosses midnight."""
        instants = [
            instant
            for values_list in values_by_employee.values()
            for values in values_list
            for instant in (values["check_in"], values["check_out"])
            if instant
        ]
        if not instants:
            return self.browse()
        technical = self.search(
            [
                ("employee_id", "in", [employee.id for employee in values_by_employee]),
                ("in_mode", "=", "technical"),
                ("check_in", ">=", min(instants) - timedelta(days=1)),
                ("check_in", "<=", max(instants) + timedelta(days=1)),
            ]
        )
        if not technical:
            # Most days have none: spare reading every employee's time zone.
            return technical
        absent = technical.employee_id
        worked = {}
        for employee, values_list in values_by_employee.items():
            if employee not in absent:
                continue
            zone = pytz.timezone(employee._get_tz())
            worked[employee.id] = {
                _local_date(instant, zone) + timedelta(days=offset)
                for values in values_list
                for instant, offset in _local_days(values, zone)
            }
        return technical.filtered(
            lambda attendance: (
                _local_date(attendance.check_in, pytz.timezone(attendance.employee_id._get_tz()))
                in worked.get(attendance.employee_id.id, ())
            )
        )


def _local_date(instant, zone):
    return pytz.utc.localize(instant).astimezone(zone).date()


def _local_days(values, zone):
    """(check-in, n) for every local day an interval touches, n days after its first."""
    start = values["check_in"]
    end = values["check_out"] or start
    days = (_local_date(end, zone) - _local_date(start, zone)).days
    return [(start, offset) for offset in range(days + 1)]
