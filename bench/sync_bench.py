"""Benchmark: a full Jibble pull into a fresh database, against the floor of one batched
hr.attendance.create() of the same attendances.

    python3 bench/sync_bench.py                        # 100 x 20 and 500 x 20 (people x days)
    python3 bench/sync_bench.py --sizes 2500x50 --no-floor-above 60000
    python3 bench/sync_bench.py --quiet-chatter         # with the "Quiet Chatter" setting on
    python3 bench/sync_bench.py --repeat 3              # each size three times, median ratio
    python3 bench/sync_bench.py --batch-entries 50000   # fixed batches, not sized by time

The simulator runs in a process of its own, as an independent Jibble would, capping pages at
50 rows without nextLink. The pull runs in a fresh worker process (its peak RSS is the pull's
alone); the floor runs in this one, on the same attendances planned without the connector's
store, just before and just after the pull. Prints wall time, entries per second, SQL queries
per entry, API calls, pages, peak memory and batches, and the machine.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import REPO_DIR, addons_path, free_port, fresh_database, open_registry
from simulator import generate_dataset

DATABASE = "jibble_bench_sync"
PAGE_SIZE = 50
SEED = 7


def configure(env, simulator, start, quiet_chatter=False):
    """Point the connector at a simulator (an object with the four URLs and credentials)."""
    config = env["jibble.config"]
    for key, value in {
        "quiet_chatter": quiet_chatter,
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


def floor_values(dataset, employee_by_person):
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
            # Its own ids: the floor is also measured after the pull, beside its attendances.
            "jibble_entry_id": f"floor-{interval.start.entry_id}",
        }
        for person_id, entries in by_person.items()
        for interval in pair_entries(entries)[0]
    ]


class RemoteSimulator:
    """`python3 -m simulator` in its own process, on a free port."""

    client_id, client_secret = "sim-client", "sim-secret"

    def __init__(self, people, days, start):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.token_url = self.base_url + "/connect/token"
        self.workspace_url = self.base_url + "/workspace/v1"
        self.time_tracking_url = self.base_url + "/time-tracking/v1"
        self.time_attendance_url = self.base_url + "/time-attendance/v1"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "simulator",
                f"--port={self.port}",
                f"--people={people}",
                f"--days={days}",
                f"--start-date={start}",
                f"--seed={SEED}",
                f"--max-page-size={PAGE_SIZE}",
            ],
            cwd=REPO_DIR,
            stdout=subprocess.DEVNULL,
        )
        for _attempt in range(600):
            try:
                self.requests()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("the simulator did not start")

    def requests(self):
        """API requests it answered so far (not counting this question)."""
        with urllib.request.urlopen(self.base_url + "/_simulator/stats", timeout=5) as answer:
            return json.loads(answer.read())["requests"]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def sync_in_worker(
    database, path, simulator, start, deep_days=0, quiet_chatter=False, batch_entries=0
):
    """Run the pull in a fresh process; returns its figures."""
    answer = subprocess.run(
        [
            sys.executable,
            os.path.abspath(__file__),
            "--worker",
            json.dumps(
                {
                    "database": database,
                    "path": path,
                    "start": str(start),
                    "port": simulator.port,
                    "deep_days": deep_days,
                    "quiet_chatter": quiet_chatter,
                    "batch_entries": batch_entries,
                }
            ),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(answer.stdout.strip().splitlines()[-1])


def worker(arguments):
    """The pull, in this process: employees from Jibble's People, configure, sync."""
    registry = open_registry(arguments["database"], arguments["path"])
    from odoo import api  # noqa: PLC0415
    from odoo.addons.jibble_connector.jibble.client import (  # noqa: PLC0415
        JibbleClient,
        JibbleConfig,
    )

    base = f"http://127.0.0.1:{arguments['port']}"
    simulator = type(
        "Simulator",
        (),
        {
            "client_id": RemoteSimulator.client_id,
            "client_secret": RemoteSimulator.client_secret,
            "token_url": base + "/connect/token",
            "workspace_url": base + "/workspace/v1",
            "time_tracking_url": base + "/time-tracking/v1",
            "time_attendance_url": base + "/time-attendance/v1",
        },
    )
    config = JibbleConfig(
        client_id=simulator.client_id,
        client_secret=simulator.client_secret,
        token_url=simulator.token_url,
        workspace_url=simulator.workspace_url,
        time_tracking_url=simulator.time_tracking_url,
    )
    with JibbleClient(config) as client:
        people = client.people()
    with registry.cursor() as cr:
        env = api.Environment(cr, 1, {})
        env["hr.employee"].create(
            [{"name": person["fullName"], "jibble_user_id": person["id"]} for person in people]
        )
        start = date.fromisoformat(arguments["start"]) - timedelta(days=1)
        configure(env, simulator, start, arguments["quiet_chatter"])
        if arguments["batch_entries"]:
            env["jibble.config"]._set_param("sync_batch_entries", arguments["batch_entries"])
        cr.commit()
        rss_before = peak_rss_mib()
        queries, started = cr.sql_log_count, time.perf_counter()
        env["jibble.sync.service"]._sync_all()
        seconds, queries = time.perf_counter() - started, cr.sql_log_count - queries
        attendances = env["hr.attendance"].search_count([("jibble_entry_id", "!=", False)])
        entries = env["jibble.time.entry"].search_count([])
        pulls = env["jibble.sync.log"].search([("operation", "=", "pull")])
        figures = {
            "seconds": seconds,
            "queries": queries,
            "attendances": attendances,
            "stored_entries": entries,
            "logged_api_calls": sum(pulls.mapped("api_calls")),
            "batches": len(pulls),
            "peak_mib": peak_rss_mib(),
            "rss_before_mib": rss_before,
        }
        if arguments.get("deep_days"):
            figures["deep"] = deep_re_read(env, arguments["deep_days"])
    print(json.dumps(figures))


def deep_re_read(env, days):
    """The deep re-read of the last `days`, nothing having changed since the pull."""
    cr = env.cr
    config = env["jibble.config"]
    config._set_param("deep_resync_days", days)
    config._set_param("deep_last_done", False)
    cr.commit()
    cr.execute("SELECT now() at time zone 'utc'")
    before = cr.fetchone()[0]
    queries, started = cr.sql_log_count, time.perf_counter()
    env["jibble.sync.service"]._sync_all(kind="deep")
    seconds, queries = time.perf_counter() - started, cr.sql_log_count - queries
    env.flush_all()
    cr.execute("SELECT count(*) FROM hr_attendance WHERE write_date > %s", [before])
    written = cr.fetchone()[0]
    logs = env["jibble.sync.log"].search([("operation", "=", "deep_pull")])
    reconcile = env["jibble.sync.log"].search([("operation", "=", "reconcile")], limit=1)
    return {
        "seconds": seconds,
        "queries": queries,
        "api_calls": sum(logs.mapped("api_calls")),
        "attendance_writes": written,
        "received": sum(logs.mapped("received_count")),
        "reconciliation": reconcile.status,
    }


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def floor_seconds(env, values):
    """One batched create of the attendances, flushed, then undone."""
    env.flush_all()
    env.cr.execute("SAVEPOINT floor")
    started = time.perf_counter()
    env["hr.attendance"].create(values)
    env.flush_all()
    seconds = time.perf_counter() - started
    env.cr.execute("ROLLBACK TO SAVEPOINT floor")
    env.invalidate_all()
    return seconds


def measure_floor(database, path, dataset, quiet_chatter=False):
    """The floor's seconds (and without chatter lines, with `quiet_chatter`), for employees of
    its own that it creates and rolls back with their attendances."""
    from odoo import api  # noqa: PLC0415

    registry = open_registry(database, path)
    with registry.cursor() as cr:
        env = api.Environment(cr, 1, {})
        employees = env["hr.employee"].create(
            [{"name": person["fullName"]} for person in dataset["people"]]
        )
        person_ids = [person["id"] for person in dataset["people"]]
        values = floor_values(dataset, dict(zip(person_ids, employees.ids, strict=True)))
        floor = {"seconds": floor_seconds(env, values)}
        if quiet_chatter:
            quiet = env(context={"tracking_disable": True})
            floor["quiet_seconds"] = floor_seconds(quiet, values)
        cr.rollback()
    return floor


def close_registry(database):
    """Let the next run drop the database: this process's registry keeps connections to it."""
    from odoo.modules.registry import Registry  # noqa: PLC0415
    from odoo.sql_db import close_db  # noqa: PLC0415

    Registry.delete(database)
    close_db(database)


def run_size(path, people, days, with_floor, deep=False, quiet_chatter=False, batch_entries=0):
    """The pull of one size, between two measures of the floor (before it and after it): the
    machine's speed drifts within minutes, so the pull is judged against their mean."""
    start = date.today() - timedelta(days=days + 1)
    database = f"{DATABASE}_{people}x{days}"
    fresh_database(database, path)
    simulator = RemoteSimulator(people, days, start)
    dataset = generate_dataset(people, days, start_date=start, seed=SEED) if with_floor else None
    floors = []
    try:
        if with_floor:
            floors.append(measure_floor(database, path, dataset, quiet_chatter))
        calls_before = simulator.requests()
        result = sync_in_worker(
            database, path, simulator, start, days if deep else 0, quiet_chatter, batch_entries
        )
        result["api_calls"] = simulator.requests() - calls_before - 1
        if result.get("deep"):
            result["api_calls"] -= result["deep"]["api_calls"]
        if with_floor:
            floors.append(measure_floor(database, path, dataset, quiet_chatter))
    finally:
        simulator.stop()
        close_registry(database)
    floor = None
    if floors:
        floor = {key: statistics.mean(measure[key] for measure in floors) for key in floors[0]}
        floor["each"] = [measure["seconds"] for measure in floors]
    result.update(size=f"{people} x {days} days", floor=floor)
    return result


def print_result(r, quiet_chatter):
    entries = r["stored_entries"]
    floor = r["floor"]
    print(
        f"{r['size']:<18}{entries:>9}{r['attendances']:>8}{r['seconds']:>9.1f}"
        f"{entries / r['seconds']:>11.0f}{1000 * r['seconds'] / entries:>7.2f}"
        f"{r['queries'] / entries:>11.2f}{r['api_calls']:>11}{r['peak_mib']:>9.0f}"
        + (
            f"{floor['seconds']:>9.1f}{r['seconds'] / floor['seconds']:>9.2f}"
            f"   floor before/after: {' / '.join(f'{s:.1f}' for s in floor['each'])}"
            if floor
            else f"{'n/a':>9}{'n/a':>9}"
        )
        + f"   {r['batches']} batch{'' if r['batches'] == 1 else 'es'}",
        flush=True,
    )
    if floor and quiet_chatter:
        print(
            f"  Quiet Chatter on; against a floor without chatter lines either "
            f"({floor['quiet_seconds']:.1f} s): {r['seconds'] / floor['quiet_seconds']:.2f}x",
            flush=True,
        )
    if r.get("deep"):
        deep = r["deep"]
        print(
            f"  deep re-read of those days, nothing changed: {deep['seconds']:.1f} s"
            f" ({deep['seconds'] / r['seconds']:.2f}x the first pull),"
            f" {deep['queries'] / max(deep['received'], 1):.2f} SQL/entry,"
            f" {deep['api_calls']} API calls, {deep['attendance_writes']} attendance writes,"
            f" reconciliation {deep['reconciliation']}",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100x20,500x20")
    parser.add_argument(
        "--no-floor-above", type=int, default=60000, help="people x days x 6 above which no floor"
    )
    parser.add_argument(
        "--deep",
        action="store_true",
        help="after the pull, time a deep re-read of all its days (nothing changed)",
    )
    parser.add_argument(
        "--quiet-chatter",
        action="store_true",
        help="pull with the Quiet Chatter setting on; also prints a floor without chatter lines",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="pull each size this many times, each in a fresh database; prints the median ratio",
    )
    parser.add_argument(
        "--batch-entries",
        type=int,
        default=0,
        help="fixed entries per pull batch (the sync_batch_entries parameter), instead of the "
        "batches sized by time that the cron's time limit asks for",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    path = addons_path()
    print(f"machine: {os.cpu_count()} cores, {os.uname().machine}, Python {sys.version.split()[0]}")
    print(
        f"{'size':<18}{'entries':>9}{'att.':>8}{'sync s':>9}{'entries/s':>11}{'s/1k':>7}"
        f"{'SQL/entry':>11}{'API calls':>11}{'RSS MiB':>9}{'floor s':>9}{'x floor':>9}"
    )
    for size in args.sizes.split(","):
        people, days = (int(n) for n in size.split("x"))
        with_floor = people * days * 6 <= args.no_floor_above
        ratios = []
        for _run in range(args.repeat):
            r = run_size(
                path, people, days, with_floor, args.deep, args.quiet_chatter, args.batch_entries
            )
            print_result(r, args.quiet_chatter)
            if r["floor"]:
                ratios.append(r["seconds"] / r["floor"]["seconds"])
        if len(ratios) > 1:
            print(
                f"  {size}: median {statistics.median(ratios):.2f}x the floor over "
                f"{len(ratios)} runs ({', '.join(f'{ratio:.2f}' for ratio in ratios)})",
                flush=True,
            )
    print(
        "RSS MiB is the peak resident memory of the process that ran the pull; s/1k is seconds "
        "per thousand entries; the floor is one hr.attendance.create() of the same attendances, "
        "the mean of its measures just before and just after the pull."
    )


if __name__ == "__main__":
    main()
