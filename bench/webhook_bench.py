"""Benchmark: signed webhook events against Odoo with --workers=2 on loopback, and the same
load on the module's trivial health route as the framework's floor.

    python3 bench/webhook_bench.py [--seconds 30] [--concurrency 8] [--quiet-chatter]
                        [--modes attendance-floor,immediate,queue,queue-paused]

For each apply mode (see the "Apply Webhook Events" setting) prints accepted events per
second, p50 and p99 latency and errors, and how long after the load stopped the inbox was
empty. `attendance-floor` sends the same events, unsigned, to bench/floor_addon's route, which
only has Odoo create or close the attendance: the ceiling of applying events on receipt.
`queue` lets Odoo's cron worker apply events while they arrive; `queue-paused` measures the
receiver alone (the inbox cron is paused during the load, then woken and timed while it
applies everything). Checks at the end that every accepted event was stored and applied (no
event lost). The floor is measured before and after the event loads, and each figure is
judged against their mean: the machine's speed drifts during a run.
"""

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (
    FLOOR_MODULE,
    addons_path,
    free_port,
    fresh_database,
    odoo_args,
    open_registry,
)
from simulator import sign_body

DATABASE = "jibble_bench_webhook"
SECRET = "bench-webhook-secret"
PEOPLE = 200
HEALTH_REQUEST = ("GET", "/jibble/webhook/health", None, {})


def prepare(path, quiet_chatter=False):
    """Fresh database, webhook secret set, PEOPLE employees linked to Jibble people."""
    fresh_database(DATABASE, path, f"jibble_connector,{FLOOR_MODULE}")
    registry = open_registry(DATABASE, path)
    from odoo import api  # noqa: PLC0415

    with registry.cursor() as cr:
        env = api.Environment(cr, 1, {})
        env["ir.config_parameter"].set_param("jibble_connector.webhook_secret", SECRET)
        env["ir.config_parameter"].set_param("jibble_connector.quiet_chatter", quiet_chatter)
        env["hr.employee"].create(
            [{"name": f"Bench {n}", "jibble_user_id": f"bench-person-{n}"} for n in range(PEOPLE)]
        )
    return registry


def start_odoo(path, port):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "odoo",
            *odoo_args(DATABASE, path),
            "--workers=2",
            "--max-cron-threads=1",
            f"--http-port={port}",
            "--http-interface=127.0.0.1",
            f"--db-filter=^{DATABASE}$",
            f"--gevent-port={free_port()}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _attempt in range(120):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/jibble/webhook/health")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("Odoo did not start")


class Load:
    """Worker threads sending requests for a fixed time; one keep-alive connection each."""

    def __init__(self, port, seconds, concurrency, make_request):
        self.port, self.seconds, self.concurrency = port, seconds, concurrency
        self.make_request = make_request
        self.latencies, self.errors, self.lock = [], 0, threading.Lock()

    def worker(self, index):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        deadline, sequence = time.monotonic() + self.seconds, 0
        while time.monotonic() < deadline:
            method, url, body, headers = self.make_request(index, sequence)
            sequence += 1
            started = time.perf_counter()
            try:
                connection.request(method, url, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status in (200, 202)
            except OSError:
                ok = False
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            elapsed = time.perf_counter() - started
            with self.lock:
                if ok:
                    self.latencies.append(elapsed)
                else:
                    self.errors += 1

    def run(self):
        threads = [threading.Thread(target=self.worker, args=(n,)) for n in range(self.concurrency)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.monotonic() - started

    def report(self, name, elapsed):
        ordered = sorted(self.latencies)
        p99 = ordered[int(len(ordered) * 0.99) - 1] if ordered else 0
        print(
            f"{name:<22}{len(ordered):>9}{len(ordered) / elapsed:>10.1f}"
            f"{statistics.median(ordered) * 1000 if ordered else 0:>9.1f}"
            f"{p99 * 1000:>9.1f}{self.errors:>8}",
            flush=True,
        )
        return len(ordered) / elapsed, p99


def measure_floor(port, args, name, make_request=lambda i, s: HEALTH_REQUEST):
    """The same load on a floor: by default the health route, Odoo's request handling with
    nothing to do. Returns (requests per second, p99 seconds)."""
    floor = Load(port, args.seconds, args.concurrency, make_request)
    return floor.report(name, floor.run())


def event_request(concurrency, base, url="/jibble/webhook"):
    """Each thread clocks its own people in and out, an hour apart, so no event conflicts."""

    def make(index, sequence):
        person = index + concurrency * ((sequence // 2) % (PEOPLE // concurrency))
        cycle = sequence // (2 * (PEOPLE // concurrency))
        instant = base + timedelta(hours=2 * cycle + sequence % 2)
        entry = {
            "id": str(uuid.uuid4()),
            "personId": f"bench-person-{person}",
            "type": "Out" if sequence % 2 else "In",
            "time": instant.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "status": "Active",
        }
        event = {
            "id": str(uuid.uuid4()),
            "type": "TimeEntry.Created",
            "occurredAt": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "data": entry,
        }
        body = json.dumps(event).encode()
        timestamp = str(int(time.time()))
        return (
            "POST",
            url,
            body,
            {
                "Content-Type": "application/json",
                "X-Jibble-Timestamp": timestamp,
                "X-Jibble-Signature": sign_body(SECRET, body, timestamp),
            },
        )

    return make


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--modes", default="attendance-floor,immediate,queue,queue-paused")
    parser.add_argument(
        "--quiet-chatter", action="store_true", help="with the Quiet Chatter setting on"
    )
    args = parser.parse_args()
    path = addons_path()
    registry = prepare(path, args.quiet_chatter)
    port = free_port()
    odoo = start_odoo(path, port)
    try:
        print(f"{'load':<22}{'requests':>9}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
        floor_before = measure_floor(port, args, "health (floor)")
        accepted, rates, drains, queued, attendance_floor = 0, {}, {}, {}, None
        for year, mode in enumerate(args.modes.split(",")):
            # Each mode clocks people in and out in its own stretch of the last weeks.
            base = datetime.now(timezone.utc).replace(
                hour=0, minute=0, second=0, microsecond=0
            ) - timedelta(days=80 - 20 * year)
            if mode == "attendance-floor":
                attendance_floor = measure_floor(
                    port,
                    args,
                    "attendances alone",
                    event_request(args.concurrency, base, "/jibble-bench/attendance"),
                )
                remove_floor_attendances(registry)
                continue
            set_mode(registry, mode)
            events = Load(
                port, args.seconds, args.concurrency, event_request(args.concurrency, base)
            )
            rates[mode] = events.report(f"events ({mode})", events.run())
            accepted += len(events.latencies)
            queued[mode] = len(events.latencies)
            if mode == "queue-paused":
                set_inbox_cron(registry, active=True)
            drains[mode] = wait_for_inbox(registry)
        floor_after = measure_floor(port, args, "health, again")
    finally:
        odoo.send_signal(signal.SIGTERM)
        odoo.wait(timeout=30)
    from odoo import api  # noqa: PLC0415

    with registry.cursor() as cr:
        env = api.Environment(cr, 1, {})
        stored = env["jibble.webhook.event"].search_count([])
        done = env["jibble.webhook.event"].search_count([("state", "=", "done")])
        entries = env["jibble.time.entry"].search_count([])
        attendances = env["hr.attendance"].search_count([("jibble_entry_id", "!=", False)])
        clock_ins = env["jibble.time.entry"].search_count([("entry_type", "=", "In")])
    print(
        f"accepted {accepted}, stored {stored}, applied {done}, entries {entries}, "
        f"attendances {attendances} for {clock_ins} clock-ins; lost {accepted - stored}"
    )
    print(
        f"machine: {os.cpu_count()} cores; Odoo --workers=2 and one cron worker on the same"
        f" machine; {args.concurrency} concurrent clients, {args.seconds:.0f} s per load"
    )
    # The machine's speed drifts during a run: each figure is judged against the mean of the
    # floor measured before and after the event loads.
    floor_rate = (floor_before[0] + floor_after[0]) / 2
    floor_p99 = (floor_before[1] + floor_after[1]) / 2
    print(
        f"floor: {floor_before[0]:.1f} then {floor_after[0]:.1f} requests/s, p99"
        f" {floor_before[1] * 1000:.1f} then {floor_after[1] * 1000:.1f} ms; ratios use the means"
    )
    if attendance_floor:
        print(
            f"attendances alone (Odoo's create or close of the attendance, no connector):"
            f" {attendance_floor[0] / floor_rate:.2f}x the floor's throughput, p99"
            f" {attendance_floor[1] / floor_p99:.1f}x the floor's: the ceiling of 'immediate'"
        )
    for mode, (rate, p99) in rates.items():
        drain = (
            f"; the inbox cron applied the {queued[mode]} queued events in {drains[mode]:.1f} s"
            f" ({queued[mode] / drains[mode]:.0f} events/s)"
            if mode == "queue-paused"
            else f"; inbox empty {drains[mode]:.1f} s after the load stopped"
        )
        if mode == "immediate" and attendance_floor:
            drain += f"; {rate / attendance_floor[0]:.2f}x the attendances alone"
        print(
            f"{mode}: {rate / floor_rate:.2f}x the floor's throughput, p99"
            f" {p99 / floor_p99:.1f}x the floor's{drain}"
        )


def remove_floor_attendances(registry):
    """The floor's attendances go (a shift it left open would hold back the events' ones)."""
    from odoo import api  # noqa: PLC0415

    with registry.cursor() as cr:
        env = api.Environment(cr, 1, {})
        env["hr.attendance"].search([("jibble_entry_id", "=", False)]).unlink()


def set_mode(registry, mode):
    from odoo import api  # noqa: PLC0415

    with registry.cursor() as cr:
        env = api.Environment(cr, 1, {})  # kept alive until the commit flushes it
        env["ir.config_parameter"].set_param(
            "jibble_connector.webhook_apply_mode", "immediate" if mode == "immediate" else "queue"
        )
    registry.signal_changes()  # the server's workers cache parameters until told
    set_inbox_cron(registry, active=mode != "queue-paused")


def set_inbox_cron(registry, active):
    """Pause or wake the cron that applies queued events (once its running batch is done)."""
    from odoo import api  # noqa: PLC0415
    from odoo.exceptions import UserError  # noqa: PLC0415

    for _attempt in range(600):
        try:
            with registry.cursor() as cr:
                env = api.Environment(cr, 1, {})
                cron = env.ref("jibble_connector.ir_cron_jibble_webhook_retry")
                cron.active = active
                if active:
                    cron._trigger()
            return
        except UserError:
            time.sleep(0.5)
    raise SystemExit("the inbox cron stayed busy")


def wait_for_inbox(registry, timeout=600):
    """Seconds until no accepted event waits to be applied."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with registry.cursor() as cr:
            cr.execute("SELECT count(*) FROM jibble_webhook_event WHERE state != 'done'")
            if not cr.fetchone()[0]:
                break
        time.sleep(0.2)
    return time.monotonic() - started


if __name__ == "__main__":
    main()
