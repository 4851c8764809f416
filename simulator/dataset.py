"""Realistic Jibble data: working days with breaks, activity switches, forgotten clock-outs
that Jibble closed itself, several time zones, edits, removed people and gaps."""

import random
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .shapes import iso_utc, person, time_entry

TIME_ZONES = ["Europe/Brussels", "America/New_York", "Asia/Kolkata", "UTC", "Pacific/Auckland"]
FIRST_NAMES = [
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elif",
    "Femi",
    "Grace",
    "Hiro",
    "Ines",
    "Jon",
    "Kemal",
    "Lena",
    "Milo",
    "Nour",
    "Olga",
    "Pavel",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
]
LAST_NAMES = [
    "Smith",
    "Garcia",
    "Okafor",
    "Tanaka",
    "Novak",
    "Dubois",
    "Rossi",
    "Khan",
    "Silva",
    "Berg",
]
ACTIVITIES = ["Development", "Support", "Meetings", "Sales", "Training"]
PROJECTS = ["Apollo", "Borealis", "Cobalt"]
LOCATIONS = ["Head office", "Warehouse", "Home"]
# Where a person's phone is when they clock in from the mobile app, per zone.
CITIES = {
    "Europe/Brussels": (50.8466, 4.3528),
    "America/New_York": (40.7128, -74.0060),
    "Asia/Kolkata": (22.5726, 88.3639),
    "UTC": (51.5072, -0.1276),
    "Pacific/Auckland": (-36.8485, 174.7633),
}
# When Jibble clocks out someone who forgot to (clientType `AutoOut`), in their zone.
AUTO_OUT_AT = time(23, 59)


def _uuid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def generate_dataset(
    people=30,
    days=14,
    start_date=None,
    seed=1,
    match_emails=(),
    email_domain="example.com",
    breaks=True,
    auto_outs=True,
    switches=True,
):
    """People x working days of time entries, deterministic for a seed.

    A day is `In`, a lunch break (`StartBreak`, then the `In` with its breakId 30 to 60
    minutes later) and `Out`. About one person-day in 15 switches activity in the morning
    (a second `In`), and about one in 12 ends with Jibble's own `AutoOut` at 23:59 local
    time instead of the person's `Out`. Each person clocks in from the web, the mobile app
    (with coordinates) or a kiosk. `breaks=False` takes lunch as `Out` and `In`;
    `auto_outs=False` and `switches=False` leave those out, for plain days.

    Every person has a code; every seventh has no email; the given `match_emails` go to the
    first people so that they match Odoo employees; about one in 15 other people was
    removed two thirds through the period (their entries stay); two in three have
    `localTime` values with an offset. On the last day every fifth person is still clocked
    in. About one entry in fifty was edited (archived and replaced by a corrected copy).

    The simulator keeps time zones off the served Person, so they travel in `zones`.
    """
    rng = random.Random(seed)
    start_date = start_date or date.today() - timedelta(days=days)
    activities = [{"id": _uuid(rng), "name": name} for name in ACTIVITIES]
    projects = [{"id": _uuid(rng), "name": name} for name in PROJECTS]
    locations = [{"id": _uuid(rng), "name": name} for name in LOCATIONS]
    kiosks = {location["id"]: _uuid(rng) for location in locations}
    groups = [_uuid(rng), _uuid(rng)]
    dataset = {
        "people": [],
        "zones": {},
        "activities": activities,
        "projects": projects,
        "locations": locations,
        "time_entries": [],
    }
    working_days = [
        start_date + timedelta(days=n)
        for n in range(days)
        if (start_date + timedelta(days=n)).weekday() < 5
    ]
    options = {"breaks": breaks, "auto_outs": auto_outs, "switches": switches}
    for index in range(people):
        first = FIRST_NAMES[index % len(FIRST_NAMES)]
        last = LAST_NAMES[index // len(FIRST_NAMES) % len(LAST_NAMES)]
        name = f"{first} {last}"
        if index >= len(FIRST_NAMES) * len(LAST_NAMES):
            name += f" {index}"
        if index < len(match_emails):
            email = match_emails[index]
        elif index % 7 == 6:
            email = None
        else:
            email = f"{name.lower().replace(' ', '.')}@{email_domain}"
        zone_name = TIME_ZONES[index % len(TIME_ZONES)]
        zone = ZoneInfo(zone_name)
        removed = index % 15 == 14 and index >= len(match_emails)
        days_worked = working_days[: len(working_days) * 2 // 3] if removed else working_days
        removed_at = None
        if removed:
            leaving = (days_worked[-1] if days_worked else start_date) + timedelta(days=1)
            removed_at = iso_utc(datetime.combine(leaving, time(9), tzinfo=zone))
        record = person(
            _uuid(rng),
            name,
            email,
            f"E{index + 1:04d}",
            "Removed" if removed else "Joined",
            None,
            _uuid(rng),
            removed_at,
            role="Owner" if index == 0 else "Manager" if index % 10 == 5 else "Member",
            groupId=groups[index % len(groups)],
        )
        dataset["people"].append(record)
        local_time_offset = index % 3 != 2
        dataset["zones"][record["id"]] = {
            "time_zone": zone_name,
            "local_time_offset": local_time_offset,
        }
        habit = {
            "client": rng.choices(["Web", "Mobile", "Kiosk"], weights=[6, 3, 1])[0],
            "zone": zone,
            "local_time_offset": local_time_offset,
            "city": CITIES[zone_name],
            "kiosks": kiosks,
        }
        for day in days_worked:
            still_in = day == working_days[-1] and index % 5 == 0
            moments = _moments(rng, day, activities, still_in, **options)
            dataset["time_entries"].extend(
                _entries(rng, record["id"], day, moments, projects, locations, habit)
            )
    return dataset


def _around(rng, day, start, minutes, at_least=0):
    """A local time `at_least` to `minutes` minutes after `start` on `day`, to the
    millisecond as Jibble records them."""
    return datetime.combine(day, start) + timedelta(
        milliseconds=rng.randint(at_least * 60_000, minutes * 60_000)
    )


def _moments(rng, day, activities, still_in, breaks, auto_outs, switches):
    """What a person did on a day, in order, as (type, local time, fields) triples."""
    start = _around(rng, day, time(8), 90)
    lunch = _around(rng, day, time(12), 60)
    back = _around(rng, day, lunch.time(), 60, at_least=30)
    end = _around(rng, day, time(16, 30), 120)
    activity = rng.choice(activities)["id"]
    moments = [("In", start, {"activity_id": activity})]
    if switches and rng.random() < 1 / 15:
        switch = _around(rng, day, time(10), 60)
        activity = rng.choice([item for item in activities if item["id"] != activity])["id"]
        moments.append(("In", switch, {"activity_id": activity}))
    if breaks:
        break_id = _uuid(rng)
        moments += [
            ("StartBreak", lunch, {"break_id": break_id}),
            ("In", back, {"break_id": break_id, "activity_id": activity}),
        ]
    else:
        moments += [("Out", lunch, {}), ("In", back, {"activity_id": activity})]
    if still_in:
        return moments
    if auto_outs and rng.random() < 1 / 12:
        moments.append(("Out", datetime.combine(day, AUTO_OUT_AT), {"client_type": "AutoOut"}))
    else:
        moments.append(("Out", end, {}))
    return moments


def _entries(rng, person_id, day, moments, projects, locations, habit):
    """The TimeEntries of one day's moments; about one in fifty edited after the fact."""
    project = rng.choice(projects)["id"]
    location = rng.choice(locations)["id"]
    client = habit["client"]
    entries = []
    for entry_type, local, fields in moments:
        fields = {"client_type": client, **fields}
        if entry_type == "In":
            fields.update(project_id=project, location_id=location)
        if fields["client_type"] == "Kiosk":
            fields["kiosk_id"] = habit["kiosks"][location]
        if fields["client_type"] == "Mobile":
            latitude, longitude = habit["city"]
            fields["coordinates"] = {
                "latitude": round(latitude + rng.uniform(-0.02, 0.02), 6),
                "longitude": round(longitude + rng.uniform(-0.02, 0.02), 6),
            }
            if rng.random() < 0.05:
                # Recorded offline, uploaded when the phone was back online.
                later = local + timedelta(minutes=rng.randint(1, 30))
                fields.update(
                    isOffline=True, createdAt=iso_utc(later.replace(tzinfo=habit["zone"]))
                )
        entry = _entry(rng, person_id, entry_type, local, day, habit, fields)
        if fields["client_type"] != "AutoOut" and rng.random() < 0.02:
            entries.append({**entry, "status": "Archived"})
            corrected = local + timedelta(minutes=rng.choice([-5, 5]))
            edited_at = datetime.combine(day + timedelta(days=1), time(9), tzinfo=habit["zone"])
            fields.update(isManual=True, createdAt=iso_utc(edited_at))
            entry = _entry(rng, person_id, entry_type, corrected, day, habit, fields)
        entries.append(entry)
    return entries


def _entry(rng, person_id, entry_type, local, day, habit, fields):
    return time_entry(
        _uuid(rng),
        person_id,
        entry_type,
        local.replace(tzinfo=habit["zone"]),
        habit["zone"],
        habit["local_time_offset"],
        belongs_to_date=day,
        **fields,
    )
