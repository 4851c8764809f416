"""The simulator's HTTP server: token endpoint, workspace lists, time entries and faults."""

import json
import secrets
import threading
import time
import uuid
from collections import deque
from datetime import timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

from .odata import ODataError, compile_filter, parse_datetime, sort_rows
from .webhook import send_event

WORKSPACE_PREFIX = "/workspace/v1/"
TIME_TRACKING_PREFIX = "/time-tracking/v1/"
FILTERABLE = {
    "TimeEntries": {"time", "belongsToDate", "status", "personId", "type", "id"},
    "People": {"email", "status", "id", "fullName"},
    "Activities": {"id", "name"},
    "Projects": {"id", "name"},
    "Locations": {"id", "name"},
    "Organizations": {"id", "name"},
}
FAULT_KINDS = {"rate_limit", "server_error", "hang", "malformed", "expired_token"}


def iso_utc(value):
    """Jibble's instant format: UTC with milliseconds and a Z."""
    if isinstance(value, str):
        value = parse_datetime(value)
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class JibbleSimulator:
    """An in-memory Jibble behind a real HTTP server on 127.0.0.1.

    Tests and the demo change its data with the add/update/archive/delete methods and
    make it misbehave with `inject_fault`; the connector only ever talks to it over HTTP.
    """

    def __init__(
        self,
        client_id="sim-client",
        client_secret="sim-secret",
        token_ttl=3600,
        max_page_size=100,
        use_next_link=False,
        port=0,
    ):
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.max_page_size = max_page_size
        self.use_next_link = use_next_link
        self.organization = {"id": str(uuid.uuid4()), "name": "Simulated Org"}
        self.lock = threading.RLock()
        self._people, self._activities, self._projects, self._locations = {}, {}, {}, {}
        self._entries = {}
        self._version, self._answers = 0, {}
        self._tokens = {}
        self._faults = deque()
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
        self, full_name, email=None, person_id=None, status="Joined", time_zone="Europe/Brussels"
    ):
        person = {
            "id": person_id or str(uuid.uuid4()),
            "fullName": full_name,
            "email": email,
            "status": status,
            "organizationId": self.organization["id"],
            "timeZone": time_zone,
        }
        with self.lock:
            self._people[person["id"]] = person
            self._changed()
        return dict(person)

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
    ):
        entry = {
            "id": entry_id or str(uuid.uuid4()),
            "personId": person_id,
            "type": type,
            "activityId": activity_id,
            "projectId": project_id,
            "locationId": location_id,
            "coordinates": coordinates,
            "note": note,
            "status": status,
            "isOffline": False,
            "isManual": False,
            "clientType": "Web",
        }
        with self.lock:
            self._set_time(entry, time, belongs_to_date)
            self._entries[entry["id"]] = entry
            self._changed()
        return dict(entry)

    def _set_time(self, entry, instant, belongs_to_date=None):
        """Keep time, localTime and belongsToDate consistent, as Jibble does."""
        instant = parse_datetime(instant) if isinstance(instant, str) else instant
        person = self._people.get(entry["personId"]) or {}
        local = instant.astimezone(ZoneInfo(person.get("timeZone") or "UTC"))
        entry["time"] = iso_utc(instant)
        entry["localTime"] = local.replace(tzinfo=None).isoformat(timespec="milliseconds")
        entry["belongsToDate"] = belongs_to_date or local.date().isoformat()

    def update_time_entry(self, entry_id, **changes):
        keys = {
            "activity_id": "activityId",
            "project_id": "projectId",
            "location_id": "locationId",
            "belongs_to_date": "belongsToDate",
        }
        with self.lock:
            entry = self._entries[entry_id]
            if "time" in changes:
                self._set_time(entry, changes.pop("time"), changes.pop("belongs_to_date", None))
            for key, value in changes.items():
                entry[keys.get(key, key)] = value
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
        with self.lock:
            return [dict(person) for person in self._people.values()]

    def load(self, dataset):
        """Load what `generate_dataset` made, replacing nothing that is already there."""
        with self.lock:
            for person in dataset["people"]:
                self._people[person["id"]] = {**person, "organizationId": self.organization["id"]}
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

    # Faults and counters

    def inject_fault(self, kind, count=1, retry_after=1, delay=None, path_contains=None, after=0):
        """The next `count` matching API calls answer with this fault instead; with `after`,
        the fault waits until that many further matching calls have been made."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose from {sorted(FAULT_KINDS)}")
        with self.lock:
            for _n in range(count):
                self._faults.append(
                    {
                        "kind": kind,
                        "retry_after": retry_after,
                        "delay": 5 if delay is None else delay,
                        "path_contains": path_contains,
                        "after": after,
                    }
                )

    def clear_faults(self):
        with self.lock:
            self._faults.clear()

    def _take_fault(self, path):
        taken = None
        with self.lock:
            for fault in list(self._faults):
                if fault["path_contains"] and fault["path_contains"] not in path:
                    continue
                if fault["after"]:
                    fault["after"] -= 1
                elif taken is None:
                    taken = fault
                    self._faults.remove(fault)
        return taken

    def pending_faults(self):
        with self.lock:
            return len(self._faults)

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
            self._tokens[token] = time.monotonic() + self.token_ttl
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl}

    def _authorized(self, header):
        scheme, _, token = (header or "").partition(" ")
        with self.lock:
            expires_at = self._tokens.get(token)
        return scheme == "Bearer" and expires_at is not None and time.monotonic() < expires_at

    def _changed(self):
        """Called under the lock by every change of the data: cached answers are stale."""
        self._version += 1
        self._answers.clear()

    def _rows(self, resource):
        with self.lock:
            stores = {
                "People": self._people,
                "Activities": self._activities,
                "Projects": self._projects,
                "Locations": self._locations,
                "TimeEntries": self._entries,
                "Organizations": {self.organization["id"]: self.organization},
            }
            return [dict(row) for row in stores[resource].values()]

    def _matching_rows(self, resource, query):
        """Filtered and ordered rows, kept until the data changes: paging through a long
        answer filters once, not once per page (as a real server's index would)."""
        key = (resource, query.get("$filter"), query.get("$orderby"))
        with self.lock:
            if key in self._answers:
                return self._answers[key]
            version = self._version
            rows = self._rows(resource)
        predicate = compile_filter(query.get("$filter"), FILTERABLE[resource])
        rows = sort_rows([row for row in rows if predicate(row)], query.get("$orderby"))
        with self.lock:
            if version == self._version:
                self._answers[key] = rows
        return rows

    def _list(self, resource, query, url):
        """Answer an OData list request: filter, order, count, page and link the next page."""
        rows = self._matching_rows(resource, query)
        try:
            top = min(int(query.get("$top", self.max_page_size)), self.max_page_size)
            skip = int(query.get("$skip", 0))
        except ValueError:
            raise ODataError("$top and $skip must be integers") from None
        page = rows[skip : skip + top]
        body = {"value": page}
        if query.get("$count", "").lower() == "true":
            body["@odata.count"] = len(rows)
        if self.use_next_link and skip + top < len(rows):
            body["@odata.nextLink"] = f"{url}?{urlencode({**query, '$skip': skip + top})}"
        return 200, body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        """Silent: the tests read `request_log` instead of stderr."""

    def _send(self, status, body, headers=None, raw=None):
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
        path = urlsplit(self.path).path
        if path != "/connect/token":
            return self._send(404, {"error": "not_found"})
        if self._fault(path):
            return None
        return self._send(*sim._issue_token(form))

    def do_GET(self):
        sim = self.server.simulator
        split = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        for prefix, resources in (
            (WORKSPACE_PREFIX, ("People", "Activities", "Projects", "Locations", "Organizations")),
            (TIME_TRACKING_PREFIX, ("TimeEntries",)),
        ):
            resource = split.path[len(prefix) :] if split.path.startswith(prefix) else None
            if resource in resources:
                break
        else:
            return self._send(404, {"error": "not_found"})
        if self._fault(split.path):
            return None
        if not sim._authorized(self.headers.get("Authorization")):
            return self._send(401, {"error": "invalid_token"})
        try:
            return self._send(*sim._list(resource, query, sim.base_url + split.path))
        except ODataError as error:
            return self._send(400, {"error": {"code": "BadRequest", "message": str(error)}})

    def _fault(self, path):
        """Answer with the next injected fault for this path; True when one was sent."""
        fault = self.server.simulator._take_fault(path)
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
        """A client that gave up on a hanging answer is expected, not an error to print."""
