"""Plan one person's attendances from their Jibble entries: a pure function, no ORM.

Jibble sends clock-ins, clock-outs and break starts as separate entries. In time order:

* an `In` opens an interval; an `In` while one is open is Jibble's "switch activity": it closes
  the running interval and opens the next, so each keeps its own activity;
* an `Out` closes the open interval; with `clientType` `AutoOut` Jibble closed it itself;
* a `StartBreak` closes the open interval (a break is not work), and the `In` that carries the
  same `breakId` opens the next one. With paid breaks the interval runs on across the break;
* an `Out` or `StartBreak` with nothing open cannot be placed: it is a conflict, never dropped;
* any other type is kept and reported, never counted as work.

`plan_person` compares those intervals with the attendances the person has and says what to
create, update and remove, and what state each entry ends in.
"""

from dataclasses import dataclass, field
from datetime import datetime

from .entries import AUTO_OUT, CLOCK_IN, CLOCK_OUT, START_BREAK

APPLIED, IGNORED, CONFLICT, PENDING = "applied", "ignored", "conflict", "pending"
HELD_OPEN = "Open where this pull batch ends: applied with the batch that reads on."
# At one instant, what closes comes before what opens.
_TYPE_ORDER = {CLOCK_OUT: 0, START_BREAK: 0, CLOCK_IN: 1}


@dataclass(frozen=True)
class PlanEntry:
    """What planning needs of a stored entry."""

    entry_id: str
    entry_type: str
    time: datetime
    active: bool = True
    break_id: str | None = None
    client_type: str | None = None


@dataclass(frozen=True)
class Interval:
    """One attendance to be: opened by `start` (an In), closed by `end` or still open."""

    start: PlanEntry
    end: PlanEntry | None

    @property
    def closed_by_jibble(self):
        """Jibble clocked the person out itself (they forgot): HR reviews these."""
        return bool(
            self.end and self.end.entry_type == CLOCK_OUT and self.end.client_type == AUTO_OUT
        )


@dataclass(frozen=True)
class Attendance:
    """An attendance the person has, keyed by the entry that opened it."""

    attendance_id: int
    in_entry_id: str


@dataclass(frozen=True)
class EntryState:
    state: str
    message: str | None = None
    interval: Interval | None = None


@dataclass
class Plan:
    create: list = field(default_factory=list)  # Interval
    update: list = field(default_factory=list)  # (attendance id, Interval)
    unlink: list = field(default_factory=list)  # attendance id
    states: dict = field(default_factory=dict)  # entry id -> EntryState


def _sort_key(entry):
    return (entry.time, _TYPE_ORDER.get(entry.entry_type, 2), entry.entry_id)


def pair_entries(entries, paid_breaks=False):
    """Intervals of one person's entries, and the state of every entry."""
    intervals, states = [], {}
    open_entry, members, on_break = None, [], False

    def close(end):
        """End the open interval; an `In` that ends it belongs to the interval it opens."""
        interval = Interval(open_entry, end)
        intervals.append(interval)
        closing = [end] if end and end.entry_type != CLOCK_IN else []
        for member in [*members, *closing]:
            states.setdefault(member.entry_id, EntryState(APPLIED, interval=interval))

    for entry in sorted(entries, key=_sort_key):
        if not entry.active:
            states[entry.entry_id] = EntryState(IGNORED, "Archived or deleted in Jibble.")
        elif entry.entry_type == CLOCK_IN:
            if open_entry and on_break and paid_breaks:
                members.append(entry)
            else:
                if open_entry:
                    close(entry)
                open_entry, members = entry, [entry]
            on_break = False
        elif entry.entry_type == START_BREAK:
            if not open_entry:
                states[entry.entry_id] = EntryState(
                    CONFLICT, "Break started without a clock-in before it."
                )
            elif paid_breaks:
                members.append(entry)
                on_break = True
            else:
                close(entry)
                open_entry, members, on_break = None, [], True
        elif entry.entry_type == CLOCK_OUT:
            if open_entry:
                close(entry)
                open_entry, members = None, []
            elif on_break:
                states[entry.entry_id] = EntryState(APPLIED, "Clocked out during a break.")
            else:
                states[entry.entry_id] = EntryState(
                    CONFLICT, "Clock-out without a clock-in before it."
                )
            on_break = False
        else:
            states[entry.entry_id] = EntryState(
                IGNORED,
                f"Entry type {entry.entry_type} is not a clock-in, clock-out or break start; "
                "it is kept and not counted as work.",
            )
    if open_entry:
        close(None)
    return intervals, states


def plan_person(entries, attendances, paid_breaks=False, hold_open=False):
    """What to do so that the person's attendances are exactly the intervals of `entries`.

    `entries` are the person's entries from a clock-in that opens an interval onwards (older
    attendances are not touched); `attendances` are the person's attendances opened by one of
    those entries.

    With `hold_open` (a pull batch that more batches follow), an interval still open at the
    end is not created: its entries stay pending, and the batch that reads its end creates
    the attendance whole, rather than one open attendance closed by a second write (and a
    second overtime computation, and a check-out line in the chatter) a batch later.
    """
    intervals, states = pair_entries(entries, paid_breaks)
    existing = {attendance.in_entry_id: attendance for attendance in attendances}
    plan = Plan(states=states)
    wanted = set()
    for interval in intervals:
        wanted.add(interval.start.entry_id)
        attendance = existing.get(interval.start.entry_id)
        if attendance:
            plan.update.append((attendance.attendance_id, interval))
        elif hold_open and interval.end is None:
            for entry_id, state in states.items():
                if state.interval == interval:
                    states[entry_id] = EntryState(PENDING, HELD_OPEN)
        else:
            plan.create.append(interval)
    plan.unlink = [
        attendance.attendance_id
        for in_entry_id, attendance in existing.items()
        if in_entry_id not in wanted
    ]
    return plan
