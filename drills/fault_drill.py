"""Fault drill: a 5,000-entry pull through faults must end where a clean pull ends.

    python3 drills/fault_drill.py [--people 90] [--days 20] [--seed 7] [--runs 1] [--keep]
                                   [--next-link-by-skip]

Two databases start identical. In the faulty one, Odoo's cron runner pulls from the
simulator while:
  - the simulator answers 429, 500, hangs past the read timeout, malformed JSON and
    rejected tokens in the middle of the pull;
  - PostgreSQL answers some inserts into hr_attendance with a serialization failure
    (SQLSTATE 40001, raised by a trigger the drill installs), while another connection
    keeps touching rows the pull writes;
  - the cron process is killed mid-batch three times (once while it waits on Jibble);
  - an Odoo server with two workers receives signed webhooks for the same entries, edits,
    deletions and new entries, from separate connections, while the pull runs;
  - entries are deleted in Jibble between two pages of a window the pull is reading (the
    interleaving that once lost a clock-in, see README > Known issues).
The clean database is then pulled once, with no fault, from Jibble's final state. The
attendances and time entries of both are compared row by row; the drill exits non-zero
on any difference, lost event, conflict a clean pull does not have, or server error. With
`--runs N` it runs N times with different random draws and says how many ended equal.
"""

import argparse
import getpass
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import date, datetime, timedelta, timezone

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import REPO_DIR, addons_path, free_port, fresh_database, odoo_args
from simulator import JibbleSimulator, generate_dataset
from simulator.server import iso_utc, parse_datetime
from simulator.webhook import send_event

WORKER = os.path.join(REPO_DIR, "drills", "odoo_worker.py")
WEBHOOK_SECRET = "drill-webhook-secret"
API_FAULTS = [
    # kind, how many in a row, after how many TimeEntries calls
    ("rate_limit", 3, 4),
    ("server_error", 2, 9),
    ("expired_token", 2, 14),
    ("hang", 2, 19),
    ("malformed", 1, 24),
    ("server_error", 6, 29),
    ("rate_limit", 2, 34),
    ("expired_token", 1, 39),
    ("malformed", 1, 44),
]
READ_TIMEOUT = 2.0
# Deletions at three of the first pages asked with $skip: a faulty run asks about 60.
PAGE_DELETIONS, PAGE_DELETION_MOMENTS = 3, range(5, 30)
SERIALIZATION_FAULTS, SERIALIZATION_FAULT_EVERY = 6, 40
# Every 40th statement inserting attendances, six times, fails as a serialization failure
# would; a sequence counts them because it survives the rollback the failure causes.
SERIALIZATION_FAULT_SQL = f"""
CREATE SEQUENCE drill_insert_count;
CREATE FUNCTION drill_serialization_fault() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE n bigint := nextval('drill_insert_count');
BEGIN
    IF n % {SERIALIZATION_FAULT_EVERY} = 0
       AND n <= {SERIALIZATION_FAULTS * SERIALIZATION_FAULT_EVERY} THEN
        RAISE EXCEPTION 'drill: injected serialization failure' USING ERRCODE = '40001';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER drill_serialization_fault BEFORE INSERT ON hr_attendance
    FOR EACH STATEMENT EXECUTE FUNCTION drill_serialization_fault();
"""
ATTENDANCE_COLUMNS = (
    "e.jibble_user_id, a.jibble_entry_id, a.jibble_out_entry_id, a.check_in, a.check_out, "
    "a.jibble_activity, a.jibble_project, a.jibble_location, a.sync_status"
)


class Drill:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        suffix = f"{os.getpid()}_{args.seed}"
        self.clean_db = f"jibble_drill_clean_{suffix}"
        self.faulty_db = f"jibble_drill_faulty_{suffix}"
        self.path = addons_path()
        self.log_dir = args.log_dir or tempfile.mkdtemp(prefix="jibble-drill-")
        os.makedirs(self.log_dir, exist_ok=True)
        self.simulator = JibbleSimulator(max_page_size=100, use_next_link=args.next_link_by_skip)
        self.figures = {
            "kills": 0,
            "webhooks": {},
            "server_errors": 0,
            "page_deletions": 0,
            "skip_pages": 0,
        }
        self.server = None
        self.dataset = None

    # Odoo processes

    def worker(self, database, action, *extra):
        log = open(os.path.join(self.log_dir, f"{database}-{action}.log"), "a")  # noqa: SIM115
        return subprocess.Popen(
            [sys.executable, WORKER, database, self.path, action, *extra],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )

    def run_worker(self, database, action, *extra, timeout=900):
        process = self.worker(database, action, *extra)
        out, _err = process.communicate(timeout=timeout)
        if process.returncode:
            raise SystemExit(f"worker {action} on {database} failed: {out}")
        return json.loads(out.strip().splitlines()[-1]) if out.strip() else {}

    def start_server(self, database):
        port = free_port()
        log = open(os.path.join(self.log_dir, f"{database}-server.log"), "a")  # noqa: SIM115
        self.server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "odoo",
                *odoo_args(database, self.path),
                f"--db-filter=^{database}$",
                "--http-interface=127.0.0.1",
                f"--http-port={port}",
                "--workers=2",
                "--max-cron-threads=0",
            ],
            stdout=log,
            stderr=log,
        )
        url = f"http://127.0.0.1:{port}/jibble/webhook"
        for _attempt in range(120):
            try:
                with urllib.request.urlopen(url + "/health", timeout=2):
                    return url
            except OSError:
                time.sleep(0.5)
        raise SystemExit("the Odoo server for webhooks did not start")

    def stop_server(self):
        if self.server:
            self.server.terminate()
            self.server.wait(timeout=30)

    # The run

    def prepare(self):
        start = date.today() - timedelta(days=self.args.days + 1)
        dataset = generate_dataset(self.args.people, self.args.days, start_date=start, seed=7)
        self.dataset = dataset
        self.simulator.load(dataset)
        self.simulator.start()
        self.figures["entries"] = len(dataset["time_entries"])
        fresh_database(self.clean_db, self.path)
        settings = {
            "params": {
                "sync_enabled": "True",
                "client_id": self.simulator.client_id,
                "token_url": self.simulator.token_url,
                "workspace_url": self.simulator.workspace_url,
                "time_tracking_url": self.simulator.time_tracking_url,
                "sync_start_date": f"{start - timedelta(days=1)} 00:00:00",
                "sync_batch_hours": "24",
                "http_backoff_factor": "0.05",
                "http_max_retries": "3",
                "http_read_timeout": str(READ_TIMEOUT),
            },
            "secrets": {
                "client_secret": self.simulator.client_secret,
                "webhook_secret": WEBHOOK_SECRET,
            },
            "people": dataset["people"],
        }
        self.run_worker(self.clean_db, "setup", json.dumps(settings))
        subprocess.run(
            ["createdb", "-h", "127.0.0.1", "-T", self.clean_db, self.faulty_db], check=True
        )
        self.sql(self.faulty_db, SERIALIZATION_FAULT_SQL)

    def sql(self, database, query):
        connection = connect(database)
        with connection, connection.cursor() as cr:
            cr.execute(query)
            result = cr.fetchall() if cr.description else None
        connection.close()
        return result

    def faulty_run(self):
        webhook_url = self.start_server(self.faulty_db)
        for kind, count, after in API_FAULTS:
            self.simulator.inject_fault(
                kind,
                count=count,
                after=after,
                path_contains="TimeEntries",
                retry_after=1,
                delay=READ_TIMEOUT + 1,
            )
        injected = sum(count for _kind, count, _after in API_FAULTS)
        plan = self.webhook_plan()
        self.delete_between_pages(
            reserved={item["id"] for action, item in plan if action != "create"}
        )
        stop = threading.Event()
        disturber = threading.Thread(target=self.disturb, args=(stop,))
        sender = threading.Thread(target=self.send_webhooks, args=(webhook_url, plan))
        disturber.start()
        self.figures["webhooks_planned"] = sum(2 if action == "create" else 1 for action, _ in plan)
        sender.start()
        started = time.monotonic()

        # Kill once while the cron waits on Jibble, twice at random moments.
        self.kill_when_waiting_on_jibble()
        for _kill in range(2):
            process = self.worker(self.faulty_db, "cron")
            time.sleep(self.rng.uniform(1.0, 3.0))
            self.kill(process)
        stop_after = threading.Timer(15, stop.set)
        stop_after.start()
        self.figures["cron_rounds"] = self.run_worker(self.faulty_db, "cron")["rounds"]
        sender.join()
        stop.set()
        stop_after.cancel()
        disturber.join()
        self.figures["webhook_retried"] = self.run_worker(self.faulty_db, "retry-events")["retried"]
        self.figures["faulty_seconds"] = time.monotonic() - started
        statements = self.sql(self.faulty_db, "SELECT last_value FROM drill_insert_count")[0][0]
        self.figures["serialization_faults"] = min(
            statements // SERIALIZATION_FAULT_EVERY, SERIALIZATION_FAULTS
        )
        self.figures["api_faults"] = injected - self.simulator.pending_faults()
        self.simulator.clear_faults()
        # Jibble's final state is reached here: the clean pull must read the same data.
        self.simulator.clear_request_hooks()
        self.stop_server()

    def delete_between_pages(self, reserved):
        """Delete an entry of the pages already read while the pull asks for the next page
        of a window: every later row moves one place up, so a read by offset alone would
        skip the row at the page boundary."""
        simulator, rng = self.simulator, random.Random(self.args.seed + 1)
        moments = set(rng.sample(PAGE_DELETION_MOMENTS, PAGE_DELETIONS))

        def delete(_path, query):
            window = re.search(r"time ge (\S+) and time lt (\S+)", query.get("$filter", ""))
            if "$skip" not in query or not window:
                return
            self.figures["skip_pages"] += 1
            # A page with no row before it to delete ($skip=0: the one row of a window, asked
            # again) passes the deletion due on to the next page.
            due = sum(moment <= self.figures["skip_pages"] for moment in moments)
            if due <= self.figures["page_deletions"]:
                return
            start, end = (parse_datetime(value) for value in window.groups())
            rows = sorted(
                (
                    row
                    for row in simulator.time_entries
                    if row["status"] == "Active"
                    and row["id"] not in reserved
                    and start <= parse_datetime(row["time"]) < end
                ),
                key=lambda row: (row["time"], row["id"]),
            )[: int(query["$skip"])]
            if rows:
                simulator.delete_time_entry(rng.choice(rows)["id"])
                self.figures["page_deletions"] += 1

        simulator.on_request(delete, path_contains="TimeEntries", count=100000)

    def kill_when_waiting_on_jibble(self):
        """Start the cron and kill it while a TimeEntries call of a batch hangs."""
        self.simulator.inject_fault(
            "hang", after=2, path_contains="TimeEntries", delay=READ_TIMEOUT - 0.5
        )
        waiting = self.simulator.pending_faults()
        process = self.worker(self.faulty_db, "cron")
        deadline = time.monotonic() + 120
        while self.simulator.pending_faults() == waiting:
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("the cron never reached the hanging call")
            time.sleep(0.05)
        time.sleep(0.3)
        self.kill(process)

    def kill(self, process):
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            self.figures["kills"] += 1
        process.wait()

    def disturb(self, stop):
        """Touch rows the pull writes from another connection, so that the pull waits on
        their locks (the serialization failures themselves come from the drill's trigger)."""
        connection = connect(self.faulty_db)
        connection.autocommit = True
        with connection.cursor() as cr:
            while not stop.wait(self.rng.uniform(1.0, 3.0)):
                try:
                    cr.execute(
                        "UPDATE ir_config_parameter SET write_date = write_date"
                        " WHERE key = 'jibble_connector.sync_run_position'"
                    )
                    cr.execute(
                        "UPDATE hr_attendance SET write_date = write_date WHERE id IN"
                        " (SELECT id FROM hr_attendance ORDER BY random() LIMIT 20)"
                    )
                except psycopg2.errors.DeadlockDetected:
                    # Its rows in random order can deadlock with a unit of the connector, and
                    # PostgreSQL may pick either: when it picks this one, it disturbs again.
                    continue
        connection.close()

    def webhook_plan(self):
        """Webhooks for entries the pull is bringing too, plus edits, deletions, new ones."""
        entries = [entry for entry in self.simulator.time_entries if entry["status"] == "Active"]
        self.rng.shuffle(entries)
        plan = (
            [("replay", entry) for entry in entries[:300]]
            + [("edit", entry) for entry in entries[300:360]]
            + [("delete", entry) for entry in entries[360:380]]
            + [("create", person) for person in self.rng.sample(self.simulator.people, 10)]
        )
        self.rng.shuffle(plan)
        return plan

    def send_webhooks(self, url, plan):
        activities = [item["id"] for item in self.dataset["activities"]]
        counts = self.figures["webhooks"]
        for action, item in plan:
            for event_type, entry in self.webhook_changes(action, item, activities):
                status, answer = send_event(url, WEBHOOK_SECRET, event_type, entry)
                counts[status] = counts.get(status, 0) + 1
                if status >= 500:
                    self.figures["server_errors"] += 1
                    print(f"webhook answered {status}: {answer}", file=sys.stderr)
            time.sleep(self.rng.uniform(0.0, 0.05))

    def webhook_changes(self, action, item, activities):
        """Change the simulator as Jibble would, and return the events Jibble would send."""
        simulator = self.simulator
        if action == "replay":
            return [("TimeEntry.Created", item)]
        if action == "edit":
            moved = parse_datetime(item["time"]) + timedelta(minutes=self.rng.choice([-2, 2]))
            changes = {"time": moved}
            if item["type"] == "In":
                changes["activity_id"] = self.rng.choice(activities)
            return [("TimeEntry.Updated", simulator.update_time_entry(item["id"], **changes))]
        if action == "delete":
            simulator.delete_time_entry(item["id"])
            data = item if self.rng.random() < 0.5 else {"id": item["id"]}
            return [("TimeEntry.Deleted", data)]
        # A short Saturday shift, on a day no working-day entry touches.
        day = date.today() - timedelta(days=date.today().weekday() + 2)
        clock_in = datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc) + timedelta(
            hours=10, minutes=self.rng.randint(0, 59)
        )
        events = []
        for entry_type, instant in (("In", clock_in), ("Out", clock_in + timedelta(hours=2))):
            entry = simulator.add_time_entry(item["id"], entry_type, iso_utc(instant))
            events.append(("TimeEntry.Created", entry))
        return events

    def clean_run(self):
        started = time.monotonic()
        self.run_worker(self.clean_db, "cron")
        self.figures["clean_seconds"] = time.monotonic() - started

    # Comparison

    def snapshot(self, database):
        connection = connect(database)
        with connection, connection.cursor() as cr:
            cr.execute(  # pylint: disable=sql-injection  # columns: a constant
                f"SELECT {ATTENDANCE_COLUMNS} FROM hr_attendance a"
                " JOIN hr_employee e ON e.id = a.employee_id ORDER BY 1, 4"
            )
            attendances = cr.fetchall()
            cr.execute(
                "SELECT entry_id, person_id, entry_type, time, state, attendance_id IS NOT NULL"
                " FROM jibble_time_entry WHERE is_active ORDER BY entry_id"
            )
            entries = cr.fetchall()
            cr.execute(
                "SELECT status, count(*) FROM jibble_sync_log WHERE operation = 'pull'"
                " GROUP BY status"
            )
            pulls = dict(cr.fetchall())
            cr.execute(
                "SELECT count(*) FROM jibble_sync_log WHERE status = 'failed'"
                " AND detail LIKE '%%SerializationFailure%%'"
            )
            serialization = cr.fetchone()[0]
            cr.execute("SELECT state, count(*) FROM jibble_webhook_event GROUP BY state")
            events = dict(cr.fetchall())
            cr.execute("SELECT jibble_entry_id FROM jibble_webhook_event WHERE state != 'done'")
            events_not_done = {row[0] for row in cr.fetchall()}
            cr.execute(
                "SELECT entry_id FROM jibble_time_entry WHERE is_active"
                " AND state IN ('conflict', 'pending', 'unmatched', 'disabled', 'invalid')"
            )
            held_entries = {row[0] for row in cr.fetchall()}
            # A conflict is about an entry. A unit that a collision rolled back (the injected
            # serialization failures) is logged without one and run again: counted above.
            cr.execute(
                "SELECT DISTINCT jibble_entry_id FROM jibble_sync_log"
                " WHERE operation = 'apply' AND status = 'failed'"
                " AND jibble_entry_id IS NOT NULL"
            )
            conflicts = {row[0] for row in cr.fetchall()}
        connection.close()
        return {
            "attendances": attendances,
            "entries": entries,
            "pulls": pulls,
            "serialization_failures": serialization,
            "events": events,
            "events_not_done": events_not_done,
            "held_entries": held_entries,
            "conflicts": conflicts,
        }

    def compare(self, clean, faulty):
        problems = []
        for name in ("attendances", "entries"):
            expected, actual = clean[name], faulty[name]
            missing = sorted(set(expected) - set(actual))[:5]
            extra = sorted(set(actual) - set(expected))[:5]
            if len(expected) != len(actual) or missing or extra:
                problems.append(
                    f"{name}: clean run {len(expected)} rows, faulty run {len(actual)};"
                    f" missing {missing}; unexpected {extra}"
                )
        webhooks_sent = sum(self.figures["webhooks"].values())
        stored = sum(faulty["events"].values())
        accepted = sum(n for status, n in self.figures["webhooks"].items() if status < 300)
        # An event may wait only for an entry that Jibble's own data holds back (an Out
        # whose In was deleted, say): the clean run holds the same entry.
        unexplained = faulty["events_not_done"] - clean["held_entries"]
        if stored != accepted or unexplained:
            problems.append(
                f"inbox: {accepted} accepted, {stored} stored, states {faulty['events']},"
                f" waiting without cause for entries {sorted(unexplained)[:5]}"
            )
        transient = sorted(faulty["conflicts"] - clean["conflicts"])
        if transient:
            problems.append(f"conflict rows a clean pull does not have: {transient[:5]}")
        if self.figures["serialization_faults"] and not faulty["serialization_failures"]:
            problems.append("serialization failures were injected but none was logged")
        if self.figures["page_deletions"] != PAGE_DELETIONS:
            problems.append(
                f"{self.figures['page_deletions']} entries deleted between pages of"
                f" {PAGE_DELETIONS} planned: the faulty run asked fewer pages than expected"
            )
        if webhooks_sent != self.figures["webhooks_planned"]:
            problems.append(
                f"{webhooks_sent} webhooks sent of {self.figures['webhooks_planned']} planned"
            )
        if self.figures["server_errors"] or accepted != webhooks_sent:
            problems.append(f"webhook answers: {self.figures['webhooks']}")
        return problems

    def cleanup(self):
        self.stop_server()
        self.simulator.stop()
        if not self.args.keep:
            for database in (self.clean_db, self.faulty_db):
                subprocess.run(["dropdb", "-h", "127.0.0.1", "--if-exists", database], check=False)


def connect(database):
    return psycopg2.connect(host="127.0.0.1", user=getpass.getuser(), dbname=database)


def run_once(args):
    """One drill; returns (figures, clean snapshot, faulty snapshot, problems)."""
    drill = Drill(args)
    try:
        drill.prepare()
        drill.faulty_run()
        drill.clean_run()
        clean, faulty = drill.snapshot(drill.clean_db), drill.snapshot(drill.faulty_db)
        problems = drill.compare(clean, faulty)
    finally:
        drill.cleanup()
    return drill.figures, clean, faulty, problems


def report(figures, clean, faulty, problems):
    print(f"time entries in Jibble:         {figures['entries']}")
    print(f"API faults injected mid-pull:   {figures['api_faults']}")
    print(
        f"deleted between two pages:      {figures['page_deletions']}"
        f" (pages asked with $skip: {figures['skip_pages']})"
    )
    print(f"cron processes killed:          {figures['kills']}")
    print(
        f"serialization failures:         {figures['serialization_faults']} injected,"
        f" {faulty['serialization_failures']} failed log rows show one"
    )
    print(f"pull batches in the log:        {faulty['pulls']} (clean run: {clean['pulls']})")
    print(f"webhook answers by status:      {figures['webhooks']}")
    print(
        f"inbox after the retry cron:     {faulty['events']}"
        f" ({len(faulty['events_not_done'])} held for entries the clean run holds too)"
    )
    print(
        f"conflict log rows:              {len(faulty['conflicts'])}"
        f" (clean run: {len(clean['conflicts'])})"
    )
    print(
        f"faulty run {figures['faulty_seconds']:.1f} s in {figures['cron_rounds']} cron rounds;"
        f" clean run {figures['clean_seconds']:.1f} s"
    )
    print(
        f"compared row by row: {len(clean['attendances'])} attendances and"
        f" {len(clean['entries'])} active time entries"
    )
    for problem in problems:
        print(f"MISMATCH {problem}")
    if not problems:
        print("the faulty run ended exactly where the clean run did")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=90)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7, help="random draws of the first run")
    parser.add_argument("--runs", type=int, default=1, help="runs, each with new draws")
    parser.add_argument("--log-dir", help="where the Odoo processes write their logs")
    parser.add_argument("--keep", action="store_true", help="keep both databases")
    parser.add_argument(
        "--next-link-by-skip",
        action="store_true",
        help="Jibble links its pages with @odata.nextLink built with $skip",
    )
    args = parser.parse_args()
    equal = 0
    for run in range(args.runs):
        run_args = argparse.Namespace(**{**vars(args), "seed": args.seed + run})
        if args.runs > 1:
            print(f"--- run {run + 1} of {args.runs} (seed {run_args.seed})", flush=True)
        figures, clean, faulty, problems = run_once(run_args)
        report(figures, clean, faulty, problems)
        equal += not problems
    if args.runs > 1:
        print(f"{equal} of {args.runs} runs ended equal to a clean pull")
    return 0 if equal == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
