"""Benchmark: near real time by polling. A day of Jibble for N people is replayed two minutes
at a time: before each poll the simulator gets the entries of those two minutes, then the
quick pull runs as its cron would. Prints API calls and seconds of Odoo time per hour.

    python3 bench/quick_pull_bench.py                 # 500 people, polled every 2 minutes
    python3 bench/quick_pull_bench.py --people 100 --every 1

Goal (issue 11): under 1,000 API calls and under 60 s of Odoo time per hour for 500 people.
"""

import argparse
import os
import sys
import time
from datetime import date, datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import addons_path, fresh_database, open_registry
from bench.sync_bench import configure
from simulator import JibbleSimulator, generate_dataset
from simulator.server import parse_datetime

DATABASE = "jibble_bench_quick"


def last_working_day():
    """A weekday whose entries, in every zone, are all in the past."""
    day = date.today() - timedelta(days=2)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def run(registry, people, every_minutes):
    from odoo import api  # noqa: PLC0415

    day = last_working_day()
    dataset = generate_dataset(people, 1, start_date=day, seed=11)
    entries = sorted(dataset["time_entries"], key=lambda row: row["time"])
    times = [parse_datetime(row["time"]) for row in entries]
    first, last = times[0], times[-1]
    step = timedelta(minutes=every_minutes)
    with JibbleSimulator(max_page_size=50) as simulator, registry.cursor() as cr:
        simulator.load({**dataset, "time_entries": []})
        env = api.Environment(cr, 1, {})
        env["hr.employee"].create(
            [{"name": p["fullName"], "jibble_user_id": p["id"]} for p in dataset["people"]]
        )
        configure(env, simulator, day)
        # The replayed day began more than a day ago: let the quick pull reach back to it.
        env["jibble.config"]._set_param("quick_max_hours", 24 * 7)
        cr.commit()
        service, config = env["jibble.sync.service"], env["jibble.config"]
        simulator.reset_counters()
        polls, odoo_seconds, added = 0, 0.0, 0
        slot = first.replace(second=0, microsecond=0)
        while slot <= last:
            slot_end = slot + step
            while added < len(entries) and times[added] < slot_end:
                row = entries[added]
                simulator.add_time_entry(
                    row["personId"],
                    row["type"],
                    times[added],
                    entry_id=row["id"],
                    activity_id=row.get("activityId"),
                    project_id=row.get("projectId"),
                    location_id=row.get("locationId"),
                    break_id=row.get("breakId"),
                    client_type=row.get("clientType"),
                    status=row["status"],
                )
                added += 1
            # As if the clock showed `slot_end`: the quick pull reads from its cursor on.
            config._set_param("quick_cursor", _naive(slot).strftime("%Y-%m-%d %H:%M:%S"))
            started = time.perf_counter()
            service._run_pull_batch("cron", "quick")
            cr.commit()
            odoo_seconds += time.perf_counter() - started
            polls += 1
            slot = slot_end
        hours = polls * every_minutes / 60
        calls = simulator.count_requests()
        applied = env["jibble.time.entry"].search_count([("state", "=", "applied")])
        attendances = env["hr.attendance"].search_count([("jibble_entry_id", "!=", False)])
    return {
        "people": people,
        "entries": len(entries),
        "applied": applied,
        "attendances": attendances,
        "polls": polls,
        "hours": hours,
        "calls_per_hour": calls / hours,
        "seconds_per_hour": odoo_seconds / hours,
        "seconds_per_poll": odoo_seconds / polls,
    }


def _naive(value):
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--every", type=int, default=2, help="minutes between two polls")
    args = parser.parse_args()
    path = addons_path()
    database = f"{DATABASE}_{args.people}"
    fresh_database(database, path)
    r = run(open_registry(database, path), args.people, args.every)
    print(
        f"{r['people']} people, one working day ({r['entries']} entries, {r['applied']} applied,"
        f" {r['attendances']} attendances) polled every {args.every} min: {r['polls']} polls"
        f" over {r['hours']:.1f} h of Jibble time"
    )
    print(f"API calls per hour:              {r['calls_per_hour']:8.0f}   (goal < 1,000)")
    print(f"seconds of Odoo time per hour:   {r['seconds_per_hour']:8.1f}   (goal < 60)")
    print(f"seconds per poll:                {r['seconds_per_poll']:8.3f}")
    print(f"measured at {datetime.now():%Y-%m-%d %H:%M} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
