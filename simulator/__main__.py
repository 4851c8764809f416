"""Run the simulator for a demo: `python3 -m simulator --people 30 --days 14`."""

import argparse
import random
import signal
import sys
import threading
from datetime import datetime, timezone

from .dataset import generate_dataset
from .server import JibbleSimulator


def main(argv=None):
    parser = argparse.ArgumentParser(description="Local Jibble simulator")
    parser.add_argument("--port", type=int, default=8899)
    parser.add_argument("--people", type=int, default=30)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--client-id", default="sim-client")
    parser.add_argument("--client-secret", default="sim-secret")
    parser.add_argument("--match-emails", default="", help="comma-separated emails of employees")
    parser.add_argument("--webhook-url")
    parser.add_argument("--webhook-secret")
    parser.add_argument("--webhook-every", type=float, default=20.0, help="seconds between events")
    args = parser.parse_args(argv)

    simulator = JibbleSimulator(args.client_id, args.client_secret, port=args.port)
    emails = [email for email in args.match_emails.split(",") if email]
    simulator.load(generate_dataset(args.people, args.days, seed=args.seed, match_emails=emails))
    simulator.start()
    print(f"Jibble simulator on {simulator.base_url}", flush=True)
    print(f"  token URL:          {simulator.token_url}")
    print(f"  workspace URL:      {simulator.workspace_url}")
    print(f"  time tracking URL:  {simulator.time_tracking_url}")
    print(f"  client id / secret: {args.client_id} / {args.client_secret}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_args: stop.set())
    rng = random.Random(args.seed)
    try:
        while not stop.wait(args.webhook_every if args.webhook_url else 3600):
            if args.webhook_url and args.webhook_secret:
                person = rng.choice(simulator.people)
                entry = simulator.add_time_entry(
                    person["id"], rng.choice(["In", "Out"]), datetime.now(timezone.utc)
                )
                status, answer = simulator.send_webhook(
                    args.webhook_url, args.webhook_secret, "TimeEntry.Created", entry["id"]
                )
                print(
                    f"webhook {entry['type']} for {person['fullName']}: HTTP {status} {answer}",
                    flush=True,
                )
    except KeyboardInterrupt:
        pass
    simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
