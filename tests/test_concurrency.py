"""The transaction policy (models/transaction.py) on separate PostgreSQL connections.

The test's own transaction would serialise everything, so these tests work as production
does: each worker has its own connection and commits for real; what they commit is removed
afterwards. Waits are observed in pg_stat_activity, not guessed with sleeps.
"""

import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from unittest.mock import patch

from odoo import SUPERUSER_ID, api
from odoo.modules.registry import DummyRLock, Registry
from odoo.tests import TransactionCase, tagged

from ..jibble.events import Event
from ..models import transaction
from ..simulator import JibbleSimulator
from .common import LocalJibbleMixin, configure_connector

WAIT_LIMIT = 20


def utc_now():
    return datetime.now(timezone.utc).replace(tzinfo=None)


class SeparateConnectionsCase(LocalJibbleMixin, TransactionCase):
    def setUp(self):
        super().setUp()
        self.tag = f"conc-{uuid.uuid4().hex[:12]}"
        self.person_id = f"{self.tag}-person"
        # Outside the test transaction the production path applies: commits, READ COMMITTED.
        self.startPatcher(patch.object(transaction, "in_test", return_value=False))
        # The test runner holds the registry lock; worker threads open environments as they
        # do in HttpCase's test mode.
        self.startPatcher(patch.object(Registry, "_lock", DummyRLock()))
        with self.connection() as env:
            self.employee_id = (
                env["hr.employee"].create({"name": self.tag, "jibble_user_id": self.person_id}).id
            )
            env.cr.execute("SELECT key, value FROM ir_config_parameter WHERE key LIKE 'jibble_%'")
            saved_params = env.cr.fetchall()
        self.addCleanup(self.remove_committed, saved_params)

    def connection(self):
        """A separate connection, committed when the block ends without an error."""
        return _Connection(self.registry)

    def remove_committed(self, saved_params):
        with self.connection() as env:
            cr = env.cr
            cr.execute("DELETE FROM hr_attendance WHERE employee_id = %s", [self.employee_id])
            cr.execute("DELETE FROM jibble_time_entry WHERE person_id LIKE %s", [f"{self.tag}%"])
            cr.execute("DELETE FROM jibble_webhook_event WHERE event_id LIKE %s", [f"{self.tag}%"])
            cr.execute(
                "DELETE FROM jibble_sync_log WHERE employee_id = %s OR jibble_event_id LIKE %s"
                " OR create_date >= %s",
                [self.employee_id, f"{self.tag}%", self.started_at],
            )
            cr.execute("DELETE FROM hr_employee WHERE id = %s", [self.employee_id])
            params = env["ir.config_parameter"]
            saved = dict(saved_params)
            params.search([("key", "=like", "jibble_%"), ("key", "not in", list(saved))]).unlink()
            for key, value in saved.items():
                params.set_param(key, value)

    @property
    def started_at(self):
        if not hasattr(self, "_started_at"):
            self._started_at = utc_now() - timedelta(seconds=1)
        return self._started_at

    def wait_until_blocked(self, env, backend_pid, what):
        """Until the backend waits on a lock (a row's or an advisory one)."""
        deadline = time.monotonic() + WAIT_LIMIT
        while time.monotonic() < deadline:
            env.cr.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [backend_pid]
            )
            row = env.cr.fetchone()
            if row and row[0] == "Lock":
                return
            time.sleep(0.02)
        self.fail(f"{what} never waited on a lock")

    def entry_event(self, suffix, hours):
        instant = (utc_now() - timedelta(days=1)).replace(hour=0, minute=0, second=0)
        data = {
            "id": f"{self.tag}-entry-{suffix}",
            "personId": self.person_id,
            "type": "In",
            "time": (instant + timedelta(hours=hours)).isoformat() + "Z",
            "status": "Active",
        }
        return Event(f"{self.tag}-event-{suffix}", "TimeEntry.Created", utc_now(), data)


class _Connection:
    def __init__(self, registry):
        self.registry = registry
        self.cr = None

    def __enter__(self):
        self.cr = self.registry.cursor()
        return api.Environment(self.cr, SUPERUSER_ID, {})

    def __exit__(self, exc_type, *exc_info):
        if exc_type is None:
            self.cr.commit()  # pylint: disable=invalid-commit  # a worker's own cursor
        self.cr.close()


@tagged("post_install", "-at_install")
class TestTransactionPolicy(SeparateConnectionsCase):
    def test_two_workers_receiving_one_event_at_once_store_and_apply_it_once(self):
        # Reading it fixes the moment before anything is committed.
        self.started_at  # noqa: B018  # pylint: disable=pointless-statement
        event = self.entry_event("once", 8)
        outcome = {}

        def second_worker(ready):
            with self.connection() as env:
                outcome["second_pid"] = env.cr.connection.info.backend_pid
                ready.set()
                stored = env["jibble.webhook.event"]._store(event, "127.0.0.2", queued=False)
                outcome["second"] = stored._apply() if stored else "duplicate"

        with self.connection() as env, self.connection() as observer:
            first = env["jibble.webhook.event"]._store(event, "127.0.0.1", queued=False)
            ready = threading.Event()
            thread = threading.Thread(target=second_worker, args=(ready,))
            thread.start()
            ready.wait(WAIT_LIMIT)
            self.wait_until_blocked(observer, outcome["second_pid"], "the second insert")
            outcome["first"] = first._apply()
        thread.join(WAIT_LIMIT)
        self.assertEqual((outcome["first"], outcome["second"]), ("done", "duplicate"))
        with self.connection() as env:
            events = env["jibble.webhook.event"].search([("event_id", "=", event.event_id)])
            attendances = env["hr.attendance"].search([("employee_id", "=", self.employee_id)])
            self.assertEqual((len(events), len(attendances)), (1, 1))

    def test_a_unit_waits_for_the_person_lock_then_reads_what_the_holder_committed(self):
        self.started_at  # noqa: B018  # pylint: disable=pointless-statement
        seen = {}

        def second_unit(ready):
            with self.connection() as env:
                seen["pid"] = env.cr.connection.info.backend_pid
                employee = env["hr.employee"].browse(self.employee_id)
                seen["name_before"] = employee.name
                seen["count_before"] = env["hr.attendance"].search_count(
                    [("employee_id", "=", self.employee_id)]
                )
                ready.set()
                transaction.start_unit(env, [self.person_id])
                seen["name_after"] = employee.name
                seen["count_after"] = env["hr.attendance"].search_count(
                    [("employee_id", "=", self.employee_id)]
                )

        with self.connection() as env, self.connection() as observer:
            transaction.start_unit(env, [self.person_id])
            ready = threading.Event()
            thread = threading.Thread(target=second_unit, args=(ready,))
            thread.start()
            ready.wait(WAIT_LIMIT)
            self.wait_until_blocked(observer, seen["pid"], "the second unit")
            env["hr.employee"].browse(self.employee_id).name = f"{self.tag} renamed"
            env["hr.attendance"].create(
                {"employee_id": self.employee_id, "check_in": utc_now() - timedelta(hours=1)}
            )
        thread.join(WAIT_LIMIT)
        self.assertEqual((seen["name_before"], seen["count_before"]), (self.tag, 0))
        self.assertEqual((seen["name_after"], seen["count_after"]), (f"{self.tag} renamed", 1))

    def test_no_person_is_locked_while_jibble_is_called(self):
        self.started_at  # noqa: B018  # pylint: disable=pointless-statement
        simulator = JibbleSimulator(max_page_size=2).start()
        self.addCleanup(simulator.stop)
        day = (utc_now() - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        for hours in (8, 9, 10, 11, 12):
            simulator.add_time_entry(
                self.person_id, "In" if hours % 2 == 0 else "Out", day + timedelta(hours=hours)
            )
        with self.connection() as env:
            configure_connector(env, simulator, day - timedelta(days=1))
            # One batch per pull whatever the time of day: inside a test the batches of a run
            # share one transaction, so the locks of a batch would outlive it.
            env["ir.config_parameter"].set_param("jibble_connector.sync_batch_hours", "72")
            env["ir.config_parameter"].set_param("jibble_connector.sync_overlap_hours", "48")
        locks_seen, pull_pid = [], []

        def look_at_locks(_path, _query):
            with self.connection() as observer:
                observer.cr.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND classid::bigint = %s AND pid = %s",
                    [transaction.PERSON_LOCKS, pull_pid[0]],
                )
                locks_seen.append(observer.cr.fetchone()[0])

        simulator.on_request(look_at_locks, count=10000)
        with self.connection() as env:
            pull_pid.append(env.cr.connection.info.backend_pid)
            env["jibble.sync.service"]._sync_all("manual")
        simulator.delete_time_entry(simulator.time_entries[0]["id"])
        with self.connection() as env:
            pull_pid[0] = env.cr.connection.info.backend_pid
            env["jibble.sync.service"]._sync_all("manual")
        self.assertGreater(len(locks_seen), 5)
        self.assertEqual(set(locks_seen), {0})
        with self.connection() as env:
            attendances = env["hr.attendance"].search([("employee_id", "=", self.employee_id)])
            self.assertEqual(len(attendances), 2)
