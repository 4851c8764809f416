"""Read a webhook body (the contract is in the README): plain Python, no ORM."""

import json
from dataclasses import dataclass
from datetime import datetime

from .entries import parse_instant

TIME_ENTRY_EVENTS = ("TimeEntry.Created", "TimeEntry.Updated", "TimeEntry.Deleted")
MAX_ID_LENGTH = 200


class EventRefused(ValueError):
    """Why a request is refused, with its HTTP status, in words safe to send back."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Event:
    event_id: str
    event_type: str
    occurred_at: datetime | None  # naive UTC with microseconds; None when not usable
    data: dict | None


def _usable_id(value):
    return isinstance(value, str) and value.strip() and len(value) <= MAX_ID_LENGTH


def parse_event(body):
    """The event of a webhook body, or EventRefused(400) saying what is wrong with it.

    For time-entry events the entry needs an `id` (and a `personId` unless it is a
    deletion) to be stored at all; any other unreadable value of the entry is stored and
    held with its reason, not refused here.
    """
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise EventRefused(400, "body is not JSON") from None
    if not isinstance(event, dict):
        raise EventRefused(400, "body is not a JSON object")
    for key in ("id", "type"):
        if not _usable_id(event.get(key)):
            raise EventRefused(400, f"event has no usable '{key}'")
    data = event.get("data")
    if event["type"] in TIME_ENTRY_EVENTS:
        if not isinstance(data, dict) or not _usable_id(data.get("id")):
            raise EventRefused(400, "event has no time entry with an 'id' in 'data'")
        if event["type"] != "TimeEntry.Deleted" and not _usable_id(data.get("personId")):
            raise EventRefused(400, "time entry has no usable 'personId'")
    try:
        occurred_at = parse_instant(event.get("occurredAt"))
    except ValueError:
        occurred_at = None
    return Event(event["id"], event["type"], occurred_at, data if isinstance(data, dict) else None)
