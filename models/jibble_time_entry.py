from odoo import _, api, fields, models
from odoo.tools.sql import create_index

from ..jibble.entries import CLOCK_IN
from ..jibble.planning import PlanEntry
from .rows import insert_rows

ENTRY_STATES = [
    ("pending", "Waiting to be applied"),
    ("applied", "Applied"),
    ("unmatched", "No linked employee"),
    ("disabled", "Employee sync disabled"),
    ("conflict", "Conflict"),
    ("invalid", "Unreadable"),
    ("ignored", "Ignored"),
]
HELD_STATES = ("pending", "unmatched", "disabled", "conflict", "invalid")
NAMED_FIELDS = (
    ("Activities", "activity_id", "activity"),
    ("Projects", "project_id", "project"),
    ("Locations", "location_id", "location"),
)


class JibbleTimeEntry(models.Model):
    """What Jibble said about each time entry, kept so that none is ever lost.

    Attendances are derived from these rows. Each row keeps the moment of the news that last
    changed it (`news_key`): older news (a slow pull, a late or replayed event) never
    overwrites newer, whatever order they arrive in. A deletion of an entry never received
    leaves a row too (a tombstone), so that an older read cannot bring the entry back.
    """

    _name = "jibble.time.entry"
    _description = "Jibble Time Entry"
    _order = "time desc, id desc"
    _rec_name = "entry_id"

    # Indexed by the unique constraint below, and by (person_id, time) in `init`.
    entry_id = fields.Char(string="Jibble Entry", required=True, readonly=True)
    person_id = fields.Char(string="Jibble Person", required=True, readonly=True)
    person_name = fields.Char(compute="_compute_person", string="Person")
    person_email = fields.Char(compute="_compute_person", string="Email")
    person_code = fields.Char(compute="_compute_person", string="Code")
    employee_id = fields.Many2one("hr.employee", readonly=True, index="btree_not_null")
    entry_type = fields.Char(string="Type", required=True, readonly=True)
    time = fields.Datetime(readonly=True, index=True)
    belongs_to_date = fields.Date(readonly=True)
    local_time = fields.Char(readonly=True, help="The instant as the person's clock showed it.")
    offset_minutes = fields.Integer(string="UTC Offset (min)", readonly=True)
    is_active = fields.Boolean(
        string="Active in Jibble",
        default=True,
        readonly=True,
        help="Off once Jibble archived or deleted the entry.",
    )
    break_id = fields.Char(readonly=True)
    client_type = fields.Char(readonly=True)
    kiosk_id = fields.Char(readonly=True)
    activity_id = fields.Char(string="Activity ID", readonly=True)
    project_id = fields.Char(string="Project ID", readonly=True)
    location_id = fields.Char(string="Location ID", readonly=True)
    activity = fields.Char(readonly=True)
    project = fields.Char(readonly=True)
    location = fields.Char(readonly=True)
    latitude = fields.Float(digits=(10, 7), readonly=True, aggregator=None)
    longitude = fields.Float(digits=(10, 7), readonly=True, aggregator=None)
    note = fields.Char(readonly=True)
    extra_values = fields.Json(
        readonly=True, help="Values of the entry that field mappings ask for, as Jibble sent them."
    )
    is_overridden = fields.Boolean(
        string="Overridden in Odoo",
        readonly=True,
        help="A conflict with an Odoo attendance was resolved by keeping Odoo's: this entry "
        "counts for nothing, whatever later pulls bring.",
    )
    state = fields.Selection(
        ENTRY_STATES, default="pending", required=True, readonly=True, index=True
    )
    state_message = fields.Char(readonly=True)
    attendance_id = fields.Many2one(
        "hr.attendance", readonly=True, ondelete="set null", index="btree_not_null"
    )
    news_key = fields.Char(
        readonly=True,
        help="When Jibble said what this row holds (an event's occurredAt or a pull's read): "
        "older news does not overwrite it.",
    )

    _sql_constraints = [
        ("entry_id_unique", "UNIQUE(entry_id)", "A Jibble entry is stored once."),
    ]

    def init(self):
        """Planning reads a person's entries from a time on (`_load_for_planning`): with one
        index on both, that read costs the same whatever the table holds (measured at 200,000
        entries: 0.2 s for 2,500 people, 9 s with the two single-column indexes alone). It
        serves every search by person too. The entries still waiting to be applied, few at
        any time, have their own index: planning looks for the earliest of a person's."""
        create_index(
            self.env.cr, "jibble_time_entry_person_time_index", self._table, ["person_id", "time"]
        )
        create_index(
            self.env.cr,
            "jibble_time_entry_pending_person_time_index",
            self._table,
            ["person_id", "time"],
            where="state = 'pending'",
        )

    def _compute_person(self):
        people = self.env["jibble.person"].search_fetch(
            [("person_id", "in", list(set(self.mapped("person_id"))))],
            ["person_id", "name", "email", "code"],
        )
        by_id = {person.person_id: person for person in people}
        for entry in self:
            person = by_id.get(entry.person_id)
            entry.person_name = person.name if person else False
            entry.person_email = person.email if person else False
            entry.person_code = person.code if person else False

    # What Jibble said

    @api.model
    def _jibble_entry_values(self, parsed, names):
        """The stored values of one parsed Jibble entry: the hook to store more of it."""
        return {
            "entry_id": parsed.entry_id,
            "person_id": parsed.person_id,
            "entry_type": parsed.entry_type,
            "time": parsed.time or False,
            "belongs_to_date": parsed.belongs_to_date or False,
            "local_time": parsed.local_time or False,
            "offset_minutes": parsed.offset_minutes or 0,
            "is_active": parsed.active,
            "break_id": parsed.break_id or False,
            "client_type": parsed.client_type or False,
            "kiosk_id": parsed.kiosk_id or False,
            "activity_id": parsed.activity_id or False,
            "project_id": parsed.project_id or False,
            "location_id": parsed.location_id or False,
            "activity": names.get("Activities", {}).get(parsed.activity_id) or False,
            "project": names.get("Projects", {}).get(parsed.project_id) or False,
            "location": names.get("Locations", {}).get(parsed.location_id) or False,
            "latitude": parsed.latitude or 0.0,
            "longitude": parsed.longitude or 0.0,
            "note": parsed.note or False,
            "extra_values": self.env["jibble.field.mapping"]._extras_of(parsed),
        }

    def _changes(self, values):
        """The values that differ from what the row holds, compared as the fields store them."""
        self.ensure_one()
        changes = {}
        for name, value in values.items():
            field = self._fields[name]
            if field.convert_to_record(field.convert_to_cache(value, self), self) != self[name]:
                changes[name] = value
        return changes

    @api.model
    def _store_news(self, parsed_entries, news, names=None):
        """Store entries as `news` says they are, unless newer news is stored already.

        Returns {person id: earliest instant affected}, old instants of moved entries
        included, so that planning starts early enough to undo what they did.
        """
        key = news.key()
        by_id = {parsed.entry_id: parsed for parsed in parsed_entries}
        existing = self.search([("entry_id", "in", list(by_id))])
        affected = {}
        for record in existing:
            parsed = by_id.pop(record.entry_id)
            if (record.news_key or "") > key:
                if record._fill_names(parsed, names or {}):
                    _touch(affected, record.person_id, record.time)
                continue
            held = self._held_for(parsed)
            if held:
                # Keep the last readable values: the entry counts for nothing until Jibble
                # sends it readable again, and then its move is computed from them.
                if (record.state, record.state_message) != (held["state"], held["state_message"]):
                    _touch(affected, record.person_id, record.time)
                    record.write({**held, "news_key": key})
                continue
            changes = record._changes(self._jibble_entry_values(parsed, names or {}))
            if not changes and record.state != "invalid":
                continue
            _touch(affected, record.person_id, record.time)
            _touch(affected, parsed.person_id, parsed.time)
            record.write({**changes, "state": "pending", "state_message": False, "news_key": key})
        new_values = [
            {
                **self._jibble_entry_values(parsed, names or {}),
                "state": "pending",
                "state_message": False,
                **(self._held_for(parsed) or {}),
                "news_key": key,
            }
            for parsed in by_id.values()
        ]
        if new_values:
            # Writes the ORM still holds reach the table before rows written around it.
            self.flush_model()
            insert_rows(self, new_values)
        for values in new_values:
            _touch(affected, values["person_id"], values["time"] or None)
        return affected

    def _fill_names(self, parsed, names):
        """Names are not news: whatever read brings a name this row lacks, it is taken
        (an event carries ids only, and may have come before the pull that names them)."""
        missing = {}
        for resource, id_field, name_field in NAMED_FIELDS:
            name = names.get(resource, {}).get(getattr(parsed, id_field))
            if name and not self[name_field] and self[id_field] == getattr(parsed, id_field):
                missing[name_field] = name
        if missing:
            self.write(missing)
        return bool(missing)

    @api.model
    def _held_for(self, parsed):
        if parsed.problem:
            return {
                "state": "invalid",
                "state_message": _("Held: %s.", parsed.problem)[:255],
            }
        return None

    def _mark_deleted(self, news):
        """Jibble deleted or archived these entries, unless newer news says otherwise."""
        key = news.key()
        deleted = self.filtered(lambda entry: (entry.news_key or "") <= key and entry.is_active)
        affected = {}
        for entry in deleted:
            _touch(affected, entry.person_id, entry.time)
        deleted.write(
            {"is_active": False, "state": "pending", "state_message": False, "news_key": key}
        )
        return affected

    @api.model
    def _store_tombstone(self, entry_id, person_id, news):
        """Remember a deletion of an entry not received yet, so that an older read cannot
        bring it back. Returns the new row, or an empty recordset when a concurrent
        transaction stored the entry first (then the caller deletes that row instead)."""
        self.env.cr.execute(
            """
            INSERT INTO jibble_time_entry (entry_id, person_id, entry_type, is_active, state,
                                           state_message, news_key, create_uid, create_date,
                                           write_uid, write_date)
            VALUES (%s, %s, 'Deleted', false, 'ignored', %s, %s, %s, now() at time zone 'utc',
                    %s, now() at time zone 'utc')
            ON CONFLICT (entry_id) DO NOTHING
            RETURNING id
            """,
            [
                entry_id,
                person_id or "unknown",
                _("Deleted in Jibble before it was received."),
                news.key(),
                self.env.uid,
                self.env.uid,
            ],
        )
        row = self.env.cr.fetchone()
        return self.browse(row[0] if row else [])

    # Reading for a pull

    @api.model
    def _active_ids_in_window(self, start, end):
        """Entry ids stored as active in [start, end), with their person: what a complete
        read of that window must list again."""
        self.env.cr.execute(
            "SELECT entry_id, person_id FROM jibble_time_entry"
            " WHERE is_active AND time >= %s AND time < %s",
            [start, end],
        )
        return dict(self.env.cr.fetchall())

    @api.model
    def _people_of(self, entry_ids):
        if not entry_ids:
            return set()
        self.env.cr.execute(
            "SELECT DISTINCT person_id FROM jibble_time_entry WHERE entry_id = ANY(%s)",
            [list(entry_ids)],
        )
        return {person_id for (person_id,) in self.env.cr.fetchall()}

    # Planning

    @api.model
    def _load_for_planning(self, since_by_person, paid_breaks=False):
        """Entries of each person from the clock-in that opens the interval in which `since`
        falls (the last one before it), onwards.

        Starting at that clock-in makes re-planning exact without reading the person's whole
        history, so the work per change stays flat as data grows. It holds only when what lies
        before that clock-in was applied: an entry still waiting (its apply failed and is to be
        retried, or a pull batch held its interval open) moves `since` back to it, so that the
        attendance it should have closed is planned again too. With paid breaks the `In` that
        ends a break opens nothing, so it cannot be that clock-in.
        """
        if not since_by_person:
            return {}
        self.flush_model()
        self.env.cr.execute(
            """
            WITH starts AS (
                SELECT p.person_id, LEAST(p.since, (
                    SELECT min(w.time) FROM jibble_time_entry w
                     WHERE w.person_id = p.person_id AND w.state = 'pending'
                       AND w.time < p.since
                )) AS since
                FROM unnest(%s::varchar[], %s::timestamp[]) AS p(person_id, since)
            ), anchors AS (
                SELECT s.person_id, COALESCE((
                    SELECT max(e.time) FROM jibble_time_entry e
                     WHERE e.person_id = s.person_id AND e.is_active
                       AND e.entry_type = %s AND e.time < s.since
                       AND (NOT %s OR e.break_id IS NULL)
                ), s.since) AS anchor
                FROM starts s
            )
            SELECT e.person_id, array_agg(e.id) FROM jibble_time_entry e
              JOIN anchors a ON a.person_id = e.person_id AND e.time >= a.anchor
             GROUP BY e.person_id
            """,
            [list(since_by_person), list(since_by_person.values()), CLOCK_IN, paid_breaks],
        )
        grouped = dict(self.env.cr.fetchall())
        entries = self.browse(entry_id for ids in grouped.values() for entry_id in ids)
        # Planning, the attendance values and the outcome read these: one query for all.
        entries.fetch([name for name, field in self._fields.items() if field.store])
        return {person_id: self.browse(ids) for person_id, ids in grouped.items()}

    def action_keep_jibble(self):
        """Resolve conflicts for Jibble: the Odoo attendances (kiosk, manual) that these
        entries' intervals overlap are removed, then the entries are applied."""
        self.env["jibble.sync.log"]._check_manager()
        # Entry point: a manager's button; it removes attendances and applies entries.
        self.sudo().env["jibble.apply"]._resolve(self.sudo(), keep="jibble")
        return {"type": "ir.actions.client", "tag": "soft_reload"}

    def action_keep_odoo(self):
        """Resolve conflicts for Odoo: these entries' intervals are overridden, so that no
        later pull brings them back; any attendance they made is removed."""
        self.env["jibble.sync.log"]._check_manager()
        self.sudo().env["jibble.apply"]._resolve(self.sudo(), keep="odoo")
        return {"type": "ir.actions.client", "tag": "soft_reload"}

    def _planning_view(self):
        return PlanEntry(
            entry_id=self.entry_id,
            entry_type=self.entry_type,
            time=self.time,
            active=self.is_active and self.state != "invalid" and not self.is_overridden,
            break_id=self.break_id or None,
            client_type=self.client_type or None,
        )


def _touch(affected, person_id, instant):
    """Keep the earliest affected instant per person."""
    if not instant:
        return
    if person_id not in affected or instant < affected[person_id]:
        affected[person_id] = instant
