"""POST /jibble/webhook: verify, store, answer. Applying is the sync service's job."""

import json
import logging
import time
from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields, http
from odoo.http import request
from odoo.modules.registry import Registry

from ..jibble.client import parse_jibble_datetime
from ..jibble.signature import SignatureError, verify_signature
from ..models.jibble_webhook_event import ENTRY_EVENT_TYPES

_logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
REFUSAL_LOG_INTERVAL = timedelta(minutes=1)
DEFAULT_TOLERANCE = 300


class WebhookRefused(Exception):
    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def parse_event(body):
    """The event of a webhook body, or WebhookRefused(400) saying what is wrong with it."""
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRefused(400, "body is not JSON") from None
    if not isinstance(event, dict):
        raise WebhookRefused(400, "body is not a JSON object")
    for key in ("id", "type"):
        if not isinstance(event.get(key), str) or not event[key].strip() or len(event[key]) > 200:
            raise WebhookRefused(400, f"event has no usable '{key}'")
    if event["type"] not in ENTRY_EVENT_TYPES:
        return event
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
        raise WebhookRefused(400, "event has no time entry with an 'id' in 'data'")
    if event["type"] != "TimeEntry.Deleted":
        for key in ("personId", "type", "time"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise WebhookRefused(400, f"time entry has no usable '{key}'")
        try:
            parse_jibble_datetime(data["time"])
        except (ValueError, TypeError):
            raise WebhookRefused(400, "time entry 'time' is not an ISO 8601 instant") from None
    return event


class JibbleWebhookController(http.Controller):
    @http.route(
        "/jibble/webhook",
        type="http",
        auth="none",
        methods=["POST"],
        csrf=False,
        save_session=False,
        readonly=False,
    )
    def jibble_webhook(self, **query):
        """Store the event, then apply it in a savepoint (or queue it for the inbox cron):
        a failure while applying keeps the event for a retry, and all is committed before
        the answer is sent."""
        try:
            dbname = self._database(query.get("db"))
        except WebhookRefused as refusal:
            return self._answer(refusal.status, "refused", refusal.reason)
        if dbname == request.db:
            return self._handle(request.env.cr)
        with Registry(dbname).cursor() as cr:
            return self._handle(cr)

    def _handle(self, cr):
        env = api.Environment(cr, SUPERUSER_ID, {})
        remote = request.httprequest.remote_addr
        try:
            event = self._accept(env, remote)
        except WebhookRefused as refusal:
            self._log_refusal(env, refusal, remote)
            return self._answer(refusal.status, "refused", refusal.reason)
        if event is None:
            return self._answer(202, "ignored", "event type is not handled")
        stored = env["jibble.webhook.event"]._store(event)
        if not stored:
            return self._answer(200, "duplicate", "event already received")
        mode = env["ir.config_parameter"].sudo().get_param("jibble_connector.webhook_apply_mode")
        if mode == "queue":
            stored._queue()
            return self._answer(202, "queued", None)
        env["jibble.sync.service"]._read_committed_from_here()
        stored._process()
        return self._answer(200 if stored.state == "done" else 202, stored.state, None)

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
        raise WebhookRefused(404, "no database matches this request")

    def _accept(self, env, remote):
        """Verify and parse; returns the inbox values, None for an ignored type, or refuses."""
        params = env["ir.config_parameter"].sudo()
        secret = env["jibble.sync.service"]._secret("webhook_secret")
        if not secret:
            raise WebhookRefused(503, "webhook secret not configured")
        length = request.httprequest.content_length
        if length is not None and length > MAX_BODY_BYTES:
            raise WebhookRefused(413, "body larger than 1 MiB")
        body = request.httprequest.get_data()
        if len(body) > MAX_BODY_BYTES:
            raise WebhookRefused(413, "body larger than 1 MiB")
        headers = request.httprequest.headers
        tolerance = int(
            params.get_param("jibble_connector.signature_tolerance") or DEFAULT_TOLERANCE
        )
        try:
            verify_signature(
                secret,
                body,
                headers.get("X-Jibble-Signature"),
                headers.get("X-Jibble-Timestamp"),
                time.time(),
                tolerance,
            )
        except SignatureError as error:
            raise WebhookRefused(401, str(error)) from None
        event = parse_event(body)
        if event["type"] not in ENTRY_EVENT_TYPES:
            env["jibble.sync.log"]._record(
                "webhook",
                "skipped",
                env._("Webhook event of type %s ignored.", event["type"][:80]),
                trigger="webhook",
                jibble_event_id=event["id"],
                remote_address=remote,
            )
            return None
        occurred_at = event.get("occurredAt")
        try:
            occurred_at = parse_jibble_datetime(occurred_at) if occurred_at else False
        except (ValueError, TypeError, AttributeError):
            occurred_at = False
        return {
            "event_id": event["id"],
            "event_type": event["type"],
            "occurred_at": occurred_at,
            "payload": json.dumps(event),
            "jibble_entry_id": event["data"]["id"],
            "remote_address": remote,
        }

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
