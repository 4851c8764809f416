"""POST /jibble/webhook: verify, store, answer. Applying is the inbox's job."""

import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from odoo import SUPERUSER_ID, api, fields, http
from odoo.http import request
from odoo.modules.registry import Registry

from ..jibble.events import EventRefused, parse_event
from ..jibble.secret_box import SecretKeyError
from ..jibble.signature import SignatureError, verify_signature

MAX_BODY_BYTES = 1024 * 1024
REFUSAL_LOG_INTERVAL = timedelta(minutes=1)
DEFAULT_TOLERANCE = 300
DEFAULT_RETENTION_DAYS = 90
# How Odoo handles an event's request: no session, no CSRF token (the sender is not a browser),
# a read-write cursor. bench/floor_addon's route uses the same, so that it measures the same
# request handling.
EVENT_ROUTE = dict(
    type="http", auth="none", methods=["POST"], csrf=False, save_session=False, readonly=False
)


class JibbleWebhookController(http.Controller):
    @http.route("/jibble/webhook", **EVENT_ROUTE)
    def jibble_webhook(self, **query):
        """Store the event (committed before anything else), then apply it or leave it to the
        inbox cron; a failure while applying keeps the event for a retry."""
        try:
            dbname = self._database(query.get("db"))
        except EventRefused as refusal:
            return self._answer(refusal.status, "refused", refusal.reason)
        if dbname == request.db:
            return self._handle(request.env.cr)
        with Registry(dbname).cursor() as cr:
            return self._handle(cr)

    def _handle(self, cr):
        # The sender is not an Odoo user: the event is checked by its signature, then
        # handled as the superuser, once, here.
        env = api.Environment(cr, SUPERUSER_ID, {})
        remote = request.httprequest.remote_addr
        try:
            event = self._accept(env)
        except EventRefused as refusal:
            self._log_refusal(env, refusal, remote)
            return self._answer(refusal.status, "refused", refusal.reason)
        Inbox = env["jibble.webhook.event"]
        if event.event_type not in Inbox._handlers():
            env["jibble.sync.log"]._record(
                "webhook",
                "skipped",
                env._("Webhook event of type %s ignored.", event.event_type[:80]),
                trigger="webhook",
                jibble_event_id=event.event_id,
                remote_address=remote,
            )
            return self._answer(202, "ignored", "event type is not handled")
        queued = env["jibble.config"]._param("webhook_apply_mode") == "queue"
        stored = Inbox._store(event, remote, queued)
        if not stored:
            return self._answer(200, "duplicate", "event already received")
        if queued:
            stored._queue()
            return self._answer(202, "queued", None)
        state = stored._apply()
        return self._answer(200 if state == "done" else 202, state, stored.last_error or None)

    @http.route("/jibble/webhook/health", type="http", auth="none", methods=["GET"])
    def jibble_webhook_health(self):
        """For load balancers and monitoring; also the benchmark's framework floor."""
        return self._answer(200, "ok", None)

    def _database(self, requested):
        """The request's database; `?db=` picks one only among those the dbfilter allows."""
        if request.db and (not requested or requested == request.db):
            return request.db
        if requested and http.db_filter([requested], host=request.httprequest.host):
            return requested
        raise EventRefused(404, "no database matches this request")

    def _accept(self, env):
        """Verify and read the request; returns the Event or raises EventRefused."""
        Config = env["jibble.config"]
        if Config._is_neutralized():
            raise EventRefused(503, "this database is a neutralized copy")
        try:
            secret = Config._secret("webhook_secret")
        except SecretKeyError:
            raise EventRefused(503, "the webhook secret cannot be read on this server") from None
        if not secret:
            raise EventRefused(503, "webhook secret not configured")
        length = request.httprequest.content_length
        if length is not None and length > MAX_BODY_BYTES:
            raise EventRefused(413, "body larger than 1 MiB")
        body = request.httprequest.get_data()
        if len(body) > MAX_BODY_BYTES:
            raise EventRefused(413, "body larger than 1 MiB")
        headers = request.httprequest.headers
        timestamp = headers.get("X-Jibble-Timestamp")
        if timestamp is None and not Config._param("accept_unsigned_timestamps"):
            raise EventRefused(401, "missing X-Jibble-Timestamp header")
        tolerance = Config._int_param("signature_tolerance", DEFAULT_TOLERANCE)
        try:
            verify_signature(
                secret, body, headers.get("X-Jibble-Signature"), timestamp, time.time(), tolerance
            )
        except SignatureError as error:
            raise EventRefused(401, str(error)) from None
        event = parse_event(body)
        occurred_at = event.occurred_at or (
            datetime.fromtimestamp(int(timestamp), timezone.utc).replace(tzinfo=None)
            if timestamp
            else None
        )
        if occurred_at is None:
            raise EventRefused(400, "event has no usable 'occurredAt'")
        now = fields.Datetime.now()
        retention = Config._int_param("log_retention_days", DEFAULT_RETENTION_DAYS)
        if occurred_at < now - timedelta(days=retention):
            raise EventRefused(
                400, f"event is older than the {retention} days event ids are remembered"
            )
        if occurred_at > now + timedelta(seconds=max(tolerance, DEFAULT_TOLERANCE)):
            raise EventRefused(400, "event 'occurredAt' is in the future")
        return replace(event, occurred_at=occurred_at)

    def _log_refusal(self, env, refusal, remote):
        """One row per reason and address a minute: a flood cannot fill the database."""
        message = env._(
            "Webhook refused (HTTP %(status)s): %(reason)s",
            status=refusal.status,
            reason=refusal.reason,
        )
        recent = env["jibble.sync.log"].search_count(
            [
                ("operation", "=", "webhook"),
                ("message", "=", message),
                ("remote_address", "=", remote),
                ("start", ">=", fields.Datetime.now() - REFUSAL_LOG_INTERVAL),
            ],
            limit=1,
        )
        if not recent:
            env["jibble.sync.log"]._record(
                "webhook", "failed", message, trigger="webhook", remote_address=remote
            )

    def _answer(self, status, state, reason):
        body = {"status": state}
        if reason:
            body["reason"] = reason
        return request.make_json_response(body, status=status)
