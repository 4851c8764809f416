import logging
import math
import time
from collections import defaultdict
from datetime import timedelta

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.modules import module as odoo_module
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import config

from ..jibble.client import (
    JibbleClient,
    JibbleConfig,
    JibbleError,
    parse_jibble_datetime,
)
from ..jibble.pairing import CLOCK_IN, Entry, pair_entries
from ..jibble.secret_box import SecretBox
from .res_config_settings import (
    DEFAULT_BATCH_HOURS,
    DEFAULT_TIME_TRACKING_URL,
    DEFAULT_TOKEN_URL,
    DEFAULT_WORKSPACE_URL,
)

_logger = logging.getLogger(__name__)

PARAM_PREFIX = "jibble_connector."
SYNC_LOCK_KEY = "jibble_connector.sync"
SECRET_PARAMS = ("client_secret", "webhook_secret")
PERSON_LOCK_PREFIX = "jibble_connector.person."
LAST_SYNC_RESOLUTION = timedelta(minutes=1)
CONFLICT_RETRY_DELAY = timedelta(seconds=30)
ENTRY_FIELDS = (
    "person_id",
    "entry_type",
    "time",
    "belongs_to_date",
    "is_active",
    "activity_id",
    "project_id",
    "location_id",
    "activity",
    "project",
    "location",
)

# What applying entries reads of an employee: fetching only these keeps hr.employee's many
# other fields (and their access checks) out of every webhook.
EMPLOYEE_SYNC_FIELDS = ["jibble_user_id", "jibble_sync_enabled", "last_jibble_sync", "name"]
NAMED_FIELDS = (
    ("activity_id", "activity"),
    ("project_id", "project"),
    ("location_id", "location"),
)


def event_person(data):
    """The person id of an event's entry, or None: a deletion may carry only the entry id."""
    person_id = data.get("personId")
    return person_id if isinstance(person_id, str) and person_id else None


def normalize_email(email):
    return (email or "").strip().lower()


class ApplyCounts:
    """What one apply pass did, added up into the run's log row."""

    def __init__(self):
        self.created = self.updated = self.deleted = self.skipped = self.failed = 0

    def add(self, other):
        for name in ("created", "updated", "deleted", "skipped", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_log_values(self):
        return {
            "created_count": self.created,
            "updated_count": self.updated,
            "deleted_count": self.deleted,
            "skipped_count": self.skipped,
            "failed_count": self.failed,
        }


class JibbleSyncService(models.AbstractModel):
    """The one place where Jibble time entries become attendances.

    The scheduled pull, the "Sync now" button, the webhook and employee linking all come here:
    entries are first stored (so none is lost), then applied per person by re-pairing the
    person's entries from the last clock-in before the earliest change.
    """

    _name = "jibble.sync.service"
    _description = "Jibble Sync Service"

    # Configuration

    @api.model
    def _param(self, name, default=None):
        return self.env["ir.config_parameter"].sudo().get_param(PARAM_PREFIX + name, default)

    @api.model
    def _set_param(self, name, value):
        self.env["ir.config_parameter"].sudo().set_param(PARAM_PREFIX + name, value)

    @api.model
    def _secret_box(self):
        return SecretBox(
            [
                config.get("jibble_encryption_key"),
                config.get("jibble_encryption_key_previous"),
            ]
        )

    @api.model
    def _secret(self, name):
        """A Jibble secret in clear, for the client or the signature check only."""
        return self._secret_box().open(self._param(name))

    @api.model
    def _store_secret(self, name, value):
        box = self._secret_box()
        if value and not box.encrypts:
            _logger.warning(
                "Jibble %s stored without encryption: set jibble_encryption_key in the Odoo "
                "server configuration to encrypt it.",
                name,
            )
        self._set_param(name, box.seal(value or False) or False)

    @api.model
    def _rotate_secrets(self):
        """Re-encrypt the stored secrets with the current key; returns how many were."""
        box = self._secret_box()
        rotated = 0
        for name in SECRET_PARAMS:
            stored = self._param(name)
            if stored:
                self._set_param(name, box.rotate(stored))
                rotated += 1
        return rotated

    @api.model
    def _client_config(self):
        missing = [
            label
            for label, name in (
                (_("API Key ID"), "client_id"),
                (_("API Key Secret"), "client_secret"),
            )
            if not self._param(name)
        ]
        if missing:
            raise UserError(_("Jibble is not configured: %s missing.", ", ".join(missing)))
        return JibbleConfig(
            client_id=self._param("client_id"),
            client_secret=self._secret("client_secret"),
            token_url=self._param("token_url") or DEFAULT_TOKEN_URL,
            workspace_url=self._param("workspace_url") or DEFAULT_WORKSPACE_URL,
            time_tracking_url=self._param("time_tracking_url") or DEFAULT_TIME_TRACKING_URL,
            max_retries=int(self._param("http_max_retries") or 4),
            backoff_factor=float(self._param("http_backoff_factor") or 0.5),
            read_timeout=float(self._param("http_read_timeout") or 30),
        )

    @api.model
    def _client(self):
        return JibbleClient(self._client_config())

    # Storing entries

    @api.model
    def _entry_values(self, raw, names):
        """Map one Jibble TimeEntry to jibble.time.entry values; raises ValueError if unusable."""
        for key in ("id", "personId", "type", "time"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise ValueError(f"time entry without a usable '{key}'")
        belongs_to_date = raw.get("belongsToDate")
        return {
            "entry_id": raw["id"],
            "person_id": raw["personId"],
            "entry_type": raw["type"][:32],
            "time": parse_jibble_datetime(raw["time"]),
            "belongs_to_date": fields.Date.to_date(belongs_to_date[:10])
            if belongs_to_date
            else False,
            "is_active": raw.get("status", "Active") != "Archived",
            "activity_id": raw.get("activityId") or False,
            "project_id": raw.get("projectId") or False,
            "location_id": raw.get("locationId") or False,
            "activity": names.get("Activities", {}).get(raw.get("activityId")) or False,
            "project": names.get("Projects", {}).get(raw.get("projectId")) or False,
            "location": names.get("Locations", {}).get(raw.get("locationId")) or False,
        }

    @api.model
    def _fill_known_names(self, values_list):
        """Webhooks carry activity, project and location ids without names: take the names
        from entries a pull already named, one query per kind of name."""
        Entry_ = self.env["jibble.time.entry"].sudo()
        for id_field, name_field in NAMED_FIELDS:
            unnamed = [
                values for values in values_list if values[id_field] and not values[name_field]
            ]
            if not unnamed:
                continue
            known = dict(
                Entry_._read_group(
                    [
                        (id_field, "in", list({values[id_field] for values in unnamed})),
                        (name_field, "!=", False),
                    ],
                    [id_field],
                    [f"{name_field}:max"],
                )
            )
            for values in unnamed:
                values[name_field] = known.get(values[id_field], False)

    @api.model
    def _next_observation(self):
        """A number taken before a pull reads Jibble and when a webhook event arrives.

        Pulls and webhooks about one entry can cross (a pull reads, an edit arrives by
        webhook, then the pull writes what it read); comparing these numbers lets the
        newer news win whatever order the transactions commit in.
        """
        sequence = self.env.ref("jibble_connector.seq_jibble_observation").sudo()
        return int(sequence.next_by_id())

    @api.model
    def _store_entries(self, values_list, observed):
        """Insert new entries and update changed ones, unless newer news already arrived.

        Returns {person_id: earliest affected instant}, old instants included, so that
        re-pairing starts early enough to undo what a moved or archived entry did.
        """
        Entry_ = self.env["jibble.time.entry"].sudo()
        by_id = {values["entry_id"]: values for values in values_list}
        existing = Entry_.search([("entry_id", "in", list(by_id))])
        affected = {}

        def touch(person_id, instant):
            if person_id not in affected or instant < affected[person_id]:
                affected[person_id] = instant

        for record in existing:
            values = by_id.pop(record.entry_id)
            if record.observed_seq > observed:
                names = {
                    name_field: values[name_field]
                    for id_field, name_field in NAMED_FIELDS
                    if values[name_field]
                    and not record[name_field]
                    and record[id_field] == values[id_field]
                }
                if names:
                    touch(record.person_id, record.time)
                    record.write({**names, "state": "pending", "state_message": False})
                continue
            changes = {
                name: values[name]
                for name in ENTRY_FIELDS
                if record[name] != values[name]
                and not (isinstance(record._fields[name], fields.Many2one))
            }
            if not changes:
                continue
            touch(record.person_id, record.time)
            touch(values["person_id"], values["time"])
            record.write(
                {**changes, "state": "pending", "state_message": False, "observed_seq": observed}
            )
        if by_id:
            Entry_.create([{**values, "observed_seq": observed} for values in by_id.values()])
            for values in by_id.values():
                touch(values["person_id"], values["time"])
        return affected

    @api.model
    def _mark_missing_entries(self, start, end, seen_entry_ids, observed):
        """Entries Jibble no longer lists in a window it answered in full were deleted there
        (those a webhook brought after the pull read the window are not: they are newer)."""
        missing = (
            self.env["jibble.time.entry"]
            .sudo()
            .search(
                [
                    ("time", ">=", start),
                    ("time", "<", end),
                    ("is_active", "=", True),
                    ("entry_id", "not in", list(seen_entry_ids)),
                    ("observed_seq", "<=", observed),
                ]
            )
        )
        affected = {}
        for entry in missing:
            affected[entry.person_id] = min(entry.time, affected.get(entry.person_id, entry.time))
        self._mark_deleted(missing, observed)
        return affected

    @api.model
    def _mark_deleted(self, entries, observed):
        """Jibble deleted or archived these entries: they stop counting at the next apply."""
        entries.write(
            {
                "is_active": False,
                "state": "pending",
                "state_message": False,
                "observed_seq": observed,
            }
        )

    # Employees

    @api.model
    def _employees_by_person(self, person_ids, trigger, load_people=None):
        """Linked employees per Jibble person; links new ones by email when that is enabled.

        `load_people` is called only when someone is not linked yet, so a run with every
        person known asks Jibble for no People list.
        """
        Employee = self.env["hr.employee"].sudo().with_context(active_test=False)
        employees = Employee.search_fetch(
            [("jibble_user_id", "in", list(person_ids))], EMPLOYEE_SYNC_FIELDS
        )
        result = {employee.jibble_user_id: employee for employee in employees}
        unlinked = {pid for pid in person_ids if pid not in result}
        if unlinked and load_people and self._param("auto_match_email"):
            people = [person for person in load_people() if person.get("id") in unlinked]
            result.update(self._match_people_by_email(people, trigger))
        return result

    @api.model
    def _match_people_by_email(self, people, trigger):
        """Link employees to Jibble people by email: jibble_email first, then work_email.

        An email shared by two employees is refused and logged: guessing would put one
        person's hours on another's attendance.
        """
        Employee = self.env["hr.employee"].sudo()
        candidates = Employee.search(
            [
                ("jibble_user_id", "=", False),
                "|",
                ("jibble_email", "!=", False),
                ("work_email", "!=", False),
            ]
        )
        by_jibble_email, by_work_email = defaultdict(Employee.browse), defaultdict(Employee.browse)
        for employee in candidates:
            by_jibble_email[normalize_email(employee.jibble_email)] |= employee
            by_work_email[normalize_email(employee.work_email)] |= employee
        linked, taken = {}, Employee.browse()
        for person in people:
            email = normalize_email(person.get("email"))
            if not email:
                continue
            matches = (by_jibble_email.get(email) or by_work_email.get(email) or Employee) - taken
            if len(matches) == 1:
                matches.with_context(jibble_no_apply=True).write(
                    {"jibble_user_id": person["id"], "jibble_email": person["email"]}
                )
                linked[person["id"]] = matches
                taken |= matches
            elif len(matches) > 1:
                self.env["jibble.sync.log"]._record(
                    "match",
                    "failed",
                    _(
                        "%(count)s employees share the email %(email)s: link %(name)s by hand.",
                        count=len(matches),
                        email=email,
                        name=person.get("fullName") or person["id"],
                    ),
                    trigger=trigger,
                    detail="Employees: " + ", ".join(matches.mapped("name")),
                )
        return linked

    # Applying entries

    @api.model
    def _load_entries_from_anchor(self, since_by_person):
        """Entries of each person from their last active clock-in before `since` onwards.

        Starting at that clock-in is what makes re-pairing exact without reading the
        person's whole history, so the work per change stays flat as data grows.
        """
        person_ids, instants = list(since_by_person), list(since_by_person.values())
        self.env["jibble.time.entry"].flush_model()
        self.env.cr.execute(
            """
            WITH anchors AS (
                SELECT p.person_id, COALESCE((
                    SELECT max(e.time) FROM jibble_time_entry e
                     WHERE e.person_id = p.person_id AND e.is_active
                       AND e.entry_type = %s AND e.time < p.since
                ), p.since) AS anchor
                FROM unnest(%s::varchar[], %s::timestamp[]) AS p(person_id, since)
            )
            SELECT e.person_id, array_agg(e.id) FROM jibble_time_entry e
              JOIN anchors a ON a.person_id = e.person_id AND e.time >= a.anchor
             GROUP BY e.person_id
            """,
            [CLOCK_IN, person_ids, instants],
        )
        Entries = self.env["jibble.time.entry"].sudo()
        grouped = dict(self.env.cr.fetchall())
        all_entries = Entries.browse(entry_id for ids in grouped.values() for entry_id in ids)
        all_entries.fetch([*ENTRY_FIELDS, "entry_id", "state", "state_message"])
        return {person_id: Entries.browse(ids) for person_id, ids in grouped.items()}

    @api.model
    def _plan_person(self, employee, entries, attendances_by_entry):
        """Compare what the entries say with the attendances there are; returns the changes."""
        entries_by_id = {entry.entry_id: entry for entry in entries}
        pairing = pair_entries(
            Entry(entry.entry_id, entry.entry_type, entry.time)
            for entry in entries
            if entry.is_active
        )
        plan = {"create": [], "write": [], "unlink": [], "states": {}}
        wanted = {interval.start.entry_id for interval in pairing.intervals}
        for entry_id, attendance in attendances_by_entry.items():
            if entry_id in entries_by_id and entry_id not in wanted:
                plan["unlink"].append(attendance)
        for entry in entries:
            if not entry.is_active:
                plan["states"][entry] = ("ignored", _("Archived or deleted in Jibble."))
        for ignored in pairing.ignored:
            plan["states"][entries_by_id[ignored.entry_id]] = (
                "ignored",
                _("Entry type %s is not a clock-in or clock-out.", ignored.entry_type),
            )
        for unpaired in pairing.unpaired_clock_outs:
            plan["states"][entries_by_id[unpaired.entry_id]] = (
                "conflict",
                _("Clock-out without a clock-in before it."),
            )
        for interval in pairing.intervals:
            start = entries_by_id[interval.start.entry_id]
            values = {
                "employee_id": employee.id,
                "check_in": start.time,
                "check_out": interval.check_out or False,
                "jibble_entry_id": start.entry_id,
                "jibble_out_entry_id": interval.end.entry_id if interval.end else False,
                "jibble_activity": start.activity or False,
                "jibble_project": start.project or False,
                "jibble_location": start.location or False,
                "sync_status": "synced",
                "jibble_sync_message": False,
            }
            attendance = attendances_by_entry.get(start.entry_id)
            plan["states"][start] = ("applied", False)
            if interval.end:
                plan["states"][entries_by_id[interval.end.entry_id]] = ("applied", False)
            if not attendance:
                plan["create"].append(values)
                continue
            changes = {
                name: value
                for name, value in values.items()
                if (attendance[name].id if name == "employee_id" else attendance[name] or False)
                != value
            }
            if changes:
                plan["write"].append((attendance, changes))
        return plan

    @api.model
    def _execute_plan(self, plan, counts):
        """Carry out a plan; Odoo's own attendance rules may refuse it (ValidationError)."""
        Attendance = self.env["hr.attendance"].sudo()
        unlink = Attendance.union(*plan["unlink"])
        if unlink:
            unlink.unlink()
            counts.deleted += len(unlink)
        moving_out = Attendance.union(
            *(
                attendance
                for attendance, changes in plan["write"]
                if "jibble_out_entry_id" in changes
            )
        )
        if moving_out:
            moving_out.write({"jibble_out_entry_id": False})
        for attendance, changes in sorted(plan["write"], key=lambda item: item[0].check_in):
            attendance.write(changes)
            counts.updated += 1
        if plan["create"]:
            created = Attendance.create(plan["create"])
            counts.created += len(created)

    @api.model
    def _try_plan(self, plan, counts):
        """Run a plan in a savepoint; returns Odoo's refusal, with nothing written, or None."""
        done = ApplyCounts()
        try:
            with self.env.cr.savepoint():
                self._execute_plan(plan, done)
        except (ValidationError, psycopg2.IntegrityError) as error:
            return error
        counts.add(done)
        return None

    @api.model
    def _execute_plan_or_split(self, plan, counts, log_context):
        """Run a person's plan at once; when Odoo refuses it, run it change by change so that
        only the changes that really collide are held back, each marked and logged."""
        if self._try_plan(plan, counts) is None:
            return
        single_plans = (
            [{"create": [], "write": [], "unlink": [attendance]} for attendance in plan["unlink"]]
            + [{"create": [], "write": [item], "unlink": []} for item in plan["write"]]
            + [{"create": [values], "write": [], "unlink": []} for values in plan["create"]]
        )
        for single in single_plans:
            error = self._try_plan(single, counts)
            if error is not None and self._record_conflict(single, plan, error, log_context):
                counts.failed += 1

    @api.model
    def _record_conflict(self, single, plan, error, log_context):
        """Mark what Odoo refused and say in the log what collided with what, once: a
        conflict already reported stays quiet until it changes or is resolved.

        Returns whether this is a new conflict."""
        reason = error.args[0] if isinstance(error, ValidationError) else str(error)
        message = reason.strip()[:250]
        entries_by_id = {entry.entry_id: entry for entry in plan["states"]}
        attendance = self.env["hr.attendance"]
        entry_id = False
        if single["write"]:
            attendance = single["write"][0][0]
            entry_id = attendance.jibble_entry_id
            attendance.write({"sync_status": "conflict", "jibble_sync_message": message})
        elif single["create"]:
            entry_id = single["create"][0]["jibble_entry_id"]
        elif single["unlink"]:
            attendance = single["unlink"][0]
            entry_id = attendance.jibble_entry_id
            attendance.write({"sync_status": "error", "jibble_sync_message": message})
        entry = entries_by_id.get(entry_id)
        if entry:
            already_reported = (entry.state, entry.state_message) == ("conflict", message)
            plan["states"][entry] = ("conflict", message)
            if already_reported:
                return False
        self.env["jibble.sync.log"]._record(
            "apply",
            "failed",
            _(
                "Jibble entry %(entry)s collides with an existing attendance: %(reason)s",
                entry=entry_id,
                reason=message,
            ),
            jibble_entry_id=entry_id,
            attendance_id=attendance.id or False,
            employee_id=log_context["employee"].id,
            trigger=log_context["trigger"],
            detail=f"{type(error).__name__}: {message}",
        )
        return True

    @api.model
    def _write_entry_states(self, states):
        """One write per distinct state and message instead of one per entry."""
        grouped = defaultdict(list)
        for entry, state in states.items():
            if (entry.state, entry.state_message or False) != state:
                grouped[state].append(entry.id)
        Entries = self.env["jibble.time.entry"].sudo()
        for (state, message), entry_ids in grouped.items():
            Entries.browse(entry_ids).write({"state": state, "state_message": message})

    @api.model
    def _apply(self, since_by_person, trigger, load_people=None):
        """Re-pair every affected person from their last clock-in before the change."""
        counts = ApplyCounts()
        if not since_by_person:
            return counts
        employees = self._employees_by_person(since_by_person, trigger, load_people)
        waiting = {}
        for person_id in since_by_person:
            employee = employees.get(person_id)
            if not employee:
                waiting[person_id] = (
                    "unmatched",
                    _("No employee is linked to this Jibble person yet."),
                )
            elif not employee.jibble_sync_enabled:
                waiting[person_id] = ("disabled", _("Jibble sync is off for %s.", employee.name))
        if waiting:
            held = (
                self.env["jibble.time.entry"]
                .sudo()
                .search(
                    [
                        ("person_id", "in", list(waiting)),
                        ("state", "in", ("pending", "unmatched", "disabled")),
                    ]
                )
            )
            counts.skipped += len(held.filtered(lambda entry: entry.state == "pending"))
            self._write_entry_states({entry: waiting[entry.person_id] for entry in held})
        active = {pid: since for pid, since in since_by_person.items() if pid not in waiting}
        if not active:
            return counts
        entries_by_person = self._load_entries_from_anchor(active)
        all_entry_ids = [
            entry.entry_id for entries in entries_by_person.values() for entry in entries
        ]
        attendances = (
            self.env["hr.attendance"].sudo().search([("jibble_entry_id", "in", all_entry_ids)])
        )
        attendances_by_entry = {
            attendance.jibble_entry_id: attendance for attendance in attendances
        }
        plans = {
            person_id: self._plan_person(
                employees[person_id],
                entries,
                {
                    entry.entry_id: attendances_by_entry[entry.entry_id]
                    for entry in entries
                    if entry.entry_id in attendances_by_entry
                },
            )
            for person_id, entries in entries_by_person.items()
        }
        merged = {
            key: [item for plan in plans.values() for item in plan[key]]
            for key in ("create", "write", "unlink")
        }
        merged["states"] = {}
        if self._try_plan(merged, counts) is not None:
            for person_id, plan in plans.items():
                self._execute_plan_or_split(
                    plan, counts, {"employee": employees[person_id], "trigger": trigger}
                )
        for plan in plans.values():
            self._write_entry_states(plan["states"])
        now = fields.Datetime.now()
        self.env["hr.employee"].sudo().union(*(employees[pid] for pid in plans)).filtered(
            lambda e: not e.last_jibble_sync or e.last_jibble_sync < now - LAST_SYNC_RESOLUTION
        ).write({"last_jibble_sync": now})
        return counts

    # Entry points

    @api.model
    def _receive_entries(
        self, raw_entries, trigger, observed, names=None, client=None, window=None, force=False
    ):
        """Store Jibble entries, then apply them; the same path for pulls and webhooks.

        `observed` is the `_next_observation()` taken before the entries were read. With
        `window` the entries are everything Jibble lists in that time range, so stored
        entries of the range that are not among them were deleted in Jibble. With `force`
        unchanged entries are applied again too (a retry after a conflict or a failure).
        """
        values_list, invalid = [], []
        for raw in raw_entries:
            try:
                values_list.append(self._entry_values(raw, names or {}))
            except (ValueError, TypeError, AttributeError, KeyError) as error:
                invalid.append((raw, error))
        self._fill_known_names(values_list)
        affected = self._store_entries(values_list, observed)
        if force:
            for values in values_list:
                since = affected.get(values["person_id"], values["time"])
                affected[values["person_id"]] = min(since, values["time"])
        if window:
            seen = {values["entry_id"] for values in values_list}
            missing = self._mark_missing_entries(*window, seen, observed)
            for person_id, since in missing.items():
                affected[person_id] = min(since, affected.get(person_id, since))
        load_people = client and (lambda: list(client.iter_people()))
        counts = self._apply(affected, trigger, load_people)
        for raw, error in invalid:
            counts.failed += 1
            self.env["jibble.sync.log"]._record(
                "apply",
                "failed",
                _("A Jibble time entry could not be read and was not applied: %s", error),
                trigger=trigger,
                jibble_entry_id=str(raw.get("id"))[:64] if isinstance(raw, dict) else False,
                detail=repr(raw)[:4000],
            )
        return counts

    @api.model
    def _apply_event_entry(self, event_type, data, observed):
        """Apply the time entry of one webhook event; returns the stored entry after it.

        A deletion may carry the whole entry or only its id: either way the stored entry
        stops counting, as an archived one does, unless newer news came in since.
        """
        Entries = self.env["jibble.time.entry"].sudo()
        stored = Entries.search([("entry_id", "=", data["id"])])
        self._lock_people({*stored.mapped("person_id"), event_person(data)} - {None})
        stored.invalidate_recordset()
        if event_type == "TimeEntry.Deleted":
            if not stored:
                return self._store_tombstone(data, observed)
            if stored.observed_seq > observed:
                return stored
            self._mark_deleted(stored, observed)
            self._apply({stored.person_id: stored.time}, "webhook")
            return stored
        self._receive_entries([data], "webhook", observed, force=True)
        return self.env["jibble.time.entry"].sudo().search([("entry_id", "=", data["id"])])

    @api.model
    def _store_tombstone(self, data, observed):
        """Remember a deletion that arrived before its entry: a pull that read Jibble before
        the deletion must not bring the entry back afterwards.

        The entry id is unique, so a pull storing the same entry at the same moment makes
        one of the two fail and try again, after which the deletion wins.
        """
        try:
            instant = parse_jibble_datetime(data["time"])
        except (KeyError, TypeError, ValueError, AttributeError):
            instant = fields.Datetime.now()
        entry_type = data.get("type")
        return (
            self.env["jibble.time.entry"]
            .sudo()
            .create(
                {
                    "entry_id": data["id"],
                    "person_id": event_person(data) or "unknown",
                    "entry_type": entry_type if isinstance(entry_type, str) else "Deleted",
                    "time": instant,
                    "is_active": False,
                    "state": "ignored",
                    "state_message": _("Deleted in Jibble before it was received."),
                    "observed_seq": observed,
                }
            )
        )

    @api.model
    def _lock_people(self, person_ids):
        """Pulls and webhooks about the same Jibble person take turns; other people's changes
        run side by side. Locks are taken in one sorted order and end with the transaction."""
        if not person_ids:
            return
        self.env.cr.execute(
            """
            SELECT pg_advisory_xact_lock(hashtext(%s || person_id))
              FROM (SELECT unnest(%s::varchar[]) AS person_id ORDER BY 1) AS people
            """,
            [PERSON_LOCK_PREFIX, sorted(person_ids)],
        )

    @api.model
    def _retry_held_entries(self, trigger):
        """Re-apply entries held back by a conflict or a missing link, from their earliest."""
        groups = dict(
            self.env["jibble.time.entry"]
            .sudo()
            ._read_group([("state", "in", ("pending", "conflict"))], ["person_id"], ["time:min"])
        )
        self._lock_people(groups)
        return self._apply(groups, trigger)

    @api.model
    def _retry_entries(self, entries):
        """Apply the given entries' people again from those entries on, and log the outcome."""
        started, clock = fields.Datetime.now(), time.monotonic()
        since = {}
        for entry in entries:
            since[entry.person_id] = min(entry.time, since.get(entry.person_id, entry.time))
        self._lock_people(since)
        counts = self._apply(since, "manual")
        self.env["jibble.sync.log"]._record(
            "apply",
            "partial" if counts.failed else "success",
            _("Applied %s Jibble entries again.", len(entries)),
            trigger="manual",
            start=started,
            duration=time.monotonic() - clock,
            received_count=len(entries),
            **counts.as_log_values(),
        )
        return counts

    @api.model
    def _apply_waiting_entries(self, person_ids):
        """Apply what was received for people before they had a linked, enabled employee."""
        if self.env.context.get("jibble_no_apply"):
            return
        started, clock = fields.Datetime.now(), time.monotonic()
        groups = (
            self.env["jibble.time.entry"]
            .sudo()
            ._read_group(
                [("person_id", "in", person_ids), ("state", "!=", "applied")],
                ["person_id"],
                ["time:min"],
            )
        )
        if not groups:
            return
        self._lock_people(person_ids)
        counts = self._apply(dict(groups), "employee")
        self.env["jibble.sync.log"]._record(
            "apply",
            "partial" if counts.failed else "success",
            _("Applied Jibble entries waiting for newly linked employees."),
            trigger="employee",
            start=started,
            duration=time.monotonic() - clock,
            received_count=sum(1 for _group in groups),
            **counts.as_log_values(),
        )

    @api.model
    def _next_window(self):
        """The slice of Jibble time the next pull batch reads, and the end of the whole run.

        A run starts at the committed cursor minus the re-read window (or at the configured
        start) and ends at the time it started; its position is saved after every batch.
        """
        to_datetime = fields.Datetime.to_datetime
        run_end = to_datetime(self._param("sync_run_end"))
        position = to_datetime(self._param("sync_run_position"))
        if not run_end or not position:
            run_end = fields.Datetime.now()
            cursor = to_datetime(self._param("sync_cursor"))
            overlap = timedelta(hours=int(self._param("sync_overlap_hours") or 48))
            position = (
                cursor - overlap
                if cursor
                else to_datetime(self._param("sync_start_date")) or run_end - timedelta(days=7)
            )
            self._set_param("sync_run_end", fields.Datetime.to_string(run_end))
            self._set_param("sync_run_position", fields.Datetime.to_string(position))
        batch = timedelta(hours=max(1, int(self._param("sync_batch_hours") or DEFAULT_BATCH_HOURS)))
        end = min(position + batch, run_end)
        remaining = math.ceil((run_end - end) / batch)
        return position, end, remaining

    @api.model
    def _advance(self, end, remaining):
        if remaining:
            self._set_param("sync_run_position", fields.Datetime.to_string(end))
            return
        self._set_param("sync_cursor", fields.Datetime.to_string(end))
        self._set_param("sync_run_position", False)
        self._set_param("sync_run_end", False)

    @api.model
    def _people_in_window(self, start, end, raw_entries):
        """Everyone a pull batch may change: people in Jibble's answer or stored in the window."""
        stored = (
            self.env["jibble.time.entry"]
            .sudo()
            ._read_group([("time", ">=", start), ("time", "<", end)], ["person_id"])
        )
        listed = {raw.get("personId") for raw in raw_entries if isinstance(raw, dict)}
        return {person_id for (person_id,) in stored} | {
            pid for pid in listed if isinstance(pid, str)
        }

    @api.model
    def _read_committed_from_here(self):
        """Commit what is done and run the rest of the transaction in READ COMMITTED.

        Odoo's REPEATABLE READ fixes a transaction's view at its first statement. A pull
        that then waits seconds on Jibble, or on a person lock held by a webhook, would plan
        from a view without what that webhook committed, and collide with it; in READ
        COMMITTED every statement after the person lock sees what the lock holder committed.
        Inside a test everything stays in the test's single transaction.
        """
        if odoo_module.current_test:
            return
        # The commit is the point: see the docstring. What was done so far is complete.
        self.env.cr.commit()  # pylint: disable=invalid-commit
        self.env.cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")

    @api.model
    def _acquire_sync_lock(self):
        """Two pulls never overlap; the lock ends with the batch's transaction."""
        self.env.cr.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", [SYNC_LOCK_KEY])
        return self.env.cr.fetchone()[0]

    @api.model
    def _skip_busy(self, run):
        self.env["jibble.sync.log"]._record(
            "pull", "skipped", _("Another Jibble sync is running; this one was skipped."), **run
        )
        return 0

    @api.model
    def _run_pull_batch(self, trigger="cron"):
        """Pull and apply one slice of Jibble time; returns how many slices remain."""
        Log = self.env["jibble.sync.log"]
        started, clock = fields.Datetime.now(), time.monotonic()
        run = {"trigger": trigger, "start": started}
        if not self._param("sync_enabled"):
            Log._record("pull", "skipped", _("Jibble sync is disabled in Settings."), **run)
            return 0
        try:
            config = self._client_config()
        except UserError as error:
            Log._record("pull", "skipped", error.args[0], **run)
            return 0
        if not self._acquire_sync_lock():
            return self._skip_busy(run)
        start, end, remaining = self._next_window()
        received = 0
        try:
            with JibbleClient(config) as client:
                observed = self._next_observation()
                raw_entries = list(client.iter_time_entries(start, end))
                received = len(raw_entries)
                names = (
                    {
                        resource: client.names(resource)
                        for resource in ("Activities", "Projects", "Locations")
                    }
                    if raw_entries
                    else {}
                )
                self._read_committed_from_here()
                if not self._acquire_sync_lock():  # the commit released it
                    return self._skip_busy(run)
                with self.env.cr.savepoint():
                    self._lock_people(self._people_in_window(start, end, raw_entries))
                    counts = self._receive_entries(
                        raw_entries,
                        trigger,
                        observed,
                        names=names,
                        client=client,
                        window=(start, end),
                    )
                    if not remaining:
                        counts.add(self._retry_held_entries(trigger))
        except JibbleError as error:
            Log._record(
                "pull",
                "failed",
                error.message,
                **run,
                duration=time.monotonic() - clock,
                received_count=received,
                detail=f"{error.detail or ''}\nWindow {start} to {end} UTC will be read again.",
            )
            return 0
        self._advance(end, remaining)
        Log._record(
            "pull",
            "partial" if counts.failed else "success",
            _("Pulled Jibble entries from %(start)s to %(end)s UTC.", start=start, end=end),
            **run,
            duration=time.monotonic() - clock,
            received_count=received,
            **counts.as_log_values(),
        )
        return remaining

    @api.model
    def _cron_sync(self):
        """Scheduled pull: one batch per call; Odoo's cron calls again while work remains.

        A batch that collides with a concurrent transaction (serialization failure,
        deadlock, a webhook storing the same entry at the same moment) is rolled back whole,
        logged, and run again shortly: its window is read again, so nothing is lost.
        """
        try:
            remaining = self._run_pull_batch("cron")
        except (*PG_CONCURRENCY_EXCEPTIONS_TO_RETRY, psycopg2.errors.UniqueViolation) as error:
            self.env.cr.rollback()
            self.env["jibble.sync.log"]._record(
                "pull",
                "failed",
                _("A pull batch collided with another transaction and was rolled back."),
                trigger="cron",
                detail=f"{type(error).__name__}: {error}\nThe same window is read again "
                f"in {CONFLICT_RETRY_DELAY.seconds} seconds.",
            )
            self.env.ref("jibble_connector.ir_cron_jibble_sync")._trigger(
                fields.Datetime.now() + CONFLICT_RETRY_DELAY
            )
            return
        self.env["ir.cron"]._notify_progress(done=1, remaining=remaining)

    @api.model
    def _sync_all(self, trigger="manual"):
        """Run batches until the pull has caught up (used by the benchmark and the tests).

        Like the cron, whose every batch starts a fresh transaction, each batch starts with
        an empty cache: a long backfill keeps neither memory nor prefetching growing.
        """
        while self._run_pull_batch(trigger):
            self.env.flush_all()
            self.env.invalidate_all()

    @api.model
    def _test_connection(self):
        """Ask Jibble who we are; returns (ok, sentence) and leaves a log row either way."""
        started, clock = fields.Datetime.now(), time.monotonic()
        try:
            with self._client() as client:
                organization = client.get_organization()
                people = sum(1 for _person in client.iter_people())
        except (JibbleError, UserError) as error:
            message = error.message if isinstance(error, JibbleError) else error.args[0]
            self.env["jibble.sync.log"]._record(
                "connection_test",
                "failed",
                message,
                start=started,
                duration=time.monotonic() - clock,
                detail=getattr(error, "detail", None) or False,
            )
            return False, message
        message = _(
            "Connected to %(name)s: %(count)s people in Jibble.",
            name=organization.get("name") or organization.get("id"),
            count=people,
        )
        self.env["jibble.sync.log"]._record(
            "connection_test",
            "success",
            message,
            start=started,
            duration=time.monotonic() - clock,
        )
        return True, message

    @api.model
    def _match_employees(self):
        """Link every employee Jibble knows by email; returns (linked, people left unmatched)."""
        started, clock = fields.Datetime.now(), time.monotonic()
        with self._client() as client:
            people = list(client.iter_people())
        linked_ids = set(
            self.env["hr.employee"]
            .sudo()
            .search([("jibble_user_id", "in", [person.get("id") for person in people])])
            .mapped("jibble_user_id")
        )
        linked = self._match_people_by_email(
            [person for person in people if person.get("id") not in linked_ids], "manual"
        )
        self._apply_waiting_entries(list(linked))
        unmatched = [
            person.get("fullName") or person.get("email") or person.get("id")
            for person in people
            if person.get("id") not in linked_ids and person.get("id") not in linked
        ]
        self.env["jibble.sync.log"]._record(
            "match",
            "partial" if unmatched else "success",
            _(
                "Linked %(linked)s employees to Jibble; %(left)s Jibble people remain unmatched.",
                linked=len(linked),
                left=len(unmatched),
            ),
            trigger="manual",
            start=started,
            duration=time.monotonic() - clock,
            received_count=len(people),
            created_count=len(linked),
            skipped_count=len(unmatched),
            detail=("Unmatched: " + ", ".join(unmatched)) if unmatched else False,
        )
        return linked, unmatched
