"""The JSON shapes Jibble serves (Person, TimeEntry) and its date and duration spellings.

The server and the dataset generator both build their rows here, so that data added by a
test and data generated for a benchmark look the same on the wire.
"""

from datetime import date, datetime, timezone

PLATFORMS = {"Web": "Chrome", "Mobile": "Android", "Kiosk": "iPadOS"}


def parse_datetime(text):
    """ISO 8601 with a Z, an offset or neither (then UTC, as Jibble's `time` is)."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def as_instant(value):
    """A string or a datetime as an aware datetime; naive ones are UTC, like strings."""
    value = parse_datetime(value) if isinstance(value, str) else value
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def iso_utc(value):
    """Jibble's instant format: UTC with milliseconds and a Z."""
    value = as_instant(value).astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def iso_date(value):
    """`YYYY-MM-DD` from a date or a string; ValueError for anything else."""
    return date.fromisoformat(str(value)).isoformat()


def iso_duration(seconds):
    """Whole seconds as Jibble spells a duration: `PT7H30M12S`, `-PT5H`, `PT0S`."""
    sign, seconds = ("-" if seconds < 0 else ""), abs(int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n]
    return f"{sign}PT{''.join(parts) or '0S'}"


def person(
    person_id, full_name, email, code, status, organization_id, user_id, removed_at=None, **extra
):
    """A Person as the workspace API lists it (no `timeZone`: Jibble was not seen sending it);
    `extra` overrides or adds raw fields.

    `latestTimeEntryTime` is filled in when the person is served, from their entries.
    """
    first, _, last = full_name.partition(" ")
    record = {
        "id": person_id,
        "fullName": full_name,
        "firstName": first,
        "lastName": last,
        "email": email,
        "code": code,
        "status": status,
        "role": "Member",
        "groupId": None,
        "userId": user_id,
        "organizationId": organization_id,
        "removedAt": removed_at,
        "latestTimeEntryTime": None,
    }
    record.update(extra)
    return record


def set_time(entry, instant, zone, local_time_offset=True, belongs_to_date=None):
    """Keep time, localTime, offset and belongsToDate consistent, as Jibble does."""
    instant = as_instant(instant)
    local = instant.astimezone(zone)
    entry["time"] = iso_utc(instant)
    entry["localTime"] = (local if local_time_offset else local.replace(tzinfo=None)).isoformat(
        timespec="milliseconds"
    )
    entry["offset"] = iso_duration(local.utcoffset().total_seconds())
    entry["belongsToDate"] = iso_date(belongs_to_date or local.date())


def time_entry(
    entry_id,
    person_id,
    entry_type,
    instant,
    zone,
    local_time_offset=True,
    belongs_to_date=None,
    break_id=None,
    activity_id=None,
    project_id=None,
    location_id=None,
    coordinates=None,
    note=None,
    status="Active",
    client_type="Web",
    kiosk_id=None,
    **extra,
):
    """A TimeEntry with every seen field; `extra` overrides or adds raw fields.

    An `AutoOut` is the clock-out Jibble makes itself at the end of a forgotten day, so it
    is automatic and end-of-day; `createdAt` is the entry's own time unless given.
    """
    entry = {
        "id": entry_id,
        "personId": person_id,
        "type": entry_type,
        "breakId": break_id,
    }
    set_time(entry, instant, zone, local_time_offset, belongs_to_date)
    entry.update(
        {
            "activityId": activity_id,
            "projectId": project_id,
            "locationId": location_id,
            "coordinates": coordinates,
            "note": note,
            "status": status,
            "isOffline": False,
            "isManual": False,
            "clientType": client_type,
            "platform": PLATFORMS.get(client_type),
            "kioskId": kiosk_id,
            "isAutomatic": client_type == "AutoOut",
            "isEndOfDay": client_type == "AutoOut",
            "isLocked": False,
            "isUnusual": False,
            "isOutsideGeofence": False,
            "createdAt": entry["time"],
        }
    )
    entry.update(extra)
    return entry
