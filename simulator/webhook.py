"""The sending side of the webhook contract: sign a body and post it."""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone

from .shapes import iso_utc


def sign_body(secret, body, timestamp=None):
    """`sha256=<hex>` of the body, or of "<timestamp>.<body>" when a timestamp is sent."""
    content = f"{timestamp}.".encode() + body if timestamp is not None else body
    return "sha256=" + hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def send_event(
    url, secret, event_type, entry, event_id=None, timestamp=True, occurred_at=None, timeout=30
):
    """Post one signed event; returns (status, JSON answer or text) and never raises on 4xx/5xx.

    `occurredAt` defaults to now, with milliseconds like every Jibble instant.
    """
    event = {
        "id": event_id or str(uuid.uuid4()),
        "type": event_type,
        "occurredAt": occurred_at or iso_utc(datetime.now(timezone.utc)),
        "data": entry,
    }
    body = json.dumps(event, separators=(",", ":")).encode()
    sent_at = str(int(time.time())) if timestamp else None
    headers = {
        "Content-Type": "application/json",
        "X-Jibble-Signature": sign_body(secret, body, sent_at),
    }
    if sent_at:
        headers["X-Jibble-Timestamp"] = sent_at
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text
