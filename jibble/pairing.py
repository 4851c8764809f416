"""Turn a person's Jibble entries into attendance intervals: pure functions, no ORM.

Jibble sends clock-in and clock-out as separate entries. In time order an `In` opens an
interval and the next `Out` closes it. An `In` while already clocked in is Jibble's "switch
activity": it ends the running interval and opens a new one, so each interval keeps its own
activity. An `Out` with nothing open cannot be placed and is reported, never dropped.
"""

from dataclasses import dataclass
from datetime import datetime

CLOCK_IN = "In"
CLOCK_OUT = "Out"


@dataclass(frozen=True)
class Entry:
    entry_id: str
    entry_type: str
    time: datetime


@dataclass(frozen=True)
class Interval:
    start: Entry
    end: Entry | None

    @property
    def check_out(self):
        return self.end.time if self.end else None


@dataclass(frozen=True)
class Pairing:
    intervals: list
    unpaired_clock_outs: list
    ignored: list


def pair_entries(entries):
    """Pair active entries of one person; also returns the `Out`s that close nothing and
    the entries of types other than `In` and `Out`."""
    intervals, unpaired_clock_outs, ignored = [], [], []
    open_entry = None
    for entry in sorted(entries, key=lambda e: (e.time, e.entry_type == CLOCK_IN, e.entry_id)):
        if entry.entry_type == CLOCK_IN:
            if open_entry:
                intervals.append(Interval(open_entry, entry))
            open_entry = entry
        elif entry.entry_type == CLOCK_OUT:
            if open_entry:
                intervals.append(Interval(open_entry, entry))
                open_entry = None
            else:
                unpaired_clock_outs.append(entry)
        else:
            ignored.append(entry)
    if open_entry:
        intervals.append(Interval(open_entry, None))
    return Pairing(intervals, unpaired_clock_outs, ignored)
