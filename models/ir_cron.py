"""Waking the connector's crons now (the inbox cron for each queued webhook event, a cron
with work remaining) at the cost of one statement and one notification on a connection the
process keeps (see `CronWakeUp`)."""

import logging
import os
import threading

import psycopg2
from psycopg2 import sql

from odoo import fields, models
from odoo.addons.base.models.ir_cron import ODOO_NOTIFY_FUNCTION
from odoo.sql_db import connection_info_for
from odoo.tools import SQL

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


class IrCron(models.Model):
    _inherit = "ir.cron"

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
