import logging
import math
import time
from datetime import datetime, timedelta, timezone
from unittest.mock import patch

from odoo.tests import BaseCase, TransactionCase, tagged

from ..jibble import client as client_module
from ..jibble.client import (
    JibbleAuthError,
    JibbleClient,
    JibbleConfig,
    JibbleError,
    JibbleRateLimited,
    JibbleUnavailable,
    JibbleUnexpectedResponse,
    token_lifetime,
)
from ..simulator import JibbleSimulator
from .common import LocalJibbleMixin, configure_connector


def client_for(simulator, secret=None, **overrides):
    config = {
        "client_id": simulator.client_id,
        "client_secret": secret or simulator.client_secret,
        "token_url": simulator.token_url,
        "workspace_url": simulator.workspace_url,
        "time_tracking_url": simulator.time_tracking_url,
        "time_attendance_url": simulator.time_attendance_url,
        "backoff_factor": 0.01,
        "read_timeout": 2,
        "page_size": 20,
        **overrides,
    }
    return JibbleClient(JibbleConfig(**config))


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def naive_utc_now():
    return datetime.now(timezone.utc).replace(tzinfo=None)


class ShiftedClock:
    """Stands in for the `time` module inside jibble/client.py, with its monotonic clock moved
    `shift` seconds on: token expiry without sleeping, and without moving anyone else's
    clock (the simulator's own tokens keep real time)."""

    def __init__(self):
        self.shift = 0.0

    def monotonic(self):
        return time.monotonic() + self.shift

    def __getattr__(self, name):
        return getattr(time, name)


@tagged("post_install", "-at_install")
class TestClient(LocalJibbleMixin, BaseCase):
    def setUp(self):
        super().setUp()
        self.simulator = JibbleSimulator(max_page_size=20).start()
        self.addCleanup(self.simulator.stop)
        self.client = client_for(self.simulator)
        self.addCleanup(self.client.close)
        self.start = utc(2025, 3, 3)
        self.day = (self.start, self.start + timedelta(days=1))

    def add_entries(self, count):
        person = self.simulator.add_person("Pat")
        return [
            self.simulator.add_time_entry(
                person["id"], "In" if n % 2 == 0 else "Out", self.start + timedelta(minutes=n)
            )["id"]
            for n in range(count)
        ]

    def shifted_clock(self):
        clock = ShiftedClock()
        patcher = patch.object(client_module, "time", clock)
        patcher.start()
        self.addCleanup(patcher.stop)
        return clock

    def token_answers(self):
        """The token endpoint's answers, as the simulator sends them."""
        answers = []
        issue = self.simulator._issue_token

        def remember(form):
            status, body = issue(form)
            answers.append(body)
            return status, body

        self.simulator._issue_token = remember
        return answers

    def list_requests(self, skip=None):
        """TimeEntries requests made; with `skip`, only those with (True) or without a $skip."""
        with self.simulator.lock:
            paths = [path for _m, path, _s in self.simulator.request_log if "TimeEntries" in path]
        if skip is None:
            return len(paths)
        return sum(1 for path in paths if ("skip" in path) == skip)

    # Authentication

    def test_authentication_success_reads_the_organization(self):
        self.assertEqual(self.client.get_organization()["name"], "Simulated Org")
        self.assertEqual(self.simulator.token_requests, 1)

    def test_authentication_failure_is_a_clear_error(self):
        client = client_for(self.simulator, secret="wrong")
        with self.assertRaises(JibbleAuthError) as caught:
            client.get_organization()
        self.assertIn("refused the API key", caught.exception.message)
        self.assertIn("invalid_client", caught.exception.detail)

    def test_many_calls_share_one_token(self):
        for _call in range(5):
            self.client.get_organization()
        self.client.people()
        self.assertEqual(self.simulator.token_requests, 1)
        self.assertEqual(self.simulator.count_requests("/workspace/"), 6)

    def test_token_of_the_longest_lifetime_jibble_documents_is_used_and_reused(self):
        self.simulator.add_person("Pat")
        self.simulator.token_ttl = 2147483647
        answers = self.token_answers()
        clock = self.shifted_clock()
        self.client.get_organization()
        self.client.people()
        self.client.time_entries(*self.day)
        clock.shift = 2 * 3600
        self.client.names("Activities")
        self.assertEqual(self.simulator.token_requests, 1)
        self.assertEqual(len(answers), 1)
        answer = answers[0]
        self.assertEqual(answer["expires_in"], 2147483647)
        self.assertEqual(answer["scope"], "api1")
        self.assertEqual(answer["organizationId"], self.simulator.organization["id"])
        self.assertTrue(answer["personId"])

    def test_any_token_lifetime_is_a_usable_number_of_seconds(self):
        self.assertEqual(token_lifetime(3600), 3600)
        self.assertEqual(token_lifetime("600"), 600)
        self.assertGreater(token_lifetime(2147483647), 3600)
        for expires_in in (2147483647, 10**400, "1e400", 1e308, math.inf, math.nan):
            with self.subTest(expires_in=str(expires_in)[:20]):
                lifetime = token_lifetime(expires_in)
                self.assertTrue(math.isfinite(lifetime))
                self.assertGreater(lifetime, 0)
                self.assertLessEqual(lifetime, 2147483647)
        for expires_in in (None, "soon", -1, 0, [3600]):
            with self.subTest(expires_in=expires_in):
                self.assertGreater(token_lifetime(expires_in), 0)

    def test_token_is_refreshed_after_it_expires(self):
        self.simulator.token_ttl = 600
        clock = self.shifted_clock()
        self.client.get_organization()
        clock.shift = 300
        self.client.get_organization()
        self.assertEqual(self.simulator.token_requests, 1)
        clock.shift = 600
        self.client.get_organization()
        self.assertEqual(self.simulator.token_requests, 2)
        self.client.people()
        self.assertEqual(self.simulator.token_requests, 2)

    def test_rejected_token_gets_one_refresh_then_a_clear_error(self):
        self.client.get_organization()
        self.simulator.expire_tokens()
        self.client.get_organization()
        self.assertEqual(self.simulator.token_requests, 2)
        self.simulator.inject_fault("expired_token", count=2, path_contains="Organizations")
        with self.assertRaisesRegex(JibbleAuthError, "access token twice"):
            self.client.get_organization()

    # Paging

    def test_paging_with_top_and_skip_reads_every_page(self):
        ids = self.add_entries(65)
        rows = self.client.time_entries(*self.day).rows
        self.assertEqual([row["id"] for row in rows], ids)
        # 20 rows, then 19 new ones per page (each page starts on the last row read), then
        # the page that holds only that last row ends the list.
        self.assertEqual(self.list_requests(), 5)

    def test_list_capped_below_top_without_next_link_is_read_to_the_empty_page(self):
        self.simulator.max_page_size = 5
        ids = self.add_entries(35)
        listing = self.client.time_entries(*self.day)
        self.assertEqual(self.client.config.page_size, 20)
        self.assertEqual([row["id"] for row in listing.rows], ids)
        # 7 pages of 5 without overlap; with it: 5, then 4 new rows a page, then the end.
        self.assertEqual(self.list_requests(), 10)
        self.assertEqual(listing.pages, 10)

    def test_paging_follows_next_links(self):
        self.simulator.use_next_link = "token"
        ids = self.add_entries(60)
        rows = self.client.time_entries(*self.day).rows
        self.assertEqual([row["id"] for row in rows], ids)
        self.assertEqual(self.list_requests(), 3)
        self.assertEqual(self.list_requests(skip=True), 2)

    def test_next_link_list_capped_below_top_is_read_fully(self):
        self.simulator.use_next_link = "token"
        self.simulator.max_page_size = 5
        ids = self.add_entries(35)
        listing = self.client.time_entries(*self.day)
        self.assertEqual([row["id"] for row in listing.rows], ids)
        self.assertEqual(self.list_requests(), 7)
        self.assertEqual(listing.pages, 7)

    def test_row_deleted_from_page_one_while_reading_loses_no_boundary_row(self):
        self.simulator.max_page_size = 5
        ids = self.add_entries(12)
        deleted = ids[1]
        self.simulator.on_request(
            lambda _path, _query: self.simulator.delete_time_entry(deleted),
            path_contains="TimeEntries",
            after=1,
        )
        rows = self.client.time_entries(*self.day).rows
        survivors = [entry_id for entry_id in ids if entry_id != deleted]
        self.assertEqual([row["id"] for row in rows], survivors)
        # ids[5] opened page 2 before the deletion and ends page 1 after it: a plain $skip=5
        # would have skipped it.
        self.assertIn(ids[5], [row["id"] for row in rows])
        self.assertEqual(self.list_requests(skip=False), 2)

    def read_while_a_row_of_page_one_goes(self, next_link):
        """Read 12 rows in pages of 5 linked as `next_link` says, deleting the second row once
        page one is read; returns (the rows there were, the rows read)."""
        self.simulator.max_page_size = 5
        self.simulator.use_next_link = next_link
        ids = self.add_entries(12)
        self.simulator.on_request(
            lambda _path, _query: self.simulator.delete_time_entry(ids[1]),
            path_contains="TimeEntries",
            after=1,
        )
        rows = self.client.time_entries(*self.day).rows
        return ids, [row["id"] for row in rows]

    def test_next_links_built_with_skip_are_paged_with_the_overlapping_row(self):
        """Followed as it came, the `$skip=5` link of page one would miss the row that moved
        to the end of page one when the second row went."""
        ids, read = self.read_while_a_row_of_page_one_goes(next_link=True)
        self.assertEqual(read, ids[:1] + ids[2:])

    def test_next_links_by_token_are_followed_as_they_come(self):
        """A `$skiptoken` names the row to go on after, which a deletion before it leaves
        where it is: no row is missed, in three pages and three calls. The row deleted once
        its page was read is in the read, as after any read (the next one drops it)."""
        ids, read = self.read_while_a_row_of_page_one_goes(next_link="token")
        self.assertEqual(read, ids)
        self.assertEqual(self.list_requests(), 3)

    def test_row_edited_from_page_two_into_page_one_is_read_once_with_its_new_time(self):
        self.simulator.max_page_size = 5
        ids = self.add_entries(12)
        moved = ids[7]
        new_time = self.start + timedelta(seconds=30)
        self.simulator.on_request(
            lambda _path, _query: self.simulator.update_time_entry(moved, time=new_time),
            path_contains="TimeEntries",
            after=1,
        )
        rows = self.client.time_entries(*self.day).rows
        self.assertEqual(
            [row["id"] for row in rows], [ids[0], moved] + [i for i in ids[1:] if i != moved]
        )
        self.assertEqual(rows[1]["time"], "2025-03-03T00:00:30.000Z")
        self.assertEqual(self.list_requests(skip=False), 2)

    def test_list_that_keeps_changing_is_a_clear_error(self):
        self.simulator.max_page_size = 5
        person = self.simulator.add_person("Pat")
        for n in range(12):
            self.simulator.add_time_entry(person["id"], "In", self.start + timedelta(hours=n))
        added = iter(range(100))

        def add_an_early_entry(_path, _query):
            second = next(added) + 1
            self.simulator.add_time_entry(
                person["id"], "In", self.start + timedelta(seconds=second)
            )

        self.simulator.on_request(add_an_early_entry, path_contains="TimeEntries", count=50)
        with self.assertRaises(JibbleUnavailable) as caught:
            self.client.time_entries(*self.day)
        self.assertIn("changed while it was being read", caught.exception.message)
        self.assertEqual(self.list_requests(skip=False), 3)

    def test_list_longer_than_the_page_cap_is_a_clear_error(self):
        self.simulator.max_page_size = 5
        self.add_entries(35)
        client = client_for(self.simulator, max_pages=3)
        self.addCleanup(client.close)
        with self.assertRaises(JibbleError) as caught:
            client.time_entries(*self.day)
        self.assertIsInstance(caught.exception, JibbleUnexpectedResponse)
        self.assertIn("TimeEntries did not end after 3 pages", caught.exception.message)
        self.assertEqual(self.list_requests(), 3)

    def test_read_at_is_not_later_than_jibbles_clock_at_the_first_page(self):
        self.simulator.max_page_size = 5
        self.add_entries(12)
        first_page_at = []
        self.simulator.on_request(
            lambda _path, _query: first_page_at.append(naive_utc_now()),
            path_contains="TimeEntries",
        )
        listing = self.client.time_entries(*self.day)
        self.assertEqual(len(first_page_at), 1)
        self.assertIsNone(listing.read_at.tzinfo)
        self.assertLessEqual(listing.read_at, first_page_at[0])
        self.assertGreater(self.list_requests(), 1)

    # Time entries

    def test_time_window_filters_entries(self):
        ids = self.add_entries(10)
        rows = self.client.time_entries(self.start, self.start + timedelta(minutes=4)).rows
        self.assertEqual([row["id"] for row in rows], ids[:4])
        self.assertFalse(self.client.time_filter_refused)

    def add_entries_around_march_3(self):
        """Entries of people in four zones around the UTC day of March 3; returns the ids
        whose instant is in that day."""
        zones = {
            "utc": "UTC",
            "tokyo": "Asia/Tokyo",
            "kiritimati": "Pacific/Kiritimati",
            "pago": "Pacific/Pago_Pago",
        }
        people = {
            key: self.simulator.add_person(key.title(), time_zone=zone)["id"]
            for key, zone in zones.items()
        }
        cases = [
            # who, instant, inside the window, extra
            ("utc", utc(2025, 3, 2, 23, 59, 59), False, {}),
            ("utc", utc(2025, 3, 3), True, {}),
            ("utc", utc(2025, 3, 3, 23, 59, 59), True, {}),
            ("utc", utc(2025, 3, 4), False, {}),
            ("utc", utc(2025, 2, 27, 12), False, {}),
            ("utc", utc(2025, 3, 6, 12), False, {}),
            ("utc", utc(2025, 3, 3, 12), True, {"status": "Archived"}),
            # a night shift's clock-out, counted for the day before
            ("utc", utc(2025, 3, 3, 2), True, {"belongs_to_date": "2025-03-02"}),
            # belongs to March 3 in Tokyo, but happened on March 2 in UTC
            ("tokyo", utc(2025, 3, 2, 20), False, {}),
            # belongs to March 4 in Tokyo and Kiritimati, happened on March 3 in UTC
            ("tokyo", utc(2025, 3, 3, 20), True, {}),
            ("kiritimati", utc(2025, 3, 3, 12), True, {}),
            # belongs to March 2 in Pago Pago, happened on March 3 in UTC
            ("pago", utc(2025, 3, 3, 5), True, {}),
            # belongs to March 3 in Pago Pago, happened on March 4 in UTC
            ("pago", utc(2025, 3, 4, 5), False, {}),
        ]
        inside = []
        for who, instant, in_window, extra in cases:
            entry = self.simulator.add_time_entry(people[who], "In", instant, **extra)
            if in_window:
                inside.append(entry["id"])
        belongs = {e["id"]: e["belongsToDate"] for e in self.simulator.time_entries}
        self.assertEqual(belongs[inside[-2]], "2025-03-04")
        self.assertEqual(belongs[inside[-1]], "2025-03-02")
        return inside

    def test_time_entries_without_a_time_filter_select_the_window_by_time(self):
        self.simulator.max_page_size = 5
        inside = self.add_entries_around_march_3()
        self.simulator.refuse_time_filter = True
        rows = self.client.time_entries(*self.day).rows
        self.assertEqual(sorted(row["id"] for row in rows), sorted(inside))
        self.assertEqual([row["time"] for row in rows], sorted(row["time"] for row in rows))
        self.assertTrue(self.client.time_filter_refused)
        refusals = [status for _m, _p, status in self.simulator.request_log if status == 400]
        self.assertEqual(len(refusals), 1)
        # Once refused, the time filter is not asked again.
        again = self.client.time_entries(*self.day).rows
        self.assertEqual([row["id"] for row in again], [row["id"] for row in rows])
        refusals = [status for _m, _p, status in self.simulator.request_log if status == 400]
        self.assertEqual(len(refusals), 1)

    def test_time_entries_with_a_time_filter_select_the_same_window(self):
        inside = self.add_entries_around_march_3()
        rows = self.client.time_entries(*self.day).rows
        self.assertEqual(sorted(row["id"] for row in rows), sorted(inside))
        self.assertFalse(self.client.time_filter_refused)
        self.assertEqual(self.simulator.count_requests("belongsToDate"), 0)

    def test_time_entry_is_read_by_its_id(self):
        ids = self.add_entries(3)
        self.assertEqual([row["id"] for row in self.client.time_entry(ids[1]).rows], [ids[1]])
        self.simulator.delete_time_entry(ids[1])
        self.assertEqual(self.client.time_entry(ids[1]).rows, [])

    def test_timesheets_summary_reports_tracked_time_per_day(self):
        person = self.simulator.add_person("Pat", time_zone="UTC")
        self.simulator.add_time_entry(person["id"], "In", utc(2025, 3, 3, 8))
        self.simulator.add_time_entry(person["id"], "Out", utc(2025, 3, 3, 12, 30))
        rows = self.client.timesheets_summary("2025-03-03", "2025-03-03", [person["id"]])
        self.assertEqual(
            rows,
            [{"personId": person["id"], "daily": [{"date": "2025-03-03", "tracked": "PT4H30M"}]}],
        )

    # Failures

    def test_rate_limit_waits_for_retry_after_then_goes_on(self):
        self.simulator.inject_fault("rate_limit", count=1, retry_after=1, path_contains="People")
        started = time.monotonic()
        self.assertEqual(self.client.people(), [])
        self.assertGreaterEqual(time.monotonic() - started, 1.0)
        self.assertEqual(self.simulator.count_requests("People"), 2)

    def test_endless_rate_limit_becomes_a_clear_error(self):
        client = client_for(self.simulator, max_retries=2, max_retry_after=0.1)
        self.addCleanup(client.close)
        self.simulator.inject_fault("rate_limit", count=5, retry_after=30, path_contains="People")
        started = time.monotonic()
        with self.assertRaisesRegex(JibbleRateLimited, "slow down"):
            client.people()
        self.assertLess(time.monotonic() - started, 5)

    def test_server_errors_are_retried_then_surfaced(self):
        self.simulator.inject_fault("server_error", count=2, path_contains="People")
        self.assertEqual(self.client.people(), [])
        self.simulator.inject_fault("server_error", count=10, path_contains="People")
        self.simulator.reset_counters()
        with self.assertRaises(JibbleUnavailable) as caught:
            self.client.people()
        self.assertIn("unavailable", caught.exception.message)
        self.assertIn("HTTP 500", caught.exception.detail)
        self.assertEqual(self.simulator.count_requests("People"), 5)

    def test_timeout_is_a_clear_error(self):
        client = client_for(self.simulator, read_timeout=0.3, max_retries=1)
        self.addCleanup(client.close)
        client.get_organization()
        self.simulator.inject_fault("hang", count=2, delay=1, path_contains="People")
        with self.assertRaisesRegex(JibbleUnavailable, "did not answer in time"):
            client.people()

    def test_malformed_json_is_an_unexpected_answer(self):
        self.simulator.inject_fault("malformed", path_contains="People")
        with self.assertRaises(JibbleUnexpectedResponse) as caught:
            self.client.people()
        self.assertIn("cannot read", caught.exception.message)

    def test_names_are_mapped_by_id(self):
        activity = self.simulator.add_activity("Support")
        self.assertEqual(self.client.names("Activities"), {activity["id"]: "Support"})


@tagged("post_install", "-at_install")
class TestNoSecretLeaks(LocalJibbleMixin, TransactionCase):
    """Secrets and tokens reach no log line, exception, or log row, whatever happens."""

    def setUp(self):
        super().setUp()
        self.simulator = JibbleSimulator(client_secret="TOP-SECRET-VALUE").start()
        self.addCleanup(self.simulator.stop)
        configure_connector(self.env, self.simulator, datetime(2025, 3, 1))

    def test_no_secret_in_logs_exceptions_or_log_rows(self):
        tokens = []
        original_issue = self.simulator._issue_token

        def remember_token(form):
            status, body = original_issue(form)
            tokens.append(body.get("access_token"))
            return status, body

        self.simulator._issue_token = remember_token
        messages = []
        wrong_secret = client_for(self.simulator, secret="WRONG-SECRET-VALUE")
        with self.assertLogs(level=logging.DEBUG) as captured:
            logging.getLogger("urllib3").setLevel(logging.DEBUG)
            self.addCleanup(logging.getLogger("urllib3").setLevel, logging.WARNING)
            client = client_for(self.simulator)
            client.get_organization()
            self.simulator.inject_fault("server_error", count=10)
            for failing in (
                lambda: client.get_organization(),
                lambda: wrong_secret.get_organization(),
            ):
                try:
                    failing()
                except Exception as error:  # noqa: BLE001 - every error kind is inspected
                    messages += [str(error), getattr(error, "detail", "") or ""]
            self.simulator.clear_faults()
            ok, message = self.env["jibble.config"]._test_connection()
            self.assertTrue(ok, message)
            self.simulator.client_secret = "ROTATED-IN-JIBBLE"
            ok, message = self.env["jibble.config"]._test_connection()
            self.assertFalse(ok)
            logging.getLogger(__name__).debug("end of capture")
        rows = self.env["jibble.sync.log"].search([])
        texts = captured.output + messages + rows.mapped("message") + rows.mapped("detail")
        secrets = ["TOP-SECRET-VALUE", "WRONG-SECRET-VALUE", *filter(None, tokens)]
        self.assertTrue(tokens)
        for text in texts:
            for secret in secrets:
                self.assertNotIn(secret, text or "")

    def test_connection_test_reports_organization_and_people(self):
        self.simulator.add_person("Pat")
        self.simulator.add_person("Sam")
        action = self.env["res.config.settings"].create({}).action_jibble_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("Simulated Org", action["params"]["message"])
        self.assertIn("2 people", action["params"]["message"])
        log = self.env["jibble.sync.log"].search([("operation", "=", "connection_test")], limit=1)
        self.assertEqual(log.status, "success")

    def test_connection_test_failure_says_why(self):
        self.env["ir.config_parameter"].set_param("jibble_connector.client_secret", "nope")
        action = self.env["res.config.settings"].create({}).action_jibble_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("refused the API key", action["params"]["message"])
        log = self.env["jibble.sync.log"].search([("operation", "=", "connection_test")], limit=1)
        self.assertEqual(log.status, "failed")
        self.assertIn("invalid_client", log.detail)

    def test_connection_test_when_jibble_is_down(self):
        self.simulator.inject_fault("server_error", count=20)
        ok, message = self.env["jibble.config"]._test_connection()
        self.assertFalse(ok)
        self.assertIn("unavailable", message)
