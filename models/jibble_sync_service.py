import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg2

from odoo import _, api, fields, models
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY

from ..jibble.client import JibbleError
from ..jibble.entries import FROM_PULL, EntryError, News, parse_entry
from . import transaction
from .ir_cron import turn_seconds
from .jibble_config import JibbleNotReady

NAMED_RESOURCES = (
    ("Activities", "activity_id"),
    ("Projects", "project_id"),
    ("Locations", "location_id"),
)
NAMES_VALIDITY = timedelta(hours=6)
NAMES_RETRY = timedelta(minutes=10)
CONFLICT_RETRY_DELAY = timedelta(seconds=30)
BUSY_RETRY_DELAY = timedelta(minutes=5)
# A pull batch is sized to apply within this share of the time a cron turn may take, at the
# pace of the last batches; the first one, with no pace yet, reads FIRST_BATCH_ENTRIES.
BATCH_TIME_SHARE = 0.5
FIRST_BATCH_ENTRIES = 10000
BATCH_ENTRIES_RANGE = (1000, 50000)
# With no time limit a batch is still one transaction holding its people's locks: sized as for
# Odoo's default limit.
UNLIMITED_TURN_SECONDS = 120
# Fewer entries than this say more about a batch's fixed costs than about its pace.
PACE_MIN_ENTRIES = 500
DEEP_CRON = "jibble_connector.ir_cron_jibble_deep_resync"
CATCH_UP_CRON = "jibble_connector.ir_cron_jibble_sync"
OPERATIONS = {"catch_up": "pull", "quick": "quick_pull", "deep": "deep_pull"}
HELD_RETRY_CHUNK = 200


@dataclass
class WindowRead:
    """What Jibble said about a window, gathered before any person is locked."""

    rows: list
    news: News
    # Entries stored as active in the window that the read did not list, as Jibble has
    # them now, read one by one: (row or None when Jibble no longer has it, news).
    rechecked: dict = field(default_factory=dict)
    people: list | None = None
    # Jibble's TimesheetsSummary, read for the last batch of a deep re-read.
    summary: list | None = None


def log_counts(counts):
    return {
        f"{name}_count": counts.get(name, 0)
        for name in ("created", "updated", "deleted", "skipped", "failed")
    }


class JibbleSyncService(models.AbstractModel):
    """Pulls from Jibble and applies what they bring; webhook events come to `_receive` too.

    One pull batch, from file to file: the window (jibble.pull.run) -> Jibble is read with no
    lock held (`_read_window`: entries, names, people, missing entries one by one) -> the unit
    starts (transaction.py: commit, READ COMMITTED, person locks) -> entries are stored
    (jibble.time.entry) -> people are linked (hr.employee) -> attendances are planned and
    written (jibble.apply) -> a log row -> the cursor moves; Odoo's cron runner commits.
    """

    _name = "jibble.sync.service"
    _description = "Jibble Sync Service"

    # Reading Jibble, holding no lock

    @api.model
    def _known_names(self):
        """Names of activities, projects and locations, as last read (webhooks carry ids)."""
        try:
            return json.loads(self.env["jibble.config"]._param("names") or "{}")
        except ValueError:
            return {}

    @api.model
    def _names(self, client, rows):
        """Names for the ids in `rows`: read again when stale, or when an id is unknown."""
        names = self._known_names()
        read_at = fields.Datetime.to_datetime(names.get("read_at")) or datetime.min
        unknown = any(
            isinstance(row, dict) and row.get(id_key) and row[id_key] not in names.get(resource, {})
            for row in rows
            for resource, id_key in NAMED_RESOURCES
        )
        age = fields.Datetime.now() - read_at
        if age > NAMES_VALIDITY or (unknown and age > NAMES_RETRY):
            names = {resource: client.names(resource) for resource, _id_key in NAMED_RESOURCES}
            names["read_at"] = fields.Datetime.to_string(fields.Datetime.now())
            self.env["jibble.config"]._set_param("names", json.dumps(names))
        return names

    @api.model
    def _read_window(self, client, window):
        """Everything Jibble says about a window. A stored entry the read does not list is
        read again by its id: it may have been deleted, or moved to another window."""
        listing = client.time_entries(window.start, window.end, max_rows=self._batch_entries())
        if listing.end:
            # A busy window: this batch ends where the read stopped, the next one goes on.
            window.end, window.remaining = listing.end, max(window.remaining, 1)
        rows = listing.rows
        if window.people:
            rows = [
                row
                for row in rows
                if isinstance(row, dict) and row.get("personId") in window.people
            ]
        read = WindowRead(rows, News(listing.read_at, FROM_PULL))
        listed = {row.get("id") for row in listing.rows if isinstance(row, dict)}
        stored = self.env["jibble.time.entry"]._active_ids_in_window(window.start, window.end)
        if window.people:
            stored = {entry_id: pid for entry_id, pid in stored.items() if pid in window.people}
        for entry_id in set(stored) - listed:
            recheck = client.time_entry(entry_id)
            row = next(
                (
                    row
                    for row in recheck.rows
                    if isinstance(row, dict) and row.get("id") == entry_id
                ),
                None,
            )
            read.rechecked[entry_id] = (row, News(recheck.read_at, FROM_PULL))
        if window.run and not window.remaining:
            first, last = self.env["jibble.reconciliation"]._days_of(window.run)
            read.summary = client.timesheets_summary(first, last, window.people)
        person_ids = {row.get("personId") for row in rows if isinstance(row, dict)}
        person_ids = {pid for pid in person_ids if isinstance(pid, str) and pid}
        unlinked = person_ids - set(self.env["hr.employee"]._jibble_employees(person_ids))
        if unlinked and self.env["jibble.person"]._needs_reading(unlinked):
            read.people = client.people()
        return read

    @api.model
    def _batch_entries(self):
        """How many entries a pull batch reads at most: the `sync_batch_entries` system
        parameter when an administrator set one; otherwise as many as the pace of the last
        batch lets one apply in `BATCH_TIME_SHARE` of a cron turn (models/ir_cron.py), so that
        a slow server's batches shrink before Odoo kills the worker in the middle of one."""
        Config = self.env["jibble.config"]
        fixed = Config._int_param("sync_batch_entries", 0)
        if fixed > 0:
            return fixed
        pace = Config._float_param("batch_seconds_per_entry", 0)
        if pace <= 0:
            return FIRST_BATCH_ENTRIES
        smallest, largest = BATCH_ENTRIES_RANGE
        return min(max(int(self._batch_seconds() / pace), smallest), largest)

    @api.model
    def _batch_seconds(self):
        """How long a pull batch sized by its pace is meant to take."""
        return (turn_seconds() or UNLIMITED_TURN_SECONDS) * BATCH_TIME_SHARE

    # The pull

    @api.model
    def _run_pull_batch(self, trigger="cron", kind="catch_up"):
        """Pull and apply one window; returns how many windows of the run remain."""
        Log, Config = self.env["jibble.sync.log"], self.env["jibble.config"]
        operation = OPERATIONS[kind]
        run = {"trigger": trigger, "start": fields.Datetime.now()}
        clock = time.monotonic()
        busy = _("Another Jibble pull is running; this one was skipped.")
        if Config._is_neutralized():
            Log._record(
                operation, "skipped", _("This database is a neutralized copy: no pull."), **run
            )
            return 0
        if not Config._param("sync_enabled"):
            Log._record(operation, "skipped", _("Jibble sync is disabled in Settings."), **run)
            return 0
        try:
            client = Config._client()
        except JibbleNotReady as error:
            Log._record(operation, "failed", error.args[0], **run)
            return 0
        if not transaction.try_run_lock(self.env):
            Log._record(operation, "skipped", busy, **run)
            if kind == "deep":
                self.env.ref(DEEP_CRON)._trigger(fields.Datetime.now() + BUSY_RETRY_DELAY)
            return 0
        window = self.env["jibble.pull.run"]._next_window(kind)
        if window is None:
            return 0
        with client:
            try:
                read = self._read_window(client, window)
                names = self._names(client, read.rows)
            except JibbleError as error:
                Log._record(
                    operation,
                    "failed",
                    error.message,
                    **run,
                    duration=time.monotonic() - clock,
                    api_calls=client.api_calls,
                    detail=f"{error.detail or ''}\nWindow {window.start} to {window.end} UTC "
                    "will be read again.",
                )
                return 0
        if client.time_filter_refused and not Config._param("time_filter_refused"):
            Config._set_param("time_filter_refused", True)
        # A catch-up batch that more batches follow leaves intervals still open to them.
        hold_open = kind == "catch_up" and bool(window.remaining)
        counts = self._store_and_apply(read, names, trigger, hold_open)
        if counts is None:
            Log._record(operation, "skipped", busy, **run)
            return 0
        self.env["jibble.pull.run"]._advance(window)
        duration = time.monotonic() - clock
        if kind != "quick" and len(read.rows) >= PACE_MIN_ENTRIES:
            Config._set_param("batch_seconds_per_entry", f"{duration / len(read.rows):.6f}")
        Log._record(
            operation,
            "partial" if counts["failed"] else "success",
            _(
                "Pulled Jibble entries from %(start)s to %(end)s UTC.",
                start=window.start,
                end=window.end,
            ),
            **run,
            duration=duration,
            received_count=len(read.rows),
            api_calls=client.api_calls,
            **log_counts(counts),
        )
        if read.summary is not None:
            Reconciliation = self.env["jibble.reconciliation"]
            first, last = Reconciliation._days_of(window.run)
            differing = Reconciliation._reconcile(read.summary, first, last, window.people)
            Reconciliation._log(differing, first, last, trigger)
        return window.remaining

    @api.model
    def _store_and_apply(self, read, names, trigger, hold_open=False):
        """The unit of a pull batch: lock, store what Jibble said, link people, apply.
        Returns the log counts, or None when another pull took over meanwhile."""
        Entry = self.env["jibble.time.entry"]
        parsed, counts = self._parse_rows(read.rows, trigger)
        rechecked = {}
        for entry_id, (row, news) in read.rechecked.items():
            rechecked[entry_id] = (self._parse_rows([row], trigger)[0] if row else [], news)
        people = {entry.person_id for entry in parsed}
        people |= Entry._people_of([entry.entry_id for entry in parsed] + list(rechecked))
        people |= {entry.person_id for entries, _news in rechecked.values() for entry in entries}
        if not transaction.start_unit(self.env, people, run_lock=True):
            return None
        affected = Entry._store_news(parsed, read.news, names)
        for entry_id, (entries, news) in rechecked.items():
            if entries:
                _merge(affected, Entry._store_news(entries, news, names))
            else:
                gone = Entry.search([("entry_id", "=", entry_id)])
                _merge(affected, gone._mark_deleted(news))
        if read.people is not None:
            self.env["jibble.person"]._store_and_link(read.people, trigger)
        _add(counts, self.env["jibble.apply"]._apply_people(affected, trigger, hold_open))
        return counts

    @api.model
    def _parse_rows(self, rows, trigger):
        """Parsed entries; a row that cannot even be stored is logged, never silently lost."""
        parsed, counts = [], defaultdict(int)
        for row in rows:
            try:
                parsed.append(parse_entry(row))
            except EntryError as error:
                counts["failed"] += 1
                self.env["jibble.sync.log"]._record(
                    "apply",
                    "failed",
                    _("A Jibble time entry could not be stored: %s", error),
                    trigger=trigger,
                    jibble_entry_id=str(row.get("id"))[:64] if isinstance(row, dict) else False,
                    detail=repr(row)[:4000],
                )
        return parsed, counts

    # Entry points

    @api.model
    def _cron_sync(self):
        """Scheduled catch-up pull: a batch per call; the cron calls again while work remains."""
        self._cron_pull("catch_up", CATCH_UP_CRON)

    @api.model
    def _cron_quick_sync(self):
        """Scheduled quick pull of the last minutes, so that clock-ins show within minutes."""
        self._cron_pull("quick", "jibble_connector.ir_cron_jibble_quick_sync")

    @api.model
    def _cron_deep_resync(self):
        """Scheduled deep re-read of the last days (and periods asked for with the wizard), so
        that late corrections in Jibble reach Odoo without anyone acting."""
        self._cron_pull("deep", DEEP_CRON)

    @api.model
    def _cron_pull(self, kind, cron_xmlid):
        """A batch that collides with another transaction (serialization failure, deadlock)
        is rolled back whole, logged, and run again shortly: its window is read again, so
        nothing is lost."""
        try:
            remaining = self._run_pull_batch("cron", kind)
        except (*PG_CONCURRENCY_EXCEPTIONS_TO_RETRY, psycopg2.errors.UniqueViolation) as error:
            self.env.cr.rollback()
            self._retry_after_collision(
                error,
                cron_xmlid,
                "The same window is read again",
                OPERATIONS[kind],
                _("A pull batch collided with another transaction and was rolled back."),
                trigger="cron",
            )
            return
        if kind == "catch_up" and not remaining:
            self._retry_held("cron")
        transaction.notify_progress(
            self.env, cron_xmlid, 1, remaining, next_call_seconds=self._batch_seconds()
        )

    @api.model
    def _retry_after_collision(self, error, cron_xmlid, then, operation, message, **values):
        """Log a unit that a collision with another transaction rolled back, and call
        `cron_xmlid` again shortly to do its work again."""
        self.env["jibble.sync.log"]._record(
            operation,
            "failed",
            message,
            detail=f"{type(error).__name__}: {error}\n{then} in {CONFLICT_RETRY_DELAY.seconds}"
            " seconds.",
            **values,
        )
        self.env.ref(cron_xmlid)._trigger(fields.Datetime.now() + CONFLICT_RETRY_DELAY)

    @api.model
    def _sync_all(self, trigger="manual", kind="catch_up"):
        """Run catch-up batches until the pull has caught up (tests, benchmarks, the demo).

        Like the cron, whose every batch starts a fresh transaction, each batch starts with an
        empty cache: a long backfill keeps neither memory nor prefetching growing.
        """
        while self._run_pull_batch(trigger, kind):
            self.env.flush_all()
            self.env.invalidate_all()
        self._retry_held(trigger)

    @api.model
    def _apply_held(self, person_ids, trigger):
        """Apply what is held for these people (an employee was just linked or switched on),
        in the caller's transaction."""
        groups = self.env["jibble.time.entry"]._read_group(
            [
                ("person_id", "in", list(person_ids)),
                ("state", "!=", "applied"),
                ("time", "!=", False),
            ],
            ["person_id"],
            ["time:min"],
        )
        if not groups:
            return
        self._apply_logged(
            dict(groups),
            trigger,
            _("Applied Jibble entries held for %s people.", len(groups)),
            commit=False,
        )

    @api.model
    def _retry_held(self, trigger):
        """Apply again what waits or conflicts, a unit per chunk of people: a conflict may be
        gone (the colliding attendance was removed in Odoo), a shift held open by a batch is
        still open when the run ends. Logged when it changed attendances."""
        groups = self.env["jibble.time.entry"]._read_group(
            [("state", "in", ("pending", "conflict")), ("time", "!=", False)],
            ["person_id"],
            ["time:min"],
        )
        for start in range(0, len(groups), HELD_RETRY_CHUNK):
            chunk = dict(groups[start : start + HELD_RETRY_CHUNK])
            self._apply_logged(
                chunk,
                trigger,
                _("Applied Jibble entries that were waiting, for %s people.", len(chunk)),
                only_changes=True,
            )
            transaction.commit_unit(self.env)

    @api.model
    def _apply_logged(self, since_by_person, trigger, message, commit=True, only_changes=False):
        """One unit that applies these people's entries, and its log row (with `only_changes`,
        only when attendances changed).

        A unit that collides with another transaction (serialization failure, deadlock) is
        rolled back, logged, and the catch-up cron, which applies what waits after each run,
        is called again shortly. With `commit=False` a person's request runs the unit, and
        Odoo retries that request whole instead.
        """
        started, clock = fields.Datetime.now(), time.monotonic()
        transaction.start_unit(self.env, since_by_person, commit=commit)
        try:
            with self.env.cr.savepoint():
                counts = self.env["jibble.apply"]._apply_people(since_by_person, trigger)
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as error:
            if not commit:
                raise
            self._retry_after_collision(
                error,
                CATCH_UP_CRON,
                "The entries are applied again by the catch-up pull",
                "apply",
                _("Applying Jibble entries collided with another transaction; nothing was kept."),
                trigger=trigger,
                start=started,
                duration=time.monotonic() - clock,
                received_count=len(since_by_person),
                failed_count=len(since_by_person),
            )
            return
        if only_changes and not any(counts[name] for name in ("created", "updated", "deleted")):
            return
        self.env["jibble.sync.log"]._record(
            "apply",
            "partial" if counts["failed"] else "success",
            message,
            trigger=trigger,
            start=started,
            duration=time.monotonic() - clock,
            received_count=len(since_by_person),
            **log_counts(counts),
        )


def _merge(affected, more):
    for person_id, instant in more.items():
        if person_id not in affected or instant < affected[person_id]:
            affected[person_id] = instant


def _add(counts, more):
    for name, value in more.items():
        counts[name] += value
