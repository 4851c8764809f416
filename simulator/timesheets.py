"""Daily tracked time, as Jibble's TimesheetsSummary reports it."""

from .shapes import parse_datetime

ENDS_WORK = {"In", "Out", "StartBreak"}


def tracked_seconds(entries, now):
    """Seconds worked per (personId, belongsToDate) from a list of TimeEntry dicts.

    Only Active entries count. An `In` starts work that the person's next `Out`,
    `StartBreak` or `In` ends (so breaks are not tracked, and an activity switch splits the
    work without losing any); an `In` with nothing after it runs until `now`. Work counts
    for the `belongsToDate` of the `In` that started it. Other entry types are ignored.
    """
    by_person = {}
    for entry in entries:
        if entry["status"] == "Active" and entry["type"] in ENDS_WORK:
            by_person.setdefault(entry["personId"], []).append(entry)
    totals = {}
    for person_id, rows in by_person.items():
        rows.sort(key=lambda row: (row["time"], row["id"]))
        ends = [parse_datetime(row["time"]) for row in rows[1:]] + [now]
        for row, end in zip(rows, ends, strict=True):
            if row["type"] == "In":
                key = (person_id, row["belongsToDate"])
                worked = (end - parse_datetime(row["time"])).total_seconds()
                totals[key] = totals.get(key, 0.0) + max(worked, 0.0)
    return totals
