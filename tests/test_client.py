import logging
import time
from datetime import datetime, timedelta, timezone

from odoo.tests import BaseCase, TransactionCase, tagged

from ..jibble.client import (
    JibbleAuthError,
    JibbleClient,
    JibbleConfig,
    JibbleRateLimited,
    JibbleUnavailable,
    JibbleUnexpectedResponse,
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
        "backoff_factor": 0.01,
        "read_timeout": 2,
        "page_size": 20,
        **overrides,
    }
    return JibbleClient(JibbleConfig(**config))


@tagged("post_install", "-at_install")
class TestClient(LocalJibbleMixin, BaseCase):
    def setUp(self):
        super().setUp()
        self.simulator = JibbleSimulator(max_page_size=20).start()
        self.addCleanup(self.simulator.stop)
        self.client = client_for(self.simulator)
        self.addCleanup(self.client.close)
        self.start = datetime(2025, 3, 3, tzinfo=timezone.utc)

    def add_entries(self, count):
        person = self.simulator.add_person("Pat")
        for n in range(count):
            self.simulator.add_time_entry(
                person["id"], "In" if n % 2 == 0 else "Out", self.start + timedelta(minutes=n)
            )

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
        list(self.client.iter_people())
        self.assertEqual(self.simulator.token_requests, 1)
        self.assertEqual(self.simulator.count_requests("/workspace/"), 6)

    def test_token_is_refreshed_after_it_expires(self):
        self.simulator.token_ttl = 1
        self.client.get_organization()
        time.sleep(1.1)
        self.client.get_organization()
        self.assertEqual(self.simulator.token_requests, 2)

    def test_rejected_token_gets_one_refresh_then_a_clear_error(self):
        self.client.get_organization()
        self.simulator.expire_tokens()
        self.client.get_organization()
        self.assertEqual(self.simulator.token_requests, 2)
        self.simulator.inject_fault("expired_token", count=2, path_contains="Organizations")
        with self.assertRaisesRegex(JibbleAuthError, "access token twice"):
            self.client.get_organization()

    def test_paging_with_top_and_skip_reads_every_page(self):
        self.add_entries(65)
        entries = list(self.client.iter_time_entries(self.start, self.start + timedelta(days=1)))
        self.assertEqual(len(entries), 65)
        self.assertEqual(len({entry["id"] for entry in entries}), 65)
        self.assertEqual([e["time"] for e in entries], sorted(e["time"] for e in entries))
        self.assertEqual(self.simulator.count_requests("TimeEntries"), 4)

    def test_paging_follows_next_links(self):
        self.simulator.use_next_link = True
        self.add_entries(60)
        entries = list(self.client.iter_time_entries(self.start, self.start + timedelta(days=1)))
        self.assertEqual(len({entry["id"] for entry in entries}), 60)
        self.assertEqual(self.simulator.count_requests("TimeEntries"), 3)
        self.assertEqual(self.simulator.count_requests("skip"), 2)

    def test_time_window_filters_entries(self):
        self.add_entries(10)
        window = list(self.client.iter_time_entries(self.start, self.start + timedelta(minutes=4)))
        self.assertEqual(len(window), 4)

    def test_rate_limit_waits_for_retry_after_then_goes_on(self):
        self.simulator.inject_fault("rate_limit", count=1, retry_after=1, path_contains="People")
        started = time.monotonic()
        self.assertEqual(list(self.client.iter_people()), [])
        self.assertGreaterEqual(time.monotonic() - started, 1.0)
        self.assertEqual(self.simulator.count_requests("People"), 2)

    def test_endless_rate_limit_becomes_a_clear_error(self):
        client = client_for(self.simulator, max_retries=2, max_retry_after=0.1)
        self.simulator.inject_fault("rate_limit", count=5, retry_after=30, path_contains="People")
        started = time.monotonic()
        with self.assertRaisesRegex(JibbleRateLimited, "slow down"):
            list(client.iter_people())
        self.assertLess(time.monotonic() - started, 5)

    def test_server_errors_are_retried_then_surfaced(self):
        self.simulator.inject_fault("server_error", count=2, path_contains="People")
        self.assertEqual(list(self.client.iter_people()), [])
        self.simulator.inject_fault("server_error", count=10, path_contains="People")
        self.simulator.reset_counters()
        with self.assertRaises(JibbleUnavailable) as caught:
            list(self.client.iter_people())
        self.assertIn("unavailable", caught.exception.message)
        self.assertIn("HTTP 500", caught.exception.detail)
        self.assertEqual(self.simulator.count_requests("People"), 5)

    def test_timeout_is_a_clear_error(self):
        client = client_for(self.simulator, read_timeout=0.3, max_retries=1)
        client.get_organization()
        self.simulator.inject_fault("hang", count=2, delay=1, path_contains="People")
        with self.assertRaisesRegex(JibbleUnavailable, "did not answer in time"):
            list(client.iter_people())

    def test_malformed_json_is_an_unexpected_answer(self):
        self.simulator.inject_fault("malformed", path_contains="People")
        with self.assertRaises(JibbleUnexpectedResponse) as caught:
            list(self.client.iter_people())
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
            ok, message = self.env["jibble.sync.service"]._test_connection()
            self.assertTrue(ok, message)
            self.simulator.client_secret = "ROTATED-IN-JIBBLE"
            ok, message = self.env["jibble.sync.service"]._test_connection()
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
        ok, message = self.env["jibble.sync.service"]._test_connection()
        self.assertFalse(ok)
        self.assertIn("unavailable", message)
