"""The simulator's HTTP server: token endpoint, workspace lists, time entries, timesheet
summaries, faults and request hooks."""

import json
import secrets
import sys
import threading
import time
import uuid
from collections import deque
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

from .odata import ODataError, compile_filter, parse_filter, sort_rows
from .shapes import iso_date, iso_duration, iso_utc, parse_datetime, person, set_time, time_entry
from .timesheets import tracked_seconds
from .webhook import send_event

__all__ = ["JibbleSimulator", "iso_utc", "parse_datetime"]

WORKSPACE_PREFIX = "/workspace/v1/"
TIME_TRACKING_PREFIX = "/time-tracking/v1/"
TIME_ATTENDANCE_PREFIX = "/time-attendance/v1/"
LISTS = {
    **{
        WORKSPACE_PREFIX + name: name
        for name in ("People", "Activities", "Projects", "Locations", "Organizations")
    },
    TIME_TRACKING_PREFIX + "TimeEntries": "TimeEntries",
}
SUMMARY_PATH = TIME_ATTENDANCE_PREFIX + "TimesheetsSummary"
# Requests counted so far (`?path=` narrows them): for benchmarks running it in another process.
STATS_PATH = "/_simulator/stats"
FILTERABLE = {
    "TimeEntries": {"time", "belongsToDate", "status", "personId", "type", "id"},
    "People": {"email", "status", "id", "fullName"},
    "Activities": {"id", "name"},
    "Projects": {"id", "name"},
    "Locations": {"id", "name"},
    "Organizations": {"id", "name"},
}
FAULT_KINDS = {"rate_limit", "server_error", "hang", "malformed", "expired_token"}
# Keyword names of add/update_time_entry and the raw field each one sets.
ENTRY_KEYS = {
    "activity_id": "activityId",
    "project_id": "projectId",
    "location_id": "locationId",
    "belongs_to_date": "belongsToDate",
    "break_id": "breakId",
    "client_type": "clientType",
    "kiosk_id": "kioskId",
}
UTC = (ZoneInfo("UTC"), True)


class JibbleSimulator:
    """An in-memory Jibble behind a real HTTP server on 127.0.0.1.

    Tests and the demo change its data with the add/update/archive/delete methods, make it
    misbehave with `inject_fault`, and slip changes between two requests with `on_request`;
    the connector only ever talks to it over HTTP.

    Switches (attributes too, so a test can flip them while the server runs):

    - `max_page_size` caps every page, whatever `$top` asks. With `use_next_link=False` (the
      default) a capped page carries no `@odata.nextLink`: the list is silently cut below
      `$top`, as one public client reports of Jibble, and only `$skip` until an empty page
      reads it all. `use_next_link=True` links the next page instead, by `$skip`;
      `use_next_link="token"` links it by a `$skiptoken` naming the page's last row, which a
      deletion before it does not move.
    - `refuse_time_filter=True` answers 400 to a TimeEntries `$filter` on `time`: no public
      client was seen filtering on it, so Jibble may not support it.
    - `token_ttl` is the `expires_in` of new tokens, any integer (Jibble's own example
      answers 2147483647).

    Each person's time zone and whether their `localTime` carries an offset are kept here,
    not on the served Person (Jibble was not seen sending a `timeZone`).
    """

    def __init__(
        self,
        client_id="sim-client",
        client_secret="sim-secret",
        token_ttl=3600,
        max_page_size=100,
        use_next_link=False,
        port=0,
        refuse_time_filter=False,
    ):
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.max_page_size = max_page_size
        self.use_next_link = use_next_link
        self.refuse_time_filter = refuse_time_filter
        self.organization = {"id": str(uuid.uuid4()), "name": "Simulated Org"}
        self.lock = threading.RLock()
        self._people, self._zones = {}, {}
        self._activities, self._projects, self._locations = {}, {}, {}
        # Stored entries are never changed in place (an update stores a new dict), so cached
        # answers and pages being written share them without copying.
        self._entries = {}
        self._version, self._answers = 0, {}
        self._tokens = {}
        self._faults, self._hooks = deque(), deque()
        self.request_log = []
        self.token_requests = 0
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.simulator = self
        self._thread = None

    # Life cycle

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def token_url(self):
        return self.base_url + "/connect/token"

    @property
    def workspace_url(self):
        return self.base_url + WORKSPACE_PREFIX.rstrip("/")

    @property
    def time_tracking_url(self):
        return self.base_url + TIME_TRACKING_PREFIX.rstrip("/")

    @property
    def time_attendance_url(self):
        return self.base_url + TIME_ATTENDANCE_PREFIX.rstrip("/")

    def start(self):
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # Data

    def add_person(
        self,
        full_name,
        email=None,
        person_id=None,
        status="Joined",
        time_zone="Europe/Brussels",
        code=None,
        local_time_offset=True,
        **extra,
    ):
        """A Person; `code` defaults to the next `E0001`-style code, and `local_time_offset`
        says whether this person's `localTime` values carry their offset (both are seen)."""
        person_id = person_id or str(uuid.uuid4())
        with self.lock:
            record = person(
                person_id,
                full_name,
                email,
                code or f"E{len(self._people) + 1:04d}",
                status,
                self.organization["id"],
                None if status == "Invited" else str(uuid.uuid4()),
                iso_utc(datetime.now(timezone.utc)) if status == "Removed" else None,
                **extra,
            )
            self._people[person_id] = record
            self._zones[person_id] = (ZoneInfo(time_zone), local_time_offset)
            self._changed()
        return dict(record)

    def _add_named(self, store, name, item_id):
        item = {"id": item_id or str(uuid.uuid4()), "name": name}
        with self.lock:
            store[item["id"]] = item
            self._changed()
        return dict(item)

    def add_activity(self, name, activity_id=None):
        return self._add_named(self._activities, name, activity_id)

    def add_project(self, name, project_id=None):
        return self._add_named(self._projects, name, project_id)

    def add_location(self, name, location_id=None):
        return self._add_named(self._locations, name, location_id)

    def add_time_entry(
        self,
        person_id,
        type,
        time,
        entry_id=None,
        activity_id=None,
        project_id=None,
        location_id=None,
        status="Active",
        note=None,
        belongs_to_date=None,
        coordinates=None,
        break_id=None,
        client_type="Web",
        kiosk_id=None,
        **extra,
    ):
        """A TimeEntry whose localTime, offset and belongsToDate follow from `time` and the
        person's zone; `extra` sets raw fields (`isManual=True`, `createdAt=...`)."""
        with self.lock:
            zone, local_time_offset = self._zones.get(person_id, UTC)
            entry = time_entry(
                entry_id or str(uuid.uuid4()),
                person_id,
                type,
                time,
                zone,
                local_time_offset,
                belongs_to_date=belongs_to_date,
                break_id=break_id,
                activity_id=activity_id,
                project_id=project_id,
                location_id=location_id,
                coordinates=coordinates,
                note=note,
                status=status,
                client_type=client_type,
                kiosk_id=kiosk_id,
                **extra,
            )
            self._entries[entry["id"]] = entry
            self._changed()
        return dict(entry)

    def start_break(self, person_id, time, **kw):
        """A `StartBreak` with a new breakId (end it with `end_break` and that id)."""
        return self.add_time_entry(person_id, "StartBreak", time, break_id=str(uuid.uuid4()), **kw)

    def end_break(self, person_id, time, break_id, **kw):
        """The `In` that Jibble's EndBreak posts: it carries the break's breakId."""
        return self.add_time_entry(person_id, "In", time, break_id=break_id, **kw)

    def update_time_entry(self, entry_id, **changes):
        """Change an entry as an edit in Jibble would; a new `time` moves localTime, offset
        and belongsToDate with it (unless `belongs_to_date` is given too)."""
        with self.lock:
            entry = dict(self._entries[entry_id])
            if "time" in changes:
                zone, local_time_offset = self._zones.get(entry["personId"], UTC)
                set_time(
                    entry,
                    changes.pop("time"),
                    zone,
                    local_time_offset,
                    changes.pop("belongs_to_date", None),
                )
            if "belongs_to_date" in changes:
                changes["belongs_to_date"] = iso_date(changes["belongs_to_date"])
            for key, value in changes.items():
                entry[ENTRY_KEYS.get(key, key)] = value
            self._entries[entry_id] = entry
            self._changed()
            return dict(entry)

    def archive_time_entry(self, entry_id):
        return self.update_time_entry(entry_id, status="Archived")

    def delete_time_entry(self, entry_id):
        with self.lock:
            del self._entries[entry_id]
            self._changed()

    def get_time_entry(self, entry_id):
        with self.lock:
            return dict(self._entries[entry_id])

    @property
    def time_entries(self):
        with self.lock:
            return [dict(entry) for entry in self._entries.values()]

    @property
    def people(self):
        """People as served (with latestTimeEntryTime)."""
        with self.lock:
            return self._people_rows()

    def load(self, dataset):
        """Load what `generate_dataset` made, replacing nothing that is already there."""
        zones = dataset.get("zones", {})
        with self.lock:
            for record in dataset["people"]:
                self._people[record["id"]] = {**record, "organizationId": self.organization["id"]}
                settings = zones.get(record["id"], {})
                self._zones[record["id"]] = (
                    ZoneInfo(settings.get("time_zone", "UTC")),
                    settings.get("local_time_offset", True),
                )
            for key, store in (
                ("activities", self._activities),
                ("projects", self._projects),
                ("locations", self._locations),
            ):
                for item in dataset[key]:
                    store[item["id"]] = dict(item)
            for entry in dataset["time_entries"]:
                self._entries[entry["id"]] = dict(entry)
            self._changed()

    # Faults, hooks and counters

    def inject_fault(self, kind, count=1, retry_after=1, delay=None, path_contains=None, after=0):
        """The next `count` matching API calls answer with this fault instead; with `after`,
        the fault waits until that many further matching calls have been made."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose from {sorted(FAULT_KINDS)}")
        with self.lock:
            self._faults.extend(
                {
                    "kind": kind,
                    "retry_after": retry_after,
                    "delay": 5 if delay is None else delay,
                    "path_contains": path_contains,
                    "after": after,
                }
                for _n in range(count)
            )

    def clear_faults(self):
        with self.lock:
            self._faults.clear()

    def clear_request_hooks(self):
        """Forget the callbacks of `on_request` that have not run yet."""
        with self.lock:
            self._hooks.clear()

    def pending_faults(self):
        with self.lock:
            return len(self._faults)

    def on_request(self, callback, path_contains=None, after=0, count=1):
        """The next `count` requests whose path contains `path_contains`, once `after` of them
        went by, first call `callback(path, query)` in the server thread, before their answer
        is computed: a test can change the data between page 1 and page 2 of one list.

        One callback runs per request, the earliest registered that matches.
        """
        with self.lock:
            self._hooks.extend(
                {"callback": callback, "path_contains": path_contains, "after": after}
                for _n in range(count)
            )

    def _take(self, queue, path):
        """The first rule of `queue` due for this path, removed; counts down the waiting ones."""
        taken = None
        with self.lock:
            for rule in list(queue):
                if rule["path_contains"] and rule["path_contains"] not in path:
                    continue
                if rule["after"]:
                    rule["after"] -= 1
                elif taken is None:
                    taken = rule
                    queue.remove(rule)
        return taken

    def _run_hook(self, path, query):
        hook = self._take(self._hooks, path)
        if hook:
            hook["callback"](path, query)

    def expire_tokens(self):
        with self.lock:
            self._tokens.clear()

    def count_requests(self, path_contains=None):
        with self.lock:
            return sum(
                1 for _m, path, _s in self.request_log if not path_contains or path_contains in path
            )

    def reset_counters(self):
        with self.lock:
            self.request_log.clear()
            self.token_requests = 0

    # Webhooks

    def send_webhook(self, url, secret, event_type, entry_id, **kwargs):
        """Send the stored entry (or just its id, for a deletion) as a signed event."""
        with self.lock:
            entry = dict(self._entries.get(entry_id) or {"id": entry_id})
        return send_event(url, secret, event_type, entry, **kwargs)

    # Serving

    def _issue_token(self, form):
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return 400, {"error": "invalid_client"}
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.token_requests += 1
            # A float: any lifetime, 2147483647 seconds included, is just a later instant.
            self._tokens[token] = time.monotonic() + float(self.token_ttl)
            key_owner = next(iter(self._people), None)
        return 200, {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.token_ttl,
            "scope": "api1",
            "organizationId": self.organization["id"],
            "personId": key_owner,
        }

    def _authorized(self, header):
        scheme, _, token = (header or "").partition(" ")
        with self.lock:
            expires_at = self._tokens.get(token)
        return scheme == "Bearer" and expires_at is not None and time.monotonic() < expires_at

    def _changed(self):
        """Called under the lock by every change of the data: cached answers are stale."""
        self._version += 1
        self._answers.clear()

    def _people_rows(self):
        """People as served, with the time of their latest active entry (under the lock)."""
        latest = {}
        for entry in self._entries.values():
            if entry["status"] == "Active" and entry["time"] > latest.get(entry["personId"], ""):
                latest[entry["personId"]] = entry["time"]
        return [
            {**record, "latestTimeEntryTime": latest.get(record["id"])}
            for record in self._people.values()
        ]

    def _rows(self, resource):
        """Every row of a resource, under the lock; rows are shared, never changed in place."""
        if resource == "People":
            return self._people_rows()
        if resource == "Organizations":
            return [self.organization]
        stores = {
            "Activities": self._activities,
            "Projects": self._projects,
            "Locations": self._locations,
            "TimeEntries": self._entries,
        }
        return list(stores[resource].values())

    def _matching_rows(self, resource, query):
        """Filtered and ordered rows, kept until the data changes: paging through a long
        answer filters once, not once per page (as a real server's index would)."""
        comparisons = parse_filter(query.get("$filter"), FILTERABLE[resource])
        if (
            resource == "TimeEntries"
            and self.refuse_time_filter
            and any(field == "time" for field, _op, _value in comparisons)
        ):
            raise ODataError("Filtering TimeEntries on 'time' is not supported.")
        key = (resource, query.get("$filter"), query.get("$orderby"))
        with self.lock:
            if key in self._answers:
                return self._answers[key]
            version = self._version
            rows = self._rows(resource)
        rows = sort_rows(filter(compile_filter(comparisons), rows), query.get("$orderby"))
        with self.lock:
            if version == self._version:
                self._answers[key] = rows
        return rows

    def _list(self, resource, query, url):
        """Answer an OData list request: filter, order, count, page and link the next page.

        `$select` and `$expand` are accepted and ignored: rows always come whole.
        """
        return self._page(self._matching_rows(resource, query), query, url)

    def _page(self, rows, query, url):
        """One page of rows under `$top`, `$skip`, `$count` and the paging switches."""
        try:
            top = min(int(query.get("$top", self.max_page_size)), self.max_page_size)
            skip = int(query.get("$skip", 0))
        except ValueError:
            raise ODataError("$top and $skip must be integers") from None
        if top < 0 or skip < 0:
            raise ODataError("$top and $skip must not be negative")
        if "$skiptoken" in query:
            after = [
                index for index, row in enumerate(rows) if row.get("id") == query["$skiptoken"]
            ]
            if not after:
                raise ODataError("$skiptoken names no row of this list any more")
            skip = after[0] + 1
        page = rows[skip : skip + top]
        body = {"value": page}
        if query.get("$count", "").lower() == "true":
            body["@odata.count"] = len(rows)
        if self.use_next_link and skip + top < len(rows):
            if self.use_next_link == "token":
                following = {**query, "$skiptoken": page[-1].get("id")}
                following.pop("$skip", None)
            else:
                following = {**query, "$skip": skip + top}
            body["@odata.nextLink"] = f"{url}?{urlencode(following)}"
        return 200, body

    def _timesheets_summary(self, query, url):
        """`TimesheetsSummary?period=Day|Month|Custom&date=..&endDate=..&personIds=a,b`:
        tracked time per person and day, from their active entries (see `tracked_seconds`).
        One row per person, paged like any list."""
        period = query.get("period", "Day")
        if period not in ("Day", "Month", "Custom"):
            raise ODataError(f"unsupported period {period!r}")
        try:
            first = date.fromisoformat(query["date"])
            last = date.fromisoformat(query["endDate"]) if period == "Custom" else first
        except (KeyError, ValueError):
            raise ODataError("date (and endDate for a Custom period) must be YYYY-MM-DD") from None
        if period == "Month":
            first = first.replace(day=1)
            last = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
        with self.lock:
            asked = query.get("personIds")
            person_ids = [i for i in asked.split(",") if i] if asked else list(self._people)
            entries = list(self._entries.values())
        wanted = set(person_ids)
        totals = tracked_seconds(
            [entry for entry in entries if entry["personId"] in wanted], datetime.now(timezone.utc)
        )
        daily = {}
        for (person_id, day), seconds in sorted(totals.items()):
            if first.isoformat() <= day <= last.isoformat():
                daily.setdefault(person_id, []).append(
                    {"date": day, "tracked": iso_duration(seconds)}
                )
        rows = [
            {"personId": person_id, "daily": daily.get(person_id, [])} for person_id in person_ids
        ]
        return self._page(rows, query, url)


def _query(split):
    return {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle's algorithm and the
    # client's delayed ACK hold every answer back about 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format, *args):
        """Silent: the tests read `request_log` instead of stderr."""

    def _send(self, status, body, headers=None, raw=None):
        """Answer; `send_response` adds the `Date` header a real server sends too."""
        payload = raw if raw is not None else json.dumps(body).encode()
        sim = self.server.simulator
        with sim.lock:
            sim.request_log.append((self.command, self.path, status))
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self):
        sim = self.server.simulator
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        split = urlsplit(self.path)
        sim._run_hook(split.path, _query(split))
        if split.path != "/connect/token":
            return self._send(404, {"error": "not_found"})
        if self._fault(split.path):
            return None
        return self._send(*sim._issue_token(form))

    def do_GET(self):
        sim = self.server.simulator
        split = urlsplit(self.path)
        query = _query(split)
        sim._run_hook(split.path, query)
        if split.path == STATS_PATH:
            return self._send(200, {"requests": sim.count_requests(query.get("path"))})
        if split.path not in LISTS and split.path != SUMMARY_PATH:
            return self._send(404, {"error": "not_found"})
        if self._fault(split.path):
            return None
        if not sim._authorized(self.headers.get("Authorization")):
            return self._send(401, {"error": "invalid_token"})
        try:
            url = sim.base_url + split.path
            if split.path == SUMMARY_PATH:
                return self._send(*sim._timesheets_summary(query, url))
            return self._send(*sim._list(LISTS[split.path], query, url))
        except ODataError as error:
            return self._send(400, {"error": {"code": "BadRequest", "message": str(error)}})

    def _fault(self, path):
        """Answer with the next injected fault for this path; True when one was sent."""
        fault = self.server.simulator._take(self.server.simulator._faults, path)
        if not fault:
            return False
        kind = fault["kind"]
        if kind == "hang":
            time.sleep(fault["delay"])
            return False
        if kind == "rate_limit":
            self._send(
                429,
                {"error": "too_many_requests"},
                headers={"Retry-After": str(fault["retry_after"])},
            )
        elif kind == "server_error":
            self._send(500, {"error": "internal_error", "message": "simulated outage"})
        elif kind == "malformed":
            self._send(200, None, raw=b'{"value": [{"id": "trunc')
        elif kind == "expired_token":
            self._send(401, {"error": "invalid_token", "error_description": "token expired"})
        return True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A client that gave up on a hanging answer is expected, not an error to print;
        anything else (an `on_request` callback that failed) is."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)
