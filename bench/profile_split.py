"""Where a pull's distance to its floor goes, from a py-spy profile of bench/sync_bench.py.

    pip install py-spy
    py-spy record --idle --subprocesses -r 50 -f raw -o pull.raw -- \\
        python3 bench/sync_bench.py --sizes 500x20
    python3 bench/profile_split.py pull.raw --rate 50

`--idle` counts the time spent waiting for PostgreSQL and the simulator, which is most of what
the connector's own steps take. Prints the floor (per measure), the pull, the share of the pull
that is Odoo's own work on the attendances (create, write, their flush and savepoint: what the
floor does once for everything), and the connector's own steps, each in seconds and against
the floor. Seconds under a profiler are longer than without one: compare the ratios.
"""

import argparse
from collections import Counter

# Frames that name a step; a sample counts for the first step of this list in its stack.
PULL = "JibbleSyncService._sync_all"
FLOOR = "floor_seconds"
ODOO_STEP = "Odoo's create and write of the attendances (in the connector's savepoints)"
STEPS = (
    (ODOO_STEP, "HrAttendance._jibble_try"),
    ("reading Jibble", "JibbleSyncService._read_window"),
    ("parsing its rows", "JibbleSyncService._parse_rows"),
    ("storing the entries", "JibbleTimeEntry._store_news"),
    ("recording the entries' outcomes", "update_rows"),
    ("loading entries for planning", "JibbleTimeEntry._load_for_planning"),
    ("planning and attendance values", "JibbleApply._apply_group"),
)


def read_samples(path):
    """(stack frames, samples) per line of py-spy's raw output."""
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            stack, _space, count = line.rstrip("\n").rpartition(" ")
            if stack:
                yield stack.split(";"), int(count)


def split(path):
    """Samples of the floor, of the pull, and of the pull's steps."""
    floor, pull, steps = 0, 0, Counter()
    for frames, count in read_samples(path):
        if any(FLOOR in frame for frame in frames):
            floor += count
        elif any(PULL in frame for frame in frames):
            pull += count
            step = next(
                (name for name, marker in STEPS if any(marker in frame for frame in frames)),
                "the rest of the connector's work",
            )
            steps[step] += count
    return floor, pull, steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", help="py-spy's raw output (-f raw)")
    parser.add_argument("--rate", type=float, default=100, help="py-spy's samples per second")
    parser.add_argument(
        "--floors", type=int, default=2, help="floor measures in the profile (2 per size)"
    )
    args = parser.parse_args()
    floor, pull, steps = split(args.profile)
    if not floor or not pull:
        raise SystemExit("no floor or no pull in this profile: profile sync_bench.py with a floor")
    floor_seconds = floor / args.rate / args.floors
    pull_seconds = pull / args.rate
    print(f"floor {floor_seconds:.1f} s per measure, pull {pull_seconds:.1f} s", end="")
    print(f" = {pull_seconds / floor_seconds:.2f}x the floor (under the profiler)")
    own = pull_seconds - steps[ODOO_STEP] / args.rate
    print(f"the connector's own work: {own:.1f} s = {own / floor_seconds:.2f} of the floor")
    for name, seconds in sorted(
        ((name, count / args.rate) for name, count in steps.items()), key=lambda item: -item[1]
    ):
        print(f"  {seconds:7.1f} s  {seconds / floor_seconds:5.2f} of the floor  {name}")


if __name__ == "__main__":
    main()
