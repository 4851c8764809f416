"""What one Jibble time entry says, read once: plain Python, no ORM.

Jibble's `time` is the truth (a UTC instant); `localTime`, `offset` and `belongsToDate` say how
the person saw it. Every value is read here, so that an unreadable one holds that entry with a
reason instead of failing the whole batch.
"""

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

CLOCK_IN = "In"
CLOCK_OUT = "Out"
START_BREAK = "StartBreak"
AUTO_OUT = "AutoOut"
ARCHIVED = "Archived"

# From a pull or from an event: at the same instant an event, which names the change, wins.
FROM_PULL, FROM_EVENT = 0, 1

_INSTANT = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?"
    r"(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)
_DURATION = re.compile(
    r"^(?P<sign>[+-])?P(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>[+-]?\d+)H)?(?:(?P<minutes>[+-]?\d+)M)?(?:(?P<seconds>[+-]?\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)
_CLOCK_OFFSET = re.compile(r"^(?P<sign>[+-])(?P<hours>\d{2}):?(?P<minutes>\d{2})$")
_TEXT_LIMIT = 255
# Fields of a TimeEntry the connector keeps only when a field mapping asks for them.
EXTRA_KEYS = (
    "platform",
    "isOffline",
    "isManual",
    "isAutomatic",
    "isEndOfDay",
    "isLocked",
    "isUnusual",
    "isOutsideGeofence",
    "createdAt",
)
# UTC offsets run from -12:00 to +14:00; anything beyond 18 hours is not one.
_MAX_OFFSET_MINUTES = 18 * 60


class EntryError(ValueError):
    """An entry that cannot even be stored (no id, no person): the reason, for the log."""


@dataclass(frozen=True)
class News:
    """When Jibble said something: an event's `occurredAt`, or the moment a pull read it.

    Stored with each entry as `key()`; news older than what an entry holds never overwrites
    it, whatever order the news arrives in.
    """

    at: datetime
    source: int = FROM_PULL

    def key(self):
        return f"{self.at.isoformat(timespec='microseconds')}#{self.source}"


@dataclass(frozen=True)
class ParsedEntry:
    """A Jibble TimeEntry as the connector keeps it. `problem` says why it is held, if it is."""

    entry_id: str
    person_id: str
    entry_type: str
    time: datetime | None
    belongs_to_date: date | None
    local_time: str | None
    offset_minutes: int | None
    active: bool
    break_id: str | None
    client_type: str | None
    kiosk_id: str | None
    activity_id: str | None
    project_id: str | None
    location_id: str | None
    latitude: float | None
    longitude: float | None
    note: str | None
    problem: str | None
    extras: dict | None = None


def parse_instant(text):
    """An ISO 8601 instant as naive UTC (what Odoo stores); a value without a zone is UTC.

    Raises ValueError for anything else, including out-of-range dates.
    """
    match = _INSTANT.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"{text!r} is not an ISO 8601 instant")
    fraction = (match["fraction"] or "0")[:6].ljust(6, "0")
    try:
        value = datetime.combine(
            date.fromisoformat(match["date"]),
            datetime.min.time(),
        ).replace(
            hour=int(match["hour"]),
            minute=int(match["minute"]),
            second=int(match["second"] or 0),
            microsecond=int(fraction),
        )
        zone = (match["zone"] or "Z").upper()
        if zone != "Z":
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            value -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    except (ValueError, OverflowError):
        raise ValueError(f"{text!r} is not a valid instant") from None
    return value


def parse_duration(text):
    """An ISO 8601 duration (`PT7H30M12S`, `-PT5H`, `P1DT2H`) in seconds."""
    text = text.strip() if isinstance(text, str) else ""
    match = _DURATION.match(text)
    if not match or text.upper().endswith(("P", "T")):
        raise ValueError(f"{text!r} is not an ISO 8601 duration")
    try:
        seconds = (
            int(match["days"] or 0) * 86400
            + int(match["hours"] or 0) * 3600
            + int(match["minutes"] or 0) * 60
            + float(match["seconds"] or 0)
        )
    except OverflowError:
        seconds = math.inf
    if not math.isfinite(seconds):
        raise ValueError(f"{text[:40]!r} is not a duration Jibble would send")
    return -seconds if match["sign"] == "-" else seconds


def parse_offset(text):
    """Jibble's `offset` in minutes: an ISO 8601 duration (`PT5H30M`, `-PT5H`) or `+05:30`."""
    text = text.strip() if isinstance(text, str) else ""
    clock = _CLOCK_OFFSET.match(text)
    if clock:
        if int(clock["minutes"]) > 59:
            raise ValueError(f"{text!r} is not a UTC offset")
        minutes = int(clock["hours"]) * 60 + int(clock["minutes"])
        minutes = -minutes if clock["sign"] == "-" else minutes
    else:
        minutes = round(parse_duration(text) / 60)
    if abs(minutes) > _MAX_OFFSET_MINUTES:
        raise ValueError(f"{text!r} is not a UTC offset")
    return minutes


def _text(raw, key):
    value = raw.get(key)
    return value[:_TEXT_LIMIT] if isinstance(value, str) and value else None


def _coordinates(value):
    if value is None:
        return None, None
    latitude, longitude = float(value["latitude"]), float(value["longitude"])
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ValueError("coordinates out of range")
    return latitude, longitude


def parse_entry(raw):
    """Read one Jibble TimeEntry. Raises EntryError only when it cannot be stored at all."""
    if not isinstance(raw, dict):
        raise EntryError("a time entry must be a JSON object")
    for key in ("id", "personId"):
        if not _text(raw, key):
            raise EntryError(f"time entry without a usable '{key}'")
    problems = []
    entry_type = _text(raw, "type")
    if not entry_type:
        problems.append("it has no type")

    def read(key, parser):
        value = raw.get(key)
        if value is None:
            return None
        try:
            return parser(value)
        except (ValueError, TypeError, KeyError, OverflowError):
            problems.append(f"its {key} {str(value)[:80]!r} cannot be read")
            return None

    instant = read("time", parse_instant)
    if "time" not in raw or raw["time"] is None:
        problems.append("it has no time")
    belongs_to_date = read("belongsToDate", lambda value: date.fromisoformat(value[:10]))
    read("localTime", parse_instant)
    offset = read("offset", parse_offset)
    latitude, longitude = read("coordinates", _coordinates) or (None, None)
    return ParsedEntry(
        entry_id=_text(raw, "id"),
        person_id=_text(raw, "personId"),
        entry_type=(entry_type or "?")[:32],
        time=instant.replace(microsecond=0) if instant else None,
        belongs_to_date=belongs_to_date,
        local_time=_text(raw, "localTime"),
        offset_minutes=offset,
        active=raw.get("status", "Active") != ARCHIVED,
        break_id=_text(raw, "breakId"),
        client_type=_text(raw, "clientType"),
        kiosk_id=_text(raw, "kioskId"),
        activity_id=_text(raw, "activityId"),
        project_id=_text(raw, "projectId"),
        location_id=_text(raw, "locationId"),
        latitude=latitude,
        longitude=longitude,
        note=_text(raw, "note"),
        problem="; ".join(problems) or None,
        extras={key: raw[key] for key in EXTRA_KEYS if isinstance(raw.get(key), (str, bool))},
    )


def utc_now():
    """Naive UTC with microseconds, the form News and Odoo compare."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
