"""Benchmark: a full Jibble pull into a fresh database, against the floor of one batched
hr.attendance.create() of the same attendances, at two sizes.

    python3 bench/sync_bench.py                 # 100 x 20 and 500 x 20 (people x days)
    python3 bench/sync_bench.py --sizes 50x10

Prints wall time, entries per second, SQL queries per entry, API calls and peak memory (of
the whole process, so it includes the floor's, measured first).
"""

import argparse
import os
import resource
import sys
import time
from datetime import date, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import addons_path, fresh_database, open_registry
from simulator import JibbleSimulator, generate_dataset

DATABASE = "jibble_bench_sync"


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(cr, work):
    """Run `work()`, returning (seconds, SQL queries, process peak RSS in MiB after it)."""
    queries_before, started = cr.sql_log_count, time.perf_counter()
    work()
    seconds, queries = time.perf_counter() - started, cr.sql_log_count - queries_before
    return seconds, queries, peak_rss_mib()


def configure(env, simulator, start):
    config = env["jibble.config"]
    for key, value in {
        "sync_enabled": "True",
        "client_id": simulator.client_id,
        "token_url": simulator.token_url,
        "workspace_url": simulator.workspace_url,
        "time_tracking_url": simulator.time_tracking_url,
        "time_attendance_url": simulator.time_attendance_url,
        "sync_start_date": f"{start} 00:00:00",
        "sync_cursor": False,
        "sync_run_position": False,
        "sync_run_end": False,
        "quick_cursor": False,
    }.items():
        config._set_param(key, value)
    config._store_secret("client_secret", simulator.client_secret)


def floor_values(env, dataset, employee_by_person):
    """The attendances the sync should create, planned here without the connector's store."""
    from odoo.addons.jibble_connector.jibble.entries import parse_entry  # noqa: PLC0415
    from odoo.addons.jibble_connector.jibble.planning import (  # noqa: PLC0415
        PlanEntry,
        pair_entries,
    )

    by_person = {}
    for raw in dataset["time_entries"]:
        entry = parse_entry(raw)
        by_person.setdefault(entry.person_id, []).append(
            PlanEntry(
                entry.entry_id,
                entry.entry_type,
                entry.time,
                entry.active,
                entry.break_id,
                entry.client_type,
            )
        )
    return [
        {
            "employee_id": employee_by_person[person_id],
            "check_in": interval.start.time,
            "check_out": interval.end.time if interval.end else False,
            "jibble_entry_id": interval.start.entry_id,
        }
        for person_id, entries in by_person.items()
        for interval in pair_entries(entries)[0]
    ]


def run_size(registry, people, days):
    start = date.today() - timedelta(days=days + 1)
    dataset = generate_dataset(people, days, start_date=start, seed=7)
    entries = len(dataset["time_entries"])
    with JibbleSimulator(max_page_size=100) as simulator, registry.cursor() as cr:
        from odoo import api  # noqa: PLC0415

        simulator.load(dataset)
        env = api.Environment(cr, 1, {})
        # The floor first, rolled back: the sync commits its batches as the cron does.
        employees = env["hr.employee"].create(
            [{"name": person["fullName"]} for person in dataset["people"]]
        )
        person_ids = [person["id"] for person in dataset["people"]]
        values = floor_values(env, dataset, dict(zip(person_ids, employees.ids, strict=True)))
        floor_seconds, floor_queries, floor_peak = measure(
            cr, lambda: (env["hr.attendance"].create(values), env.flush_all())
        )
        cr.rollback()

        env["hr.employee"].create(
            [
                {"name": person["fullName"], "jibble_user_id": person["id"]}
                for person in dataset["people"]
            ]
        )
        configure(env, simulator, start - timedelta(days=1))
        env.flush_all()
        simulator.reset_counters()
        seconds, queries, peak = measure(cr, lambda: env["jibble.sync.service"]._sync_all())
        api_calls = simulator.count_requests()
        created = env["hr.attendance"].search_count([("jibble_entry_id", "!=", False)])
    return {
        "size": f"{people} people x {days} days",
        "entries": entries,
        "attendances": created,
        "floor_attendances": len(values),
        "seconds": seconds,
        "queries": queries,
        "api_calls": api_calls,
        "peak_mib": peak,
        "floor_seconds": floor_seconds,
        "floor_queries": floor_queries,
        "floor_peak_mib": floor_peak,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100x20,500x20")
    args = parser.parse_args()
    path = addons_path()
    print(
        f"{'size':<24}{'entries':>9}{'att.':>7}{'sync s':>9}{'entries/s':>11}"
        f"{'SQL/entry':>11}{'API calls':>11}{'RSS MiB':>10}{'floor s':>9}{'floor SQL/e':>12}"
        f"{'x floor':>9}"
    )
    for size in args.sizes.split(","):
        people, days = (int(n) for n in size.split("x"))
        # The sync commits each batch, as the cron does: one fresh database per size.
        database = f"{DATABASE}_{people}x{days}"
        fresh_database(database, path)
        r = run_size(open_registry(database, path), people, days)
        print(
            f"{r['size']:<24}{r['entries']:>9}{r['attendances']:>7}{r['seconds']:>9.2f}"
            f"{r['entries'] / r['seconds']:>11.0f}{r['queries'] / r['entries']:>11.2f}"
            f"{r['api_calls']:>11}{r['peak_mib']:>10.1f}{r['floor_seconds']:>9.2f}"
            f"{r['floor_queries'] / r['entries']:>12.2f}{r['seconds'] / r['floor_seconds']:>9.2f}",
            flush=True,
        )
    print("RSS MiB is the process's peak resident memory after the sync of that size.")


if __name__ == "__main__":
    main()
