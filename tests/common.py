import select
import uuid
from contextlib import contextmanager
from datetime import datetime, time, timedelta, timezone
from unittest.mock import patch
from urllib.parse import urlsplit

import psycopg2
from lxml import etree

from odoo.exceptions import AccessError
from odoo.sql_db import Cursor, connection_info_for
from odoo.tests import TransactionCase, new_test_user
from odoo.tests.common import _super_send
from odoo.tools import SQL, mute_logger

from ..jibble.events import Event
from ..simulator import JibbleSimulator


def make_users(env):
    """One user per role the connector distinguishes, named after it."""
    return {
        "employee": new_test_user(env, "jibble_employee", groups="base.group_user"),
        "officer": new_test_user(
            env,
            "jibble_officer",
            groups="base.group_user,hr_attendance.group_hr_attendance_officer",
        ),
        "attendance_admin": new_test_user(
            env,
            "jibble_attendance_admin",
            groups="base.group_user,hr_attendance.group_hr_attendance_manager",
        ),
        "system_admin": new_test_user(
            env,
            "jibble_system_admin",
            groups="base.group_user,base.group_system,hr_attendance.group_hr_attendance_manager",
        ),
    }


def form_spec(env):
    """The fields the Settings form asks for, as the web client builds them from its view."""
    arch = env["res.config.settings"].get_views([(False, "form")])["views"]["form"]["arch"]
    return {node.get("name"): {} for node in etree.fromstring(arch).iter("field")}


def can_access(user, record, operation):
    """Whether `user` may `operation` ("read", "write", "create", "unlink") on `record`."""
    try:
        record.with_user(user).check_access(operation)
    except AccessError:
        return False
    return True


def time_entry(entry_id, person_id, entry_type, time, **extra):
    """A Jibble TimeEntry as the API and the webhook carry it."""
    return {
        "id": entry_id,
        "personId": person_id,
        "type": entry_type,
        "time": time,
        "status": "Active",
        "activityId": None,
        "projectId": None,
        "locationId": None,
        **extra,
    }


def configure_connector(env, simulator, start):
    """Point the connector at a running simulator, with fast retries for the tests."""
    env["ir.config_parameter"].sudo().set_param("jibble_connector.sync_enabled", True)
    for key, value in {
        "client_id": simulator.client_id,
        "client_secret": simulator.client_secret,
        "token_url": simulator.token_url,
        "workspace_url": simulator.workspace_url,
        "time_tracking_url": simulator.time_tracking_url,
        "time_attendance_url": simulator.time_attendance_url,
        "sync_start_date": start.strftime("%Y-%m-%d %H:%M:%S"),
        "http_backoff_factor": "0.01",
        "http_read_timeout": "2",
        "sync_overlap_hours": "168",
        "sync_batch_hours": "24",
    }.items():
        env["ir.config_parameter"].sudo().set_param(f"jibble_connector.{key}", value)


@contextmanager
def attendance_inserts_collide(env):
    """Every INSERT into hr_attendance meanwhile fails with PostgreSQL's own serialization
    failure (SQLSTATE 40001), raised by a trigger as the fault drill does."""
    env.cr.execute(
        """CREATE FUNCTION jibble_test_collision() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION 'test collision' USING ERRCODE = '40001'; END $$;
           CREATE TRIGGER jibble_test_collision BEFORE INSERT ON hr_attendance
               FOR EACH STATEMENT EXECUTE FUNCTION jibble_test_collision()"""
    )
    try:
        with mute_logger("odoo.sql_db"):
            yield
    finally:
        env.cr.execute(
            "DROP TRIGGER jibble_test_collision ON hr_attendance;"
            " DROP FUNCTION jibble_test_collision()"
        )


@contextmanager
def statements_run():
    """The SQL statements run meanwhile, as text, recorded as Odoo's `assertQueries` does:
    each still runs on the real database."""
    statements, execute = [], Cursor.execute

    def recording(cursor, query, params=None, log_exceptions=True):
        text = query.code if isinstance(query, SQL) else query
        statements.append(text.decode() if isinstance(text, bytes) else text)
        return execute(cursor, query, params, log_exceptions)

    with patch.object(Cursor, "execute", recording):
        yield statements


class CronWakeUps:
    """The notification that wakes Odoo's cron workers, received as they receive it: a real
    LISTEN on the `postgres` database (a notification reaches only the database it is sent
    in). What the test's transaction has queued for after its commit is cleared on start."""

    def __init__(self, test):
        self.env = test.env
        _dbname, info = connection_info_for("postgres")
        self.listener = psycopg2.connect(**info)
        self.listener.autocommit = True
        test.addCleanup(self.listener.close)
        with self.listener.cursor() as cursor:
            cursor.execute("LISTEN cron_trigger")
        self.env.cr.postcommit.clear()

    def received(self, wait=2.0):
        """Run what the transaction's commit would run (its post-commit callbacks), then
        return the wake-ups of this database that arrived, as (payload, pid of the sending
        PostgreSQL backend); waits up to `wait` seconds for the first."""
        self.env.cr.postcommit.run()
        received = []
        while not received and select.select([self.listener], [], [], wait)[0]:
            self.listener.poll()
            received += [
                (notification.payload, notification.pid)
                for notification in self.listener.notifies
                if notification.payload == self.env.cr.dbname
            ]
            self.listener.notifies.clear()
        return received


class LocalJibbleMixin:
    """Odoo's test harness rewrites request timeouts; calls to the local simulator keep
    theirs, because timeouts are part of what these tests check."""

    @classmethod
    def _request_handler(cls, session, request, /, **kwargs):
        if urlsplit(request.url).hostname == "127.0.0.1":
            return _super_send(session, request, **kwargs)
        return super()._request_handler(session, request, **kwargs)


class SimulatorCase(LocalJibbleMixin, TransactionCase):
    """A fresh simulator per test, the connector configured against it, and some helpers."""

    def setUp(self):
        super().setUp()
        self.simulator = JibbleSimulator(max_page_size=50).start()
        self.addCleanup(self.simulator.stop)
        self.day = datetime.combine(
            datetime.now(timezone.utc).date() - timedelta(days=4), time(), tzinfo=timezone.utc
        )
        configure_connector(self.env, self.simulator, self.day.replace(tzinfo=None))
        self.service = self.env["jibble.sync.service"]

    def at(self, hours, day=0):
        """An aware UTC instant `hours` after midnight of the test's first day (+ `day` days)."""
        return self.day + timedelta(days=day, hours=hours)

    def naive(self, hours, day=0):
        return self.at(hours, day).replace(tzinfo=None)

    def person_with_employee(self, name, **employee_values):
        person = self.simulator.add_person(name, email=f"{name.lower()}@example.com")
        employee = self.env["hr.employee"].create(
            {"name": name, "jibble_user_id": person["id"], **employee_values}
        )
        return person, employee

    def pull(self):
        """Run a whole pull; returns the log rows of its batches."""
        Log = self.env["jibble.sync.log"]
        newest = Log.search([], limit=1, order="id desc").id or 0
        self.service._sync_all("manual")
        return Log.search([("operation", "=", "pull"), ("id", ">", newest)])

    def total(self, logs, counter):
        return sum(logs.mapped(f"{counter}_count"))

    def attendances(self, employee):
        return self.env["hr.attendance"].search(
            [("employee_id", "=", employee.id)], order="check_in"
        )

    def intervals(self, employee):
        return [(a.check_in, a.check_out or None) for a in self.attendances(employee)]

    def last_log(self, operation="pull"):
        return self.env["jibble.sync.log"].search([("operation", "=", operation)], limit=1)

    def entry(self, entry_id):
        return self.env["jibble.time.entry"].search([("entry_id", "=", entry_id)])

    def deliver(self, event_type, data, occurred_at=None):
        """Store and apply a webhook event as the controller does; returns the stored event."""
        return deliver_event(self.env, event_type, data, occurred_at)


def deliver_event(env, event_type, data, occurred_at=None):
    """Store and apply one event, dated `occurred_at` (naive UTC) or now."""
    occurred_at = occurred_at or datetime.now(timezone.utc).replace(tzinfo=None)
    event = Event(str(uuid.uuid4()), event_type, occurred_at, data)
    stored = env["jibble.webhook.event"]._store(event, "127.0.0.1", queued=False)
    stored._apply()
    return stored
