"""Run the simulator for a demo: `python3 -m simulator --people 30 --days 14`."""

import argparse
import random
import signal
import sys
import threading
from datetime import date, datetime, timezone

from .dataset import generate_dataset
from .server import JibbleSimulator


def main(argv=None):
    parser = argparse.ArgumentParser(description="Local Jibble simulator")
    parser.add_argument("--port", type=int, default=8899)
    parser.add_argument("--people", type=int, default=30)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start-date", help="first day of the data, YYYY-MM-DD")
    parser.add_argument("--client-id", default="sim-client")
    parser.add_argument("--client-secret", default="sim-secret")
    parser.add_argument("--token-ttl", type=int, default=3600, help="expires_in of tokens")
    parser.add_argument(
        "--max-page-size", type=int, default=100, help="rows per page at most, whatever $top says"
    )
    parser.add_argument(
        "--next-link",
        nargs="?",
        const="skip",
        choices=("skip", "token"),
        help="link capped pages with @odata.nextLink, by $skip (the default) or $skiptoken",
    )
    parser.add_argument(
        "--refuse-time-filter",
        action="store_true",
        help="answer 400 to a TimeEntries $filter on time",
    )
    parser.add_argument("--match-emails", default="", help="comma-separated emails of employees")
    parser.add_argument("--webhook-url")
    parser.add_argument("--webhook-secret")
    parser.add_argument("--webhook-every", type=float, default=20.0, help="seconds between events")
    args = parser.parse_args(argv)

    simulator = JibbleSimulator(
        args.client_id,
        args.client_secret,
        token_ttl=args.token_ttl,
        max_page_size=args.max_page_size,
        use_next_link={None: False, "skip": True, "token": "token"}[args.next_link],
        port=args.port,
        refuse_time_filter=args.refuse_time_filter,
    )
    emails = [email for email in args.match_emails.split(",") if email]
    start = date.fromisoformat(args.start_date) if args.start_date else None
    dataset = generate_dataset(
        args.people, args.days, start_date=start, seed=args.seed, match_emails=emails
    )
    simulator.load(dataset)
    simulator.start()
    print(f"Jibble simulator on {simulator.base_url}", flush=True)
    print(f"  token URL:           {simulator.token_url}")
    print(f"  workspace URL:       {simulator.workspace_url}")
    print(f"  time tracking URL:   {simulator.time_tracking_url}")
    print(f"  time attendance URL: {simulator.time_attendance_url}")
    print(f"  client id / secret:  {args.client_id} / {args.client_secret}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_args: stop.set())
    rng = random.Random(args.seed)
    try:
        while not stop.wait(args.webhook_every if args.webhook_url else 3600):
            if args.webhook_url and args.webhook_secret:
                person = rng.choice([p for p in simulator.people if p["status"] == "Joined"])
                entry = next_entry(simulator, person, dataset["activities"], rng)
                status, answer = simulator.send_webhook(
                    args.webhook_url, args.webhook_secret, "TimeEntry.Created", entry["id"]
                )
                print(
                    f"webhook {entry['type']} for {person['fullName']}: HTTP {status} {answer}",
                    flush=True,
                )
    except KeyboardInterrupt:  # pylint: disable=except-pass  # Ctrl-C is how it is stopped
        pass
    simulator.stop()
    return 0


def next_entry(simulator, person, activities, rng):
    """Record what this person would plausibly do now, given their latest entry: clock in
    when out, end the break when on one, and otherwise clock out, start a break or switch."""
    now = datetime.now(timezone.utc)
    mine = [
        entry
        for entry in simulator.time_entries
        if entry["personId"] == person["id"] and entry["status"] == "Active"
    ]
    latest = max(mine, key=lambda entry: entry["time"], default=None)
    state = latest["type"] if latest else "Out"
    if state == "StartBreak":
        # Jibble resumes the activity the break interrupted.
        before = [e for e in mine if e["type"] == "In" and e["time"] < latest["time"]]
        resumed = max(before, key=lambda entry: entry["time"], default={})
        return simulator.end_break(
            person["id"], now, latest["breakId"], activity_id=resumed.get("activityId")
        )
    if state != "In":
        return simulator.add_time_entry(
            person["id"], "In", now, activity_id=rng.choice(activities)["id"]
        )
    choice = rng.random()
    if choice < 0.3:
        return simulator.start_break(person["id"], now)
    if choice < 0.45:
        return simulator.add_time_entry(
            person["id"], "In", now, activity_id=rng.choice(activities)["id"]
        )
    return simulator.add_time_entry(person["id"], "Out", now)


if __name__ == "__main__":
    sys.exit(main())
