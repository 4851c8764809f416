"""The simulator speaks the shapes of the Jibble API the connector is written against.

Everything goes over real HTTP, as the connector's requests do; no database is needed.
"""

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import date, datetime, timedelta, timezone

from odoo.tests import tagged
from odoo.tests.common import BaseCase

from ..simulator import JibbleSimulator, generate_dataset, tracked_seconds

PERSON_FIELDS = {
    "id",
    "fullName",
    "firstName",
    "lastName",
    "email",
    "code",
    "status",
    "role",
    "groupId",
    "userId",
    "organizationId",
    "removedAt",
    "latestTimeEntryTime",
}
ENTRY_FIELDS = {
    "id",
    "personId",
    "type",
    "breakId",
    "time",
    "localTime",
    "offset",
    "belongsToDate",
    "activityId",
    "projectId",
    "locationId",
    "coordinates",
    "note",
    "status",
    "isOffline",
    "isManual",
    "clientType",
    "platform",
    "kioskId",
    "isAutomatic",
    "isEndOfDay",
    "isLocked",
    "isUnusual",
    "isOutsideGeofence",
    "createdAt",
}


def at(hours, day=3):
    """An aware UTC instant on March `day`, 2025, `hours` after midnight."""
    return datetime(2025, 3, day, tzinfo=timezone.utc) + timedelta(hours=hours)


def day_problems(entries):
    """What makes a person's active entries an impossible Jibble history: anything but an
    `In` after an `Out`, a break not ended by the `In` with its breakId, two entries at one
    instant."""
    by_person = {}
    for entry in entries:
        if entry["status"] == "Active":
            by_person.setdefault(entry["personId"], []).append(entry)
    problems = []
    for rows in by_person.values():
        rows.sort(key=lambda entry: entry["time"])
        state, open_break, last_time = "Out", None, None
        for entry in rows:
            kind, break_id = entry["type"], entry["breakId"]
            if entry["time"] == last_time:
                problems.append(("two entries at one instant", entry["id"]))
            if state == "Out" and (kind != "In" or break_id):
                problems.append(("not an In after an Out", entry["id"]))
            elif state == "StartBreak" and (kind != "In" or break_id != open_break):
                problems.append(("break not ended by its In", entry["id"]))
            elif state == "In" and kind == "In" and break_id:
                problems.append(("break ended but never started", entry["id"]))
            state, last_time = kind, entry["time"]
            open_break = break_id if kind == "StartBreak" else None
        if state == "StartBreak":
            problems.append(("history ends on a break", rows[-1]["id"]))
    return problems


@tagged("post_install", "-at_install")
class TestSimulator(BaseCase):
    def setUp(self):
        super().setUp()
        self.simulator = self.start_simulator(max_page_size=5)

    def start_simulator(self, **options):
        simulator = JibbleSimulator(**options).start()
        self.addCleanup(simulator.stop)
        return simulator

    # HTTP helpers

    def token(self, simulator=None):
        simulator = simulator or self.simulator
        form = {
            "grant_type": "client_credentials",
            "client_id": simulator.client_id,
            "client_secret": simulator.client_secret,
        }
        request = urllib.request.Request(
            simulator.token_url, data=urllib.parse.urlencode(form).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def get(self, url, query=None, simulator=None):
        """(status, JSON body, headers) of an authorized GET; 4xx answers are returned too."""
        access_token = self.token(simulator)["access_token"]
        if query:
            url += "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {access_token}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read()), response.headers
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read()), error.headers

    def entries(self, query=None):
        status, body, _headers = self.get(self.simulator.time_tracking_url + "/TimeEntries", query)
        self.assertEqual(status, 200, body)
        return body

    def clocked_day(self, person_id):
        """In, lunch break, Out: 4h + 3h30m12s tracked on March 3."""
        sim = self.simulator
        clock_in = sim.add_time_entry(person_id, "In", at(7))
        pause = sim.start_break(person_id, at(11))
        back = sim.end_break(person_id, at(11.75), pause["breakId"])
        clock_out = sim.add_time_entry(person_id, "Out", at(15.25) + timedelta(seconds=12))
        return clock_in, pause, back, clock_out

    # Tokens and people

    def test_token_answer_and_a_lifetime_of_2147483647_seconds(self):
        simulator = self.start_simulator(token_ttl=2147483647)
        owner = simulator.add_person("Owner Person")
        token = self.token(simulator)
        self.assertEqual(token["token_type"], "Bearer")
        self.assertEqual(token["expires_in"], 2147483647)
        self.assertEqual(token["scope"], "api1")
        self.assertEqual(token["organizationId"], simulator.organization["id"])
        self.assertEqual(token["personId"], owner["id"])
        self.assertTrue(token["access_token"])
        status, body, headers = self.get(simulator.workspace_url + "/People", simulator=simulator)
        self.assertEqual(status, 200, body)
        self.assertTrue(headers["Date"])
        self.assertEqual(simulator.token_requests, 2)

    def test_people_carry_the_seen_fields_and_no_time_zone(self):
        sim = self.simulator
        ada = sim.add_person("Ada Lovelace", email="ada@example.com", time_zone="Asia/Kolkata")
        sim.add_person("Bo Berg", status="Removed", code="X-9")
        sim.add_person("Cy", status="Invited")
        sim.add_time_entry(ada["id"], "In", at(8))
        status, body, _headers = self.get(sim.workspace_url + "/People", {"$count": "true"})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["@odata.count"], 3)
        people = {person["fullName"]: person for person in body["value"]}
        for person in people.values():
            self.assertEqual(set(person), PERSON_FIELDS)
            self.assertEqual(person["organizationId"], sim.organization["id"])
        ada = people["Ada Lovelace"]
        self.assertEqual((ada["firstName"], ada["lastName"]), ("Ada", "Lovelace"))
        self.assertEqual((ada["code"], ada["status"]), ("E0001", "Joined"))
        self.assertIsNone(ada["removedAt"])
        self.assertEqual(ada["latestTimeEntryTime"], "2025-03-03T08:00:00.000Z")
        self.assertEqual(
            (people["Bo Berg"]["code"], people["Bo Berg"]["status"]), ("X-9", "Removed")
        )
        self.assertTrue(people["Bo Berg"]["removedAt"])
        self.assertEqual((people["Cy"]["code"], people["Cy"]["status"]), ("E0003", "Invited"))
        self.assertIsNone(people["Cy"]["userId"])

    # Time entries

    def test_a_break_is_a_start_break_and_an_in_with_the_same_break_id(self):
        person = self.simulator.add_person("Pat")
        clock_in, pause, back, clock_out = self.clocked_day(person["id"])
        served = self.entries({"$orderby": "time asc", "$top": 10})["value"]
        ids = [entry["id"] for entry in (clock_in, pause, back, clock_out)]
        self.assertEqual([entry["id"] for entry in served], ids)
        self.assertEqual(set(served[0]), ENTRY_FIELDS)
        self.assertEqual([entry["type"] for entry in served], ["In", "StartBreak", "In", "Out"])
        self.assertTrue(served[1]["breakId"])
        self.assertEqual(served[2]["breakId"], served[1]["breakId"])
        self.assertEqual([served[0]["breakId"], served[3]["breakId"]], [None, None])

    def test_local_time_with_and_without_offset_and_odd_offsets(self):
        sim = self.simulator
        zones = {
            "Europe/Brussels": True,
            "Asia/Kolkata": False,
            "America/New_York": True,
            "UTC": False,
        }
        people = {
            zone: sim.add_person(zone, time_zone=zone, local_time_offset=with_offset)
            for zone, with_offset in zones.items()
        }
        instant = at(2, day=3)
        served = {}
        for zone, person in people.items():
            entry = sim.add_time_entry(person["id"], "In", instant)
            served[zone] = self.entries({"$filter": f"id eq '{entry['id']}'"})["value"][0]
        expected = {
            "Europe/Brussels": ("2025-03-03T03:00:00.000+01:00", "PT1H", "2025-03-03"),
            "Asia/Kolkata": ("2025-03-03T07:30:00.000", "PT5H30M", "2025-03-03"),
            "America/New_York": ("2025-03-02T21:00:00.000-05:00", "-PT5H", "2025-03-02"),
            "UTC": ("2025-03-03T02:00:00.000", "PT0S", "2025-03-03"),
        }
        for zone, (local_time, offset, day) in expected.items():
            entry = served[zone]
            self.assertEqual(entry["time"], "2025-03-03T02:00:00.000Z")
            self.assertEqual(
                (entry["localTime"], entry["offset"], entry["belongsToDate"]),
                (local_time, offset, day),
            )
        moved = sim.update_time_entry(served["America/New_York"]["id"], time=at(14, day=10))
        self.assertEqual(moved["time"], "2025-03-10T14:00:00.000Z")
        self.assertEqual(moved["localTime"], "2025-03-10T10:00:00.000-04:00")
        self.assertEqual((moved["offset"], moved["belongsToDate"]), ("-PT4H", "2025-03-10"))

    # Queries

    def test_a_time_filter_can_be_refused(self):
        sim = self.simulator
        sim.add_time_entry(sim.add_person("Pat")["id"], "In", at(8))
        by_time = {"$filter": "time ge 2025-03-03T00:00:00Z and time lt 2025-03-04T00:00:00Z"}
        by_day = {"$filter": "(belongsToDate eq 2025-03-03 and status ne 'Archived')"}
        url = sim.time_tracking_url + "/TimeEntries"
        self.assertEqual(len(self.entries(by_time)["value"]), 1)
        sim.refuse_time_filter = True
        status, body, _headers = self.get(url, by_time)
        self.assertEqual(status, 400)
        self.assertIn("time", body["error"]["message"])
        status, body, _headers = self.get(url, by_day)
        self.assertEqual(status, 200, body)
        self.assertEqual(len(body["value"]), 1)

    def test_count_and_pages_capped_below_top_without_next_link(self):
        sim = self.simulator
        person = sim.add_person("Pat")
        created = {sim.add_time_entry(person["id"], "In", at(n)).get("id") for n in range(12)}
        query = {"$orderby": "time asc", "$top": 10, "$count": "true"}
        first = self.entries(query)
        self.assertEqual(len(first["value"]), 5)
        self.assertEqual(first["@odata.count"], 12)
        self.assertNotIn("@odata.nextLink", first)
        seen, skip = [], 0
        while True:
            page = self.entries({**query, "$skip": skip})["value"]
            if not page:
                break
            seen += [entry["id"] for entry in page]
            skip += len(page)
        self.assertEqual(len(seen), 12)
        self.assertEqual(set(seen), created)
        sim.use_next_link = True
        self.assertIn("$skip=5", urllib.parse.unquote(self.entries(query)["@odata.nextLink"]))

    def test_filter_on_one_id_quoted_or_not(self):
        sim = self.simulator
        person = sim.add_person("Pat")
        entries = [sim.add_time_entry(person["id"], "In", at(n)) for n in range(3)]
        wanted = entries[1]["id"]
        for literal in (f"'{wanted}'", wanted):
            body = self.entries({"$filter": f"id eq {literal}", "$count": "true"})
            self.assertEqual([entry["id"] for entry in body["value"]], [wanted])
            self.assertEqual(body["@odata.count"], 1)

    def test_order_by_several_keys(self):
        sim = self.simulator
        first, second = sim.add_person("Ann"), sim.add_person("Bob")
        for hour in (9, 8, 10):
            sim.add_time_entry(first["id"], "In", at(hour))
            sim.add_time_entry(second["id"], "In", at(hour))
        query = {"$orderby": "personId desc,time asc", "$top": 10}
        served = [(entry["personId"], entry["time"]) for entry in self.entries(query)["value"]]
        self.assertEqual(len(served), 5)
        people = sorted([first["id"], second["id"]], reverse=True)
        expected = [
            (p, at(h).strftime("%Y-%m-%dT%H:00:00.000Z")) for p in people for h in (8, 9, 10)
        ]
        self.assertEqual(served, expected[:5])

    def test_data_can_change_between_two_pages(self):
        sim = self.simulator
        person = sim.add_person("Pat")
        for n in range(10):
            sim.add_time_entry(person["id"], "In", at(n + 1))
        calls = []

        def insert_earliest(path, query):
            calls.append((path, query.get("$skip")))
            sim.add_time_entry(person["id"], "Out", at(0))

        sim.on_request(insert_earliest, path_contains="TimeEntries", after=1)
        query = {"$orderby": "time asc", "$top": 5}
        page_one = self.entries(query)["value"]
        page_two = self.entries({**query, "$skip": 5})["value"]
        self.assertEqual(calls, [("/time-tracking/v1/TimeEntries", "5")])
        # The new first entry pushed every row one place down: page 2 repeats the last row.
        self.assertEqual(page_two[0]["id"], page_one[-1]["id"])
        self.assertEqual(
            self.entries({**query, "$skip": 10})["value"][0]["time"],
            at(10).strftime("%Y-%m-%dT%H:00:00.000Z"),
        )
        logged = [
            (method, status) for method, path, status in sim.request_log if "TimeEntries" in path
        ]
        self.assertEqual(logged, [("GET", 200)] * 3)

    # Timesheets summary

    def test_timesheets_summary_tracks_work_but_not_breaks(self):
        sim = self.simulator
        pat, sam = sim.add_person("Pat"), sim.add_person("Sam")
        self.clocked_day(pat["id"])
        archived = sim.add_time_entry(pat["id"], "In", at(20))
        sim.archive_time_entry(archived["id"])
        sim.add_time_entry(sam["id"], "In", at(8, day=4))
        sim.add_time_entry(sam["id"], "Out", at(9, day=4))
        url = sim.time_attendance_url + "/TimesheetsSummary"
        query = {"period": "Day", "date": "2025-03-03", "personIds": pat["id"]}
        status, body, _headers = self.get(url, query)
        self.assertEqual(status, 200, body)
        self.assertEqual(
            body,
            {
                "value": [
                    {
                        "personId": pat["id"],
                        "daily": [{"date": "2025-03-03", "tracked": "PT7H30M12S"}],
                    }
                ]
            },
        )
        query = {"period": "Custom", "date": "2025-03-01", "endDate": "2025-03-31"}
        status, body, _headers = self.get(url, query)
        self.assertEqual(status, 200, body)
        daily = {row["personId"]: row["daily"] for row in body["value"]}
        self.assertEqual(daily[sam["id"]], [{"date": "2025-03-04", "tracked": "PT1H"}])
        self.assertEqual(daily[pat["id"]][0]["tracked"], "PT7H30M12S")
        status, body, _headers = self.get(url, {**query, "$top": 1, "$skip": 1})
        self.assertEqual([row["personId"] for row in body["value"]], [sam["id"]])

    def test_tracked_seconds_runs_an_open_in_until_now(self):
        sim = self.simulator
        person = sim.add_person("Pat")
        sim.add_time_entry(person["id"], "In", at(8))
        sim.add_time_entry(person["id"], "In", at(9), activity_id="other")
        totals = tracked_seconds(sim.time_entries, now=at(10.5))
        self.assertEqual(totals, {(person["id"], "2025-03-03"): 2.5 * 3600})

    # Generated data

    def test_generated_days_are_valid_and_varied(self):
        dataset = generate_dataset(45, 21, start_date=date(2025, 3, 3), seed=3)
        self.assertEqual(dataset, generate_dataset(45, 21, start_date=date(2025, 3, 3), seed=3))
        entries = dataset["time_entries"]
        self.assertEqual(day_problems(entries), [])
        auto_outs = [entry for entry in entries if entry["clientType"] == "AutoOut"]
        self.assertTrue(auto_outs)
        for entry in auto_outs:
            self.assertEqual(entry["type"], "Out")
            self.assertTrue(entry["isAutomatic"])
            self.assertIn("T23:59:00.000", entry["localTime"])
        self.assertTrue(any(entry["type"] == "StartBreak" for entry in entries))
        self.assertTrue(any(entry["coordinates"] for entry in entries))
        self.assertTrue(any(entry["status"] == "Archived" for entry in entries))
        offsets = {entry["offset"] for entry in entries}
        self.assertTrue({"PT5H30M", "PT0S"} <= offsets)
        self.assertTrue(any(offset.startswith("-") for offset in offsets))
        removed = [person for person in dataset["people"] if person["status"] == "Removed"]
        self.assertTrue(removed)
        self.assertTrue(all(person["removedAt"] for person in removed))
        self.assertTrue(any(entry["personId"] == removed[0]["id"] for entry in entries))
        codes = [person["code"] for person in dataset["people"]]
        self.assertTrue(all(codes))
        self.assertEqual(len(set(codes)), 45)
        plain = generate_dataset(10, 7, seed=3, breaks=False, auto_outs=False, switches=False)
        self.assertEqual(day_problems(plain["time_entries"]), [])
        self.assertEqual({entry["type"] for entry in plain["time_entries"]}, {"In", "Out"})
        self.assertNotIn("AutoOut", {entry["clientType"] for entry in plain["time_entries"]})

    def test_loaded_dataset_is_served_without_time_zones(self):
        sim = self.simulator
        sim.load(generate_dataset(6, 7, seed=5))
        status, body, _headers = self.get(sim.workspace_url + "/People", {"$top": 10})
        self.assertEqual(status, 200, body)
        self.assertEqual(len(body["value"]), 5)
        for person in body["value"]:
            self.assertEqual(set(person), PERSON_FIELDS)
            self.assertTrue(person["latestTimeEntryTime"])
        # `2025-03-03T09:00:00.000` has 23 characters, and 29 with `+01:00`: both are served.
        self.assertEqual({len(entry["localTime"]) for entry in sim.time_entries}, {23, 29})
