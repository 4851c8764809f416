import time
from datetime import timedelta

from odoo import _, api, fields, models

PERSON_STATUSES = [
    ("Joined", "Joined"),
    ("Invited", "Invited"),
    ("Removed", "Removed"),
]
DIRECTORY_VALIDITY = timedelta(hours=1)


class JibblePerson(models.Model):
    """Jibble's people as the connector last read them, so that HR sees whom to link.

    Rows come from Jibble's People list. The link itself is `hr.employee.jibble_user_id`;
    `employee_id` here only shows it.
    """

    _name = "jibble.person"
    _description = "Jibble Person"
    _order = "name, id"
    _rec_name = "name"

    person_id = fields.Char(string="Jibble Person", required=True, readonly=True, index=True)
    name = fields.Char(readonly=True)
    email = fields.Char(readonly=True)
    code = fields.Char(readonly=True, help="The organization's own employee code in Jibble.")
    status = fields.Selection(PERSON_STATUSES, readonly=True)
    read_at = fields.Datetime(string="Read from Jibble", readonly=True)
    employee_id = fields.Many2one(
        "hr.employee", compute="_compute_employee_id", search="_search_employee_id"
    )
    held_entry_count = fields.Integer(compute="_compute_held_entry_count")

    _sql_constraints = [
        ("person_id_unique", "UNIQUE(person_id)", "A Jibble person is stored once."),
    ]

    def _compute_employee_id(self):
        # The link is an HR field; whether a person is linked, and to whom, is not.
        employees = (
            self.env["hr.employee"]
            .sudo()
            .with_context(active_test=False)
            .search([("jibble_user_id", "in", self.mapped("person_id"))])
        )
        by_person = {employee.jibble_user_id: employee for employee in employees}
        for person in self:
            person.employee_id = by_person.get(person.person_id, False)

    def _search_employee_id(self, operator, value):
        if operator in ("=", "!=") and not value:
            linked = (
                self.env["hr.employee"]
                .sudo()
                .with_context(active_test=False)
                .search([("jibble_user_id", "!=", False)])
            )
            return [
                (
                    "person_id",
                    "in" if operator == "!=" else "not in",
                    linked.mapped("jibble_user_id"),
                )
            ]
        return NotImplemented

    def _compute_held_entry_count(self):
        counts = dict(
            self.env["jibble.time.entry"]._read_group(
                [
                    ("person_id", "in", self.mapped("person_id")),
                    ("state", "in", ("unmatched", "disabled", "pending")),
                ],
                ["person_id"],
                ["__count"],
            )
        )
        for person in self:
            person.held_entry_count = counts.get(person.person_id, 0)

    @api.model
    def _needs_reading(self, person_ids):
        """Whether Jibble's People list must be read to know these people."""
        known = self.search(
            [
                ("person_id", "in", list(person_ids)),
                ("read_at", ">=", fields.Datetime.now() - DIRECTORY_VALIDITY),
            ]
        )
        return len(known) < len(set(person_ids))

    @api.model
    def _ensure(self, person_ids):
        """The rows of these people, created (without names yet) for those never read."""
        existing = self.search([("person_id", "in", list(person_ids))])
        missing = set(person_ids) - set(existing.mapped("person_id"))
        return existing | self.create([{"person_id": person_id} for person_id in missing])

    @api.model
    def _store_people(self, people):
        """Create or refresh rows from Jibble's People; returns them by person id."""
        rows = {}
        for person in people:
            if isinstance(person, dict) and isinstance(person.get("id"), str) and person["id"]:
                rows[person["id"]] = {
                    "name": (person.get("fullName") or "")[:255] or False,
                    "email": (person.get("email") or "")[:255] or False,
                    "code": (str(person.get("code") or ""))[:64] or False,
                    "status": person.get("status")
                    if person.get("status") in dict(PERSON_STATUSES)
                    else False,
                    "read_at": fields.Datetime.now(),
                }
        existing = self.search([("person_id", "in", list(rows))])
        for record in existing:
            record.write(rows.pop(record.person_id))
        created = self.create(
            [{"person_id": person_id, **values} for person_id, values in rows.items()]
        )
        return {record.person_id: record for record in existing | created}

    @api.model
    def _store_and_link(self, people, trigger, always_by_email=False):
        """Store Jibble's people and link the unlinked ones as Settings allow (by email
        always when a person asked for it); returns {person id: employee} of new links."""
        Config = self.env["jibble.config"]
        stored = self._store_people(people)
        linked, refused = self.env["hr.employee"]._jibble_link_people(
            self.union(*stored.values()),
            by_email=always_by_email or bool(Config._param("auto_match_email")),
            by_code=Config._param("match_code") or False,
        )
        for sentence in refused:
            self.env["jibble.sync.log"]._record("match", "failed", sentence, trigger=trigger)
        return linked

    @api.model
    def _match_all(self):
        """Read Jibble's people and link every one Settings allow (the Settings button);
        returns (linked, names of people left unlinked)."""
        started, clock = fields.Datetime.now(), time.monotonic()
        with self.env["jibble.config"]._client() as client:
            people = client.people()
        linked = self._store_and_link(people, "manual", always_by_email=True)
        if linked:
            self.env["jibble.sync.service"]._apply_held(list(linked), "manual")
        unlinked = self.search(
            [
                ("person_id", "in", [p.get("id") for p in people if isinstance(p, dict)]),
                ("employee_id", "=", False),
                ("status", "!=", "Removed"),
            ]
        )
        unmatched = [person.name or person.email or person.person_id for person in unlinked]
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
