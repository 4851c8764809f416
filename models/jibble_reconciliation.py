from collections import defaultdict
from datetime import timedelta

from odoo import _, api, fields, models

from ..jibble.entries import parse_duration

TOLERANCE_HOURS = 1 / 60


class JibbleReconciliation(models.Model):
    """Jibble's own tracked time against the Jibble attendances in Odoo, per person and day.

    Written at the end of each deep re-read (and re-sync of a period) for its days, so that
    anyone can prove Odoo matches Jibble before payroll, or see where it does not.
    """

    _name = "jibble.reconciliation"
    _description = "Jibble vs Odoo Hours"
    _order = "day desc, person_name, id"
    _rec_name = "person_name"

    person_id = fields.Char(string="Jibble Person", required=True, readonly=True, index=True)
    person_name = fields.Char(string="Person", readonly=True)
    employee_id = fields.Many2one("hr.employee", readonly=True, index=True)
    day = fields.Date(required=True, readonly=True, index=True)
    jibble_hours = fields.Float(readonly=True, digits=(16, 4))
    odoo_hours = fields.Float(readonly=True, digits=(16, 4))
    difference = fields.Float(readonly=True, digits=(16, 4), help="Odoo hours minus Jibble hours.")
    differs = fields.Boolean(
        readonly=True, index=True, help="The hours differ by more than a minute."
    )
    checked_at = fields.Datetime(readonly=True)

    @api.model
    def _reconcile(self, summary, first_day, last_day, person_ids=None):
        """Compare Jibble's TimesheetsSummary rows with Odoo for [first_day, last_day];
        returns the rows that differ. Breaks are not tracked time in Jibble; with paid breaks
        the breaks are taken out of Odoo's hours before comparing."""
        employees = self.env["hr.employee"]._jibble_employees(
            person_ids or self._people_with_entries(first_day, last_day)
        )
        employees = {pid: e for pid, e in employees.items() if e.jibble_sync_enabled}
        jibble = defaultdict(float)
        for row in summary:
            if not isinstance(row, dict) or row.get("personId") not in employees:
                continue
            for daily in row.get("daily") or ():
                try:
                    day = fields.Date.to_date(daily["date"][:10])
                    jibble[row["personId"], day] += parse_duration(daily["tracked"]) / 3600
                except (KeyError, TypeError, ValueError):
                    continue
        odoo = self._odoo_hours(first_day, last_day, list(employees))
        domain = [("day", ">=", first_day), ("day", "<=", last_day)]
        if person_ids:
            domain.append(("person_id", "in", list(person_ids)))
        self.search(domain).unlink()
        names = {
            person.person_id: person.name
            for person in self.env["jibble.person"].search([("person_id", "in", list(employees))])
        }
        now = fields.Datetime.now()
        values = []
        for person_id, day in sorted(set(jibble) | set(odoo)):
            if not first_day <= day <= last_day:
                continue
            difference = odoo.get((person_id, day), 0.0) - jibble.get((person_id, day), 0.0)
            employee = employees[person_id]
            values.append(
                {
                    "person_id": person_id,
                    "person_name": names.get(person_id) or employee.name,
                    "employee_id": employee.id,
                    "day": day,
                    "jibble_hours": jibble.get((person_id, day), 0.0),
                    "odoo_hours": odoo.get((person_id, day), 0.0),
                    "difference": difference,
                    "differs": abs(difference) > TOLERANCE_HOURS,
                    "checked_at": now,
                }
            )
        return self.create(values).filtered("differs")

    @api.model
    def _people_with_entries(self, first_day, last_day):
        self.env.cr.execute(
            "SELECT DISTINCT person_id FROM jibble_time_entry"
            " WHERE belongs_to_date BETWEEN %s AND %s",
            [first_day, last_day],
        )
        return [person_id for (person_id,) in self.env.cr.fetchall()]

    @api.model
    def _odoo_hours(self, first_day, last_day, person_ids):
        """Hours of each person's Jibble attendances, by the day Jibble counts their clock-in
        for (belongsToDate); an open attendance counts until now, as Jibble's does."""
        self.env["hr.attendance"].flush_model()
        self.env["jibble.time.entry"].flush_model()
        now = fields.Datetime.now()
        self.env.cr.execute(
            """
            SELECT e.person_id, e.belongs_to_date,
                   sum(extract(epoch FROM coalesce(a.check_out, %s) - a.check_in)) / 3600
              FROM hr_attendance a
              JOIN jibble_time_entry e ON e.entry_id = a.jibble_entry_id
             WHERE e.belongs_to_date BETWEEN %s AND %s AND e.person_id = ANY(%s)
             GROUP BY 1, 2
            """,
            [now, first_day, last_day, person_ids],
        )
        hours = {(person, day): total for person, day, total in self.env.cr.fetchall()}
        if self.env["jibble.config"]._param("paid_breaks"):
            for key, total in self._break_hours(first_day, last_day, person_ids, now).items():
                hours[key] = hours.get(key, 0.0) - total
        return hours

    @api.model
    def _break_hours(self, first_day, last_day, person_ids, now):
        self.env.cr.execute(
            """
            SELECT s.person_id, s.belongs_to_date,
                   sum(extract(epoch FROM coalesce((
                       SELECT min(b.time) FROM jibble_time_entry b
                        WHERE b.person_id = s.person_id AND b.break_id = s.break_id
                          AND b.entry_type = 'In' AND b.is_active AND b.time >= s.time
                   ), %s) - s.time)) / 3600
              FROM jibble_time_entry s
             WHERE s.entry_type = 'StartBreak' AND s.is_active AND s.is_overridden IS NOT TRUE
               AND s.belongs_to_date BETWEEN %s AND %s AND s.person_id = ANY(%s)
             GROUP BY 1, 2
            """,
            [now, first_day, last_day, person_ids],
        )
        return {(person, day): total for person, day, total in self.env.cr.fetchall()}

    @api.model
    def _log(self, differing, first_day, last_day, trigger):
        """One log row for a reconciliation: failed, naming each person-day that differs."""
        Log = self.env["jibble.sync.log"]
        if not differing:
            return Log._record(
                "reconcile",
                "success",
                _(
                    "Odoo matches Jibble's tracked time from %(first)s to %(last)s.",
                    first=first_day,
                    last=last_day,
                ),
                trigger=trigger,
            )
        lines = [
            f"{row.day} {row.person_name}: Jibble {row.jibble_hours:.2f} h, Odoo "
            f"{row.odoo_hours:.2f} h ({row.difference:+.2f} h)"
            for row in differing.sorted(lambda row: (row.day, row.person_name or ""))
        ]
        return Log._record(
            "reconcile",
            "failed",
            _(
                "%(count)s person-days differ between Jibble and Odoo from %(first)s to "
                "%(last)s: %(which)s",
                count=len(differing),
                first=first_day,
                last=last_day,
                which="; ".join(lines[:5]) + ("; ..." if len(lines) > 5 else ""),
            )[:1000],
            trigger=trigger,
            failed_count=len(differing),
            detail="\n".join(lines),
        )

    @api.model
    def _days_of(self, window_run):
        start = fields.Datetime.to_datetime(window_run["start"])
        end = fields.Datetime.to_datetime(window_run["end"])
        return start.date(), (end - timedelta(seconds=1)).date()
