"""Waking the connector's crons now (the inbox cron for each queued webhook event, a cron
with work remaining) at the cost of one statement and one notification on a connection the
process keeps (see `CronWakeUp`); and how long the runner has been running one of their turns
(see `CronTurn`)."""

import logging
import os
import threading
import time

import psycopg2
from psycopg2 import sql

from odoo import fields, models
from odoo.addons.base.models.ir_cron import ODOO_NOTIFY_FUNCTION
from odoo.service.server import SLEEP_INTERVAL
from odoo.sql_db import connection_info_for
from odoo.tools import SQL, config

_logger = logging.getLogger(__name__)

# Context key: wake the cron workers through this process's kept connection.
KEPT_WAKE_UP = "jibble_kept_wake_up"


class CronWakeUp:
    """One connection to the `postgres` database per process, kept open to wake the cron
    workers. They listen there (a notification reaches only its own database), and Odoo's
    pool never keeps a connection to `postgres`: for each trigger, Odoo's `_notifydb` opens
    one, so PostgreSQL starts and ends a server process per queued webhook event."""

    def __init__(self):
        self._lock = threading.Lock()
        self._connection = None
        self._pid = None

    def notify(self, dbname):
        """Send the same notification as Odoo's `_notifydb`; raises psycopg2.Error after
        dropping the connection, so that the next call opens a new one."""
        statement = sql.SQL("SELECT {}('cron_trigger', %s)").format(
            sql.Identifier(ODOO_NOTIFY_FUNCTION)
        )
        with self._lock:
            try:
                with self._connected().cursor() as cursor:
                    cursor.execute(statement, [dbname])
            except psycopg2.Error:
                self._close()
                raise

    def _connected(self):
        # A connection opened before a fork belongs to the parent: prefork workers open
        # their own.
        if self._connection is None or self._connection.closed or self._pid != os.getpid():
            _dbname, info = connection_info_for("postgres")
            self._connection = psycopg2.connect(**info)
            self._connection.autocommit = True
            self._pid = os.getpid()
        return self._connection

    def _close(self):
        if self._connection is not None and self._pid == os.getpid():
            self._connection.close()
        self._connection = None


cron_wake_up = CronWakeUp()


class CronTurn(threading.local):
    """When the cron runner began its current turn of a job, and its current call, in this
    thread.

    Odoo kills a cron worker (a threaded server restarts) when one turn outlasts the time limit
    (`limit_time_real_cron`, else `limit_time_real`: 120 s by default), and a turn holds every
    call of every ready job: one that reports work remaining is called up to ten times in it.
    A prefork worker's clock also runs through the sleep before its turn, up to a minute when
    no notification cuts it short, so that turn may have 50 s of the 120: ten pull batches of
    25 s got the worker killed in the middle of one, and a batch that took over 50 s was killed
    turn after turn."""

    turn_started = None
    call_started = None

    def another_call_fits(self, expected_seconds=0):
        """Whether one more call, as long as the last one or as `expected_seconds`, ends within
        `TURN_SHARE` of the time a turn may take (`turn_seconds`). True outside the runner, or
        with no limit."""
        available = turn_seconds()
        if available is None or self.turn_started is None or self.call_started is None:
            return True
        now = time.time()
        # A threaded server's cron thread notes the start of the whole turn, its jobs before
        # this one included; a prefork worker does not say.
        thread = threading.current_thread()
        started = getattr(thread, "type", None) == "cron" and thread.start_time
        started = started or self.turn_started
        next_call = max(now - self.call_started, expected_seconds)
        return (now - started) + next_call <= available * TURN_SHARE


cron_turn = CronTurn()
TURN_SHARE = 0.8


def turn_seconds():
    """Seconds a turn of the cron runner may take at worst before the server stops it, or
    None without a limit. A cron limit of 0 turns the limit off for prefork cron workers only
    (threaded servers then use `limit_time_real`): taken as `limit_time_real` here, which at
    worst ends a turn early."""
    cron_limit = config["limit_time_real_cron"]
    limit = cron_limit if cron_limit and cron_limit > 0 else config["limit_time_real"]
    if not limit:
        return None
    if config["workers"]:
        # The sleep before a prefork worker's turn counts (SLEEP_INTERVAL + pid % 10).
        return max(limit - SLEEP_INTERVAL - 10, limit / 4)
    return limit


class IrCron(models.Model):
    _inherit = "ir.cron"

    @classmethod
    def _run_job(cls, job):
        cron_turn.turn_started = time.time()
        try:
            return super()._run_job(job)
        finally:
            cron_turn.turn_started = cron_turn.call_started = None

    def _callback(self, cron_name, server_action_id):
        cron_turn.call_started = time.time()
        return super()._callback(cron_name, server_action_id)

    def _jibble_trigger_now(self):
        """`_trigger()` for one of the connector's crons, in one statement, and the workers
        woken through the connection this process keeps. Odoo's reads the cron, then creates
        the trigger row through the ORM: a queued webhook event's trigger cost more than
        storing the event. Same row, and none for an archived cron, as Odoo's."""
        self.ensure_one()
        self.flush_recordset(["active"])
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO ir_cron_trigger
                       (cron_id, call_at, create_uid, create_date, write_uid, write_date)
                SELECT id, %(now)s, %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM ir_cron
                 WHERE id = %(cron)s AND active
                """,
                now=now,
                uid=self.env.uid,
                cron=self.id,
            )
        )
        if self.env.cr.rowcount:
            self._jibble_wake_up()

    def _jibble_wake_up(self):
        """After the commit, wake the cron workers through the connection this process keeps,
        so that a ready job runs now rather than at their next look (up to a minute)."""
        self.env.cr.postcommit.add(self.with_context(**{KEPT_WAKE_UP: True})._notifydb)

    def _notifydb(self):
        """Wake the cron workers through the connection this process keeps, for the
        connector's triggers (`KEPT_WAKE_UP` in the context); Odoo's own way otherwise, and
        when the kept connection fails."""
        if not self.env.context.get(KEPT_WAKE_UP):
            return super()._notifydb()
        try:
            cron_wake_up.notify(self.env.cr.dbname)
        except psycopg2.Error:
            _logger.warning("Kept connection to wake the cron workers failed", exc_info=True)
            super()._notifydb()
