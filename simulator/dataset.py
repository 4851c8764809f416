"""Realistic Jibble data: working days, lunch breaks, several time zones, edits and gaps."""

import random
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .server import iso_utc

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


def _uuid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def generate_dataset(
    people=30, days=14, start_date=None, seed=1, match_emails=(), email_domain="example.com"
):
    """People x working days of clock-ins and outs, deterministic for a seed.

    Every seventh person has no email; the given `match_emails` go to the first people so
    that they match Odoo employees; on the last day every fifth person is still clocked in;
    about one entry in fifty was edited (archived and replaced by a corrected copy).
    """
    rng = random.Random(seed)
    start_date = start_date or date.today() - timedelta(days=days)
    activities = [{"id": _uuid(rng), "name": name} for name in ACTIVITIES]
    projects = [{"id": _uuid(rng), "name": name} for name in PROJECTS]
    locations = [{"id": _uuid(rng), "name": name} for name in LOCATIONS]
    dataset = {
        "people": [],
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
        person = {
            "id": _uuid(rng),
            "fullName": name,
            "email": email,
            "status": "Joined",
            "timeZone": TIME_ZONES[index % len(TIME_ZONES)],
        }
        dataset["people"].append(person)
        zone = ZoneInfo(person["timeZone"])
        for day in working_days:
            still_in = day == working_days[-1] and index % 5 == 0
            dataset["time_entries"].extend(
                _working_day(rng, person, zone, day, activities, projects, locations, still_in)
            )
    return dataset


def _working_day(rng, person, zone, day, activities, projects, locations, still_in):
    """In, lunch Out and In, then Out: four entries (one fewer when still clocked in)."""
    start = datetime.combine(day, time(8)) + timedelta(minutes=rng.randint(0, 90))
    lunch = datetime.combine(day, time(12)) + timedelta(minutes=rng.randint(0, 60))
    back = lunch + timedelta(minutes=rng.randint(30, 60))
    end = datetime.combine(day, time(16, 30)) + timedelta(minutes=rng.randint(0, 120))
    activity = rng.choice(activities)["id"]
    project = rng.choice(projects)["id"]
    location = rng.choice(locations)["id"]
    moments = [("In", start), ("Out", lunch), ("In", back)] + ([] if still_in else [("Out", end)])
    entries = []
    for entry_type, local in moments:
        instant = local.replace(tzinfo=zone)
        entry = {
            "id": _uuid(rng),
            "personId": person["id"],
            "type": entry_type,
            "time": iso_utc(instant),
            "localTime": local.isoformat(timespec="milliseconds"),
            "belongsToDate": day.isoformat(),
            "activityId": activity if entry_type == "In" else None,
            "projectId": project if entry_type == "In" else None,
            "locationId": location if entry_type == "In" else None,
            "coordinates": None,
            "note": None,
            "status": "Active",
            "isOffline": False,
            "isManual": False,
            "clientType": "Web",
        }
        if rng.random() < 0.02:
            entries.append({**entry, "status": "Archived"})
            corrected = local + timedelta(minutes=rng.choice([-5, 5]))
            entry = {
                **entry,
                "id": _uuid(rng),
                "time": iso_utc(corrected.replace(tzinfo=zone)),
                "localTime": corrected.isoformat(timespec="milliseconds"),
                "isManual": True,
            }
        entries.append(entry)
    return entries
