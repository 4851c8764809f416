from collections import defaultdict
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.tools import split_every

from ..jibble.planning import CONFLICT, IGNORED, EntryState, pair_entries, plan_person
from . import transaction
from .rows import update_rows

LAST_SYNC_RESOLUTION = timedelta(minutes=1)
# People applied together; the ORM's cache is dropped between groups, so that a batch of
# thousands of people needs the memory of one group, not of all of them.
PEOPLE_PER_GROUP = 250


class JibbleApply(models.AbstractModel):
    """Turn stored Jibble entries into attendances, person by person.

    For each affected person: load their entries from the clock-in before the change, plan
    (plain Python, jibble/planning.py), carry the plan out on hr.attendance, and record what
    happened to each entry. Callers hold the people's locks (models/transaction.py).
    """

    _name = "jibble.apply"
    _description = "Apply Jibble Entries"

    @api.model
    def _apply_people(self, since_by_person, trigger, hold_open=False):
        """Re-plan every person from their clock-in before `since`; returns log counts.

        `hold_open`: more pull batches follow, so intervals still open are left pending
        (jibble/planning.py, `plan_person`)."""
        counts = defaultdict(int)
        if not since_by_person:
            return counts
        Entry = self.env["jibble.time.entry"]
        employees = self.env["hr.employee"]._jibble_employees(since_by_person)
        waiting = {}
        for person_id in since_by_person:
            employee = employees.get(person_id)
            if not employee:
                waiting[person_id] = (
                    "unmatched",
                    _("No employee is linked to this Jibble person."),
                )
            elif not employee.jibble_sync_enabled:
                waiting[person_id] = ("disabled", _("Jibble sync is off for %s.", employee.name))
        if waiting:
            held = Entry.search(
                [
                    ("person_id", "in", list(waiting)),
                    ("state", "in", ("pending", "unmatched", "disabled")),
                ]
            )
            counts["skipped"] += len(held.filtered(lambda entry: entry.state == "pending"))
            self._write_states({entry: waiting[entry.person_id] for entry in held})
        active = [pid for pid in since_by_person if pid not in waiting]
        for number, group in enumerate(split_every(PEOPLE_PER_GROUP, active)):
            if number:
                self.env.flush_all()
                self.env.invalidate_all()
            people = {pid: since_by_person[pid] for pid in group}
            self._apply_group(people, employees, trigger, hold_open, counts)
        return counts

    @api.model
    def _apply_group(self, active, employees, trigger, hold_open, counts):
        """Plan and carry out these people's changes, then record each entry's outcome."""
        Entry = self.env["jibble.time.entry"]
        paid_breaks = bool(self.env["jibble.config"]._param("paid_breaks"))
        entries_by_person = Entry._load_for_planning(active, paid_breaks)
        existing, attendances = self.env["hr.attendance"]._jibble_existing(
            entry.entry_id for entries in entries_by_person.values() for entry in entries
        )
        work, worked = {}, {}
        for person_id, entries in entries_by_person.items():
            plan = plan_person(
                [entry._planning_view() for entry in entries],
                [existing[e.entry_id] for e in entries if e.entry_id in existing],
                paid_breaks,
                hold_open,
            )
            changes, worked[employees[person_id]] = self._changes(
                plan, entries, attendances, employees[person_id]
            )
            work[person_id] = (plan, changes)
        for absence in self.env["hr.attendance"]._jibble_absences_worked(worked):
            work[absence.employee_id.jibble_user_id][1].insert(0, ("unlink", absence))
        attendance_of = self._execute(work, entries_by_person, employees, trigger, counts)
        outcomes = {}
        for person_id, (plan, _changes) in work.items():
            outcomes.update(
                self._outcomes(
                    plan, entries_by_person[person_id], employees[person_id], attendance_of, trigger
                )
            )
        update_rows(Entry, outcomes)
        now = fields.Datetime.now()
        self.env["hr.employee"].union(*(employees[pid] for pid in work)).filtered(
            lambda e: not e.last_jibble_sync or e.last_jibble_sync < now - LAST_SYNC_RESOLUTION
        ).write({"last_jibble_sync": now})

    @api.model
    def _changes(self, plan, entries, attendances, employee):
        """The plan as attendance changes (only the values that differ), and the values of
        every attendance the plan wants."""
        Attendance = self.env["hr.attendance"]
        entries_by_id = {entry.entry_id: entry for entry in entries}
        changes = [("unlink", attendances[attendance_id]) for attendance_id in plan.unlink]
        wanted = []
        for attendance_id, interval in plan.update:
            attendance = attendances[attendance_id]
            values = Attendance._jibble_interval_values(interval, entries_by_id, employee)
            wanted.append(values)
            differing = attendance._jibble_changes(values)
            if differing:
                changes.append(("update", attendance, differing))
        for interval in plan.create:
            values = Attendance._jibble_interval_values(interval, entries_by_id, employee)
            wanted.append(values)
            changes.append(("create", values))
        return changes, wanted

    @api.model
    def _execute(self, work, entries_by_person, employees, trigger, counts):
        """Everyone's changes at once; when Odoo refuses them, person by person, then change
        by change, so that only the changes that really collide are held back.

        Returns {interval start entry id: attendance} for the changes that were made.
        """
        Attendance = self.env["hr.attendance"]
        everything = [change for _plan, changes in work.values() for change in changes]
        done_parts, refused = [], []
        if everything:
            done, _reason = Attendance._jibble_try(everything)
            done_parts, refused = ([done], []) if done else self._execute_one_by_one(work)
        for part in done_parts:
            for name in ("created", "updated", "deleted"):
                counts[name] += getattr(part, name)
        for person_id, change, reason in refused:
            self._record_refusal(person_id, change, reason, work, employees, trigger, counts)
        in_ids = [entry.entry_id for entries in entries_by_person.values() for entry in entries]
        return {
            attendance.jibble_entry_id: attendance
            for attendance in Attendance.search([("jibble_entry_id", "in", in_ids)])
        }

    @api.model
    def _execute_one_by_one(self, work):
        """Person by person (their updates in time order, then latest first), and change by
        change for a person whose changes Odoo refuses either way."""
        Attendance = self.env["hr.attendance"]
        executions, refused = [], []
        for person_id, (_plan, changes) in work.items():
            done, _reason = Attendance._jibble_try(changes)
            if not done:
                done, _reason = Attendance._jibble_try(changes, latest_first=True)
            if done:
                executions.append(done)
                continue
            for change in changes:
                single, reason = Attendance._jibble_try([change])
                if single:
                    executions.append(single)
                else:
                    refused.append((person_id, change, reason))
        return executions, refused

    @api.model
    def _record_refusal(self, person_id, change, reason, work, employees, trigger, counts):
        """Mark what Odoo refused, and log it once: a conflict already reported stays quiet
        until it changes or is resolved."""
        plan, _changes = work[person_id]
        operation, target = change[0], change[1]
        if operation == "create":
            entry_id, attendance = target["jibble_entry_id"], self.env["hr.attendance"]
        else:
            entry_id, attendance = target.jibble_entry_id, target
            target.write(
                {
                    "sync_status": "conflict" if operation == "update" else "error",
                    "jibble_sync_message": reason,
                }
            )
        plan.states[entry_id] = EntryState(CONFLICT, reason)
        entry = self.env["jibble.time.entry"].search([("entry_id", "=", entry_id)])
        if entry and (entry.state, entry.state_message) == ("conflict", reason):
            return
        counts["failed"] += 1
        self.env["jibble.sync.log"]._record(
            "apply",
            "failed",
            _(
                "Jibble entry %(entry)s collides with an existing attendance: %(reason)s",
                entry=entry_id,
                reason=reason,
            ),
            jibble_entry_id=entry_id,
            attendance_id=attendance.id or False,
            employee_id=employees[person_id].id,
            trigger=trigger,
            detail=reason,
        )

    @api.model
    def _outcomes(self, plan, entries, employee, attendance_of, trigger):
        """{entry id: its state, employee and attendance after planning} for the entries
        whose outcome changed; an entry of a type the connector does not know is logged the
        first time it is seen."""
        outcomes = {}
        for entry in entries:
            if entry.state == "invalid":
                continue
            outcome = plan.states.get(entry.entry_id)
            if entry.is_overridden:
                outcome = EntryState(IGNORED, _("Odoo's attendance was kept instead."))
            if outcome is None:
                continue
            attendance = (
                attendance_of.get(outcome.interval.start.entry_id) if outcome.interval else None
            )
            value = {
                "state": outcome.state,
                "state_message": outcome.message or False,
                "employee_id": employee.id,
                "attendance_id": attendance.id if attendance else False,
            }
            current = {
                "state": entry.state,
                "state_message": entry.state_message or False,
                "employee_id": entry.employee_id.id,
                "attendance_id": entry.attendance_id.id,
            }
            if current == value:
                continue
            outcomes[entry.id] = value
            if outcome.state == IGNORED and entry.is_active:
                self.env["jibble.sync.log"]._record(
                    "apply",
                    "skipped",
                    outcome.message,
                    jibble_entry_id=entry.entry_id,
                    employee_id=employee.id,
                    trigger=trigger,
                )
        return outcomes

    @api.model
    def _write_states(self, states):
        """States of held entries, one write per distinct state."""
        grouped = defaultdict(list)
        for entry, (state, message) in states.items():
            if (entry.state, entry.state_message or False) != (state, message):
                grouped[(state, message)].append(entry.id)
        Entry = self.env["jibble.time.entry"]
        for (state, message), ids in grouped.items():
            Entry.browse(ids).write({"state": state, "state_message": message})

    @api.model
    def _resolve(self, entries, keep):
        """Resolve conflicts with Odoo's own attendances, in the user's transaction: keep
        Jibble's (the Odoo attendances the entries' intervals overlap are removed) or keep
        Odoo's (the intervals' entries are overridden)."""
        since = {}
        for entry in entries.filtered("time"):
            since[entry.person_id] = min(entry.time, since.get(entry.person_id, entry.time))
        transaction.start_unit(self.env, since, commit=False)
        employees = self.env["hr.employee"]._jibble_employees(since)
        paid_breaks = bool(self.env["jibble.config"]._param("paid_breaks"))
        loaded = self.env["jibble.time.entry"]._load_for_planning(since, paid_breaks)
        chosen = set(entries.mapped("entry_id"))
        for person_id, person_entries in loaded.items():
            intervals, _states = pair_entries(
                [entry._planning_view() for entry in person_entries], paid_breaks
            )
            touched = [
                interval
                for interval in intervals
                if interval.start.entry_id in chosen
                or (interval.end and interval.end.entry_id in chosen)
            ]
            if keep == "odoo":
                ids = {i.start.entry_id for i in touched} | {
                    i.end.entry_id for i in touched if i.end
                }
                person_entries.filtered(lambda e, ids=ids: e.entry_id in ids | chosen).write(
                    {"is_overridden": True}
                )
            elif person_id in employees:
                self._remove_overlapped(employees[person_id], touched)
        counts = self._apply_people(since, "manual")
        self.env["jibble.sync.log"]._record(
            "apply",
            "partial" if counts["failed"] else "success",
            _("Conflicts resolved by keeping Jibble's attendances.")
            if keep == "jibble"
            else _("Conflicts resolved by keeping Odoo's attendances."),
            trigger="manual",
            received_count=len(entries),
            **{f"{name}_count": counts.get(name, 0) for name in ("created", "updated", "deleted")},
        )

    @api.model
    def _remove_overlapped(self, employee, intervals):
        """Remove the employee's Odoo attendances (not from Jibble) these intervals overlap."""
        if not intervals:
            return
        now = fields.Datetime.now()
        odoo_attendances = self.env["hr.attendance"].search(
            [
                ("employee_id", "=", employee.id),
                ("jibble_entry_id", "=", False),
                ("check_in", "<", max(i.end.time if i.end else now for i in intervals)),
                "|",
                ("check_out", "=", False),
                ("check_out", ">", min(i.start.time for i in intervals)),
            ]
        )
        overlapped = odoo_attendances.filtered(
            lambda attendance: any(
                attendance.check_in < (interval.end.time if interval.end else now)
                and (attendance.check_out or now) > interval.start.time
                for interval in intervals
            )
        )
        if overlapped:
            self.env["jibble.sync.log"]._record(
                "apply",
                "success",
                _(
                    "Removed %(count)s Odoo attendances of %(employee)s to keep Jibble's.",
                    count=len(overlapped),
                    employee=employee.name,
                ),
                employee_id=employee.id,
                trigger="manual",
                detail="\n".join(
                    f"{a.check_in} - {a.check_out or ''} ({a.in_mode})" for a in overlapped
                ),
            )
            overlapped.unlink()
