"""The two Jibble secrets at rest and on the way to the browser (issue 12, items 1 and 2).

With jibble_encryption_key set, a secret exists in clear only in the request that types it
and in the code that calls Jibble or checks a signature: never in a transient settings row,
a log row, an exception text or an answer to the browser. A key that is wrong or missing
leaves Settings usable, refuses new secrets with a clear sentence, makes the webhook answer
503 and the cron write one failed log row.
"""

import hashlib
import hmac
import json
import logging
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import HttpCase, TransactionCase, tagged
from odoo.tools import SQL, config

from ..jibble.secret_box import PREFIX, SecretBox, SecretKeyError, new_key
from ..jibble.signature import SIGNATURE_PREFIX
from ..simulator import JibbleSimulator
from .common import LocalJibbleMixin, form_spec, make_users, time_entry

API_SECRET = "api-5ecret-0f-the-test-7c1d"
HOOK_SECRET = "hook-5ecret-0f-the-test-4b2e"
NOT_A_KEY = "not-a-fernet-key"
SECRET_FIELDS = {
    "jibble_client_secret": {},
    "jibble_webhook_secret": {},
    "jibble_client_secret_state": {},
    "jibble_webhook_secret_state": {},
}
# Every table a secret could end up in; each row is read whole, as text, as pg_dump would.
DUMPED_TABLES = ("res_config_settings", "ir_config_parameter", "jibble_sync_log")


def with_keys(current, previous=None):
    """The server configuration's keys for the duration of a `with` block."""
    return patch.dict(
        config.options,
        {"jibble_encryption_key": current, "jibble_encryption_key_previous": previous},
    )


def box(key):
    return SecretBox([("jibble_encryption_key", key)])


@contextmanager
def captured_logs():
    """Every line logged under `odoo` at any level, SQL statements with their parameters
    included, formatted with its traceback; unlike assertLogs, nothing goes to the console."""
    lines = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(logging.Formatter().format(record))

    odoo_logger, sql_logger = logging.getLogger("odoo"), logging.getLogger("odoo.sql_db")
    saved = odoo_logger.level, odoo_logger.propagate, sql_logger.level
    handler = Collect(logging.DEBUG)
    odoo_logger.addHandler(handler)
    odoo_logger.propagate = False
    odoo_logger.setLevel(logging.DEBUG)
    sql_logger.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        odoo_logger.removeHandler(handler)
        odoo_logger.setLevel(saved[0])
        odoo_logger.propagate = saved[1]
        sql_logger.setLevel(saved[2])


@tagged("post_install", "-at_install")
class TestSecretsAtRest(LocalJibbleMixin, TransactionCase):
    def stored(self, name):
        return self.env["ir.config_parameter"].get_param(f"jibble_connector.{name}")

    def store_sealed(self, key, **secrets):
        """Secrets as an earlier save under `key` left them."""
        for name, value in secrets.items():
            self.env["ir.config_parameter"].set_param(
                f"jibble_connector.{name}", box(key).seal(value)
            )

    def save(self, **values):
        self.env["res.config.settings"].create(values).execute()

    def dump(self):
        """The rows of DUMPED_TABLES as text, as a database dump would show them."""
        self.env.flush_all()
        rows = []
        for table in DUMPED_TABLES:
            self.env.cr.execute(SQL("SELECT t::text FROM %s AS t", SQL.identifier(table)))
            rows += [row for (row,) in self.env.cr.fetchall()]
        return "\n".join(rows)

    def jibble_field_values(self, settings):
        names = [name for name in settings._fields if name.startswith("jibble_")]
        return settings.read(names)[0]

    # Item 1: secrets in clear despite the key

    def test_with_a_key_a_dump_of_every_row_and_the_logs_reveal_no_secret(self):
        """Save Settings as the form does, then use the secret (connection test, pull): no row
        of the settings, parameter or log table and no logged line holds a secret."""
        simulator = JibbleSimulator(client_secret=API_SECRET).start()
        self.addCleanup(simulator.stop)
        simulator.add_person("Ada", email="ada@example.com")
        with with_keys(new_key()), captured_logs() as lines:
            self.save(
                jibble_sync_enabled=True,
                jibble_client_id=simulator.client_id,
                jibble_client_secret=API_SECRET,
                jibble_webhook_secret=HOOK_SECRET,
                jibble_token_url=simulator.token_url,
                jibble_workspace_url=simulator.workspace_url,
                jibble_time_tracking_url=simulator.time_tracking_url,
                jibble_time_attendance_url=simulator.time_attendance_url,
                jibble_sync_start_date=datetime.now().replace(microsecond=0) - timedelta(days=1),
            )
            ok, message = self.env["jibble.config"]._test_connection()
            self.assertTrue(ok, message)
            self.env["jibble.sync.service"]._sync_all("manual")
            # The secrets were usable all along: they are sealed, not lost.
            self.assertEqual(self.env["jibble.config"]._secret("client_secret"), API_SECRET)
            self.assertEqual(self.env["jibble.config"]._secret("webhook_secret"), HOOK_SECRET)
        for name in ("client_secret", "webhook_secret"):
            self.assertTrue(self.stored(name).startswith(PREFIX))
        self.assertTrue(self.env["res.config.settings"].search([]), "no settings row to dump")
        log = self.env["jibble.sync.log"].search([])
        self.assertIn("connection_test", log.mapped("operation"))
        self.assertIn("pull", log.mapped("operation"))
        dump = self.dump()
        logged = "\n".join(lines)
        # The capture saw the statements that wrote the settings row and the parameters.
        self.assertIn('INSERT INTO "res_config_settings"', logged)
        self.assertIn("fernet:", logged)
        for secret in (API_SECRET, HOOK_SECRET):
            with self.subTest(secret=secret):
                self.assertNotIn(secret, dump)
                self.assertNotIn(secret, logged)

    def test_saving_and_reading_settings_answers_only_the_state(self):
        """What the web client does: web_save (create, then read back), execute, open again."""
        Settings = self.env["res.config.settings"]
        with with_keys(new_key()):
            answer = Settings.web_save(
                {"jibble_client_secret": API_SECRET, "jibble_webhook_secret": HOOK_SECRET},
                specification=SECRET_FIELDS,
            )
            settings = Settings.browse(answer[0]["id"])
            settings.execute()
            answers = [
                answer,
                settings.web_read(SECRET_FIELDS),
                settings.read(list(SECRET_FIELDS)),
                Settings.create({}).read(list(SECRET_FIELDS)),
                Settings.default_get(list(Settings._fields)),
                Settings.onchange({}, [], form_spec(self.env)),
            ]
            states = answers[1][0]
        for value in answers:
            self.assertNotIn(API_SECRET, str(value))
            self.assertNotIn(HOOK_SECRET, str(value))
        self.assertFalse(answer[0]["jibble_client_secret"])
        self.assertFalse(answer[0]["jibble_webhook_secret"])
        self.assertEqual(states["jibble_client_secret_state"], "encrypted")
        self.assertEqual(states["jibble_webhook_secret_state"], "encrypted")

    def test_without_a_key_secrets_work_in_clear_with_a_warning(self):
        with (
            with_keys(None),
            self.assertLogs(
                "odoo.addons.jibble_connector.models.jibble_config", logging.WARNING
            ) as logs,
        ):
            self.save(jibble_client_secret="api-secret-2")
            settings = self.env["res.config.settings"].create({})
            self.assertFalse(settings.jibble_secrets_encrypted)
            self.assertEqual(settings.jibble_client_secret_state, "clear")
            self.assertFalse(settings.jibble_key_problem)
        self.assertEqual(self.stored("client_secret"), "api-secret-2")
        self.assertIn("without encryption", logs.output[0])
        self.assertNotIn("api-secret-2", logs.output[0])

    def test_rotating_the_key_re_encrypts(self):
        old_key, new = new_key(), new_key()
        with with_keys(old_key):
            self.save(jibble_client_secret="api-secret-3")
        sealed_with_old = self.stored("client_secret")
        with with_keys(new, old_key):
            self.assertEqual(self.env["jibble.config"]._secret("client_secret"), "api-secret-3")
            action = self.env["res.config.settings"].create({}).action_rotate_jibble_secrets()
            self.assertIn("1 Jibble secrets", action["params"]["message"])
        self.assertNotEqual(self.stored("client_secret"), sealed_with_old)
        self.assertEqual(box(new).open(self.stored("client_secret")), "api-secret-3")
        with self.assertRaises(SecretKeyError):
            box(old_key).open(self.stored("client_secret"))

    def test_rotating_without_a_key_is_refused(self):
        self.env["ir.config_parameter"].set_param("jibble_connector.client_secret", "legacy")
        with with_keys(None), self.assertRaises(UserError) as caught:
            self.env["res.config.settings"].create({}).action_rotate_jibble_secrets()
        self.assertIn("Fernet.generate_key()", str(caught.exception))
        self.assertEqual(self.stored("client_secret"), "legacy")

    def test_clear_value_from_before_the_key_is_still_read_then_encrypted_by_rotation(self):
        self.env["ir.config_parameter"].set_param("jibble_connector.webhook_secret", "legacy")
        with with_keys(new_key()):
            Config = self.env["jibble.config"]
            self.assertEqual(Config._secret("webhook_secret"), "legacy")
            self.assertEqual(Config._secret_state("webhook_secret"), "clear")
            Config._rotate_secrets()
            self.assertTrue(self.stored("webhook_secret").startswith(PREFIX))
            self.assertEqual(Config._secret("webhook_secret"), "legacy")
            self.assertEqual(Config._secret_state("webhook_secret"), "encrypted")

    # Item 2: a bad or missing key

    def test_an_invalid_key_leaves_settings_usable_with_a_banner(self):
        self.store_sealed(new_key(), client_secret=API_SECRET, webhook_secret=HOOK_SECRET)
        for option in ("jibble_encryption_key", "jibble_encryption_key_previous"):
            with self.subTest(option=option), patch.dict(config.options, {option: NOT_A_KEY}):
                settings = self.env["res.config.settings"].create({})
                values = self.jibble_field_values(settings)
                problem = values["jibble_key_problem"]
                self.assertIn(f"{option} in the Odoo server configuration", problem)
                self.assertIn("not a valid Fernet key", problem)
                self.assertIn("Fernet.generate_key()", problem)
                self.assertEqual(values["jibble_client_secret_state"], "unreadable")
                self.assertEqual(values["jibble_webhook_secret_state"], "unreadable")
                self.assertNotIn(API_SECRET, str(values))
                # The other settings can still be saved, the secrets stay as they were.
                before = self.stored("client_secret"), self.stored("webhook_secret")
                self.save(jibble_sync_interval=25)
                self.assertEqual(self.stored("sync_interval"), "25")
                self.assertEqual(
                    (self.stored("client_secret"), self.stored("webhook_secret")), before
                )

    def test_an_invalid_key_refuses_a_new_secret_and_keeps_the_stored_one(self):
        self.store_sealed(new_key(), client_secret="stored-api-secret")
        before = self.stored("client_secret")
        with with_keys(NOT_A_KEY), self.assertRaises(UserError) as caught:
            self.save(jibble_client_secret=API_SECRET)
        message = str(caught.exception)
        self.assertIn("not saved", message)
        self.assertIn("jibble_encryption_key", message)
        self.assertIn("Fernet.generate_key()", message)
        for leak in (API_SECRET, "binascii", "Incorrect padding", "Traceback"):
            self.assertNotIn(leak, message)
        self.assertEqual(self.stored("client_secret"), before)

    def test_a_missing_key_for_stored_secrets_leaves_settings_usable_with_a_banner(self):
        self.store_sealed(new_key(), client_secret=API_SECRET, webhook_secret=HOOK_SECRET)
        with with_keys(None):
            values = self.jibble_field_values(self.env["res.config.settings"].create({}))
            self.assertIn("jibble_encryption_key is not set", values["jibble_key_problem"])
            self.assertEqual(values["jibble_client_secret_state"], "unreadable")
            self.assertEqual(values["jibble_webhook_secret_state"], "unreadable")
            # Typing the secret again is the way out when the old key is lost.
            self.save(jibble_client_secret="typed-again")
            self.assertEqual(self.env["jibble.config"]._secret("client_secret"), "typed-again")

    def test_the_cron_logs_one_failure_when_the_secret_cannot_be_read(self):
        params = self.env["ir.config_parameter"]
        params.set_param("jibble_connector.sync_enabled", True)
        params.set_param("jibble_connector.client_id", "key-id")
        self.store_sealed(new_key(), client_secret=API_SECRET)
        cron = self.env.ref("jibble_connector.ir_cron_jibble_sync")
        Log = self.env["jibble.sync.log"]
        for key, cause in ((None, "is not set"), (NOT_A_KEY, "not a valid Fernet key")):
            with self.subTest(key=key), with_keys(key):
                newest = Log.search([], order="id desc", limit=1).id or 0
                cron.method_direct_trigger()
                logs = Log.search([("id", ">", newest)])
                self.assertEqual(len(logs), 1, logs.mapped("message"))
                self.assertEqual((logs.operation, logs.status), ("pull", "failed"))
                self.assertIn("secret cannot be read", logs.message)
                self.assertIn(cause, logs.message)
                self.assertNotIn("Traceback", logs.message + (logs.detail or ""))
                self.assertNotIn(API_SECRET, str(logs.read()))


@tagged("post_install", "-at_install")
class TestSecretsOverHttp(HttpCase):
    """The same promises as the browser and a webhook sender see them."""

    def setUp(self):
        super().setUp()
        self.admin = make_users(self.env)["system_admin"]

    def rpc(self, model, method, args, kwargs=None):
        response = self.url_open(
            f"/web/dataset/call_kw/{model}/{method}",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "id": 1,
                    "params": {
                        "model": model,
                        "method": method,
                        "args": args,
                        "kwargs": kwargs or {},
                    },
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 200)
        return response.text, response.json()

    def open_settings(self):
        """What opening Settings asks the server: the values of a new record of its form."""
        spec = form_spec(self.env(user=self.admin))
        self.assertLessEqual({*SECRET_FIELDS, "jibble_key_problem"}, set(spec))
        text, answer = self.rpc("res.config.settings", "onchange", [[], {}, [], spec])
        self.assertNotIn("error", answer, text)
        return text, answer["result"]["value"]

    def test_the_browser_never_receives_a_secret(self):
        self.authenticate("jibble_system_admin", "jibble_system_admin")
        with with_keys(new_key()):
            texts = []
            text, answer = self.rpc(
                "res.config.settings",
                "web_save",
                [[], {"jibble_client_secret": API_SECRET, "jibble_webhook_secret": HOOK_SECRET}],
                {"specification": SECRET_FIELDS},
            )
            texts.append(text)
            settings_id = answer["result"][0]["id"]
            texts.append(self.rpc("res.config.settings", "execute", [[settings_id]])[0])
            text, answer = self.rpc(
                "res.config.settings", "web_read", [[settings_id]], {"specification": SECRET_FIELDS}
            )
            texts.append(text)
            text, values = self.open_settings()
            texts.append(text)
        for text in texts:
            self.assertNotIn(API_SECRET, text)
            self.assertNotIn(HOOK_SECRET, text)
        for read in (answer["result"][0], values):
            self.assertFalse(read["jibble_client_secret"])
            self.assertFalse(read["jibble_webhook_secret"])
            self.assertEqual(read["jibble_client_secret_state"], "encrypted")
            self.assertEqual(read["jibble_webhook_secret_state"], "encrypted")
        params = self.env["ir.config_parameter"]
        for name in ("client_secret", "webhook_secret"):
            self.assertTrue(params.get_param(f"jibble_connector.{name}").startswith(PREFIX))

    def test_settings_open_with_a_bad_or_missing_key(self):
        self.env["ir.config_parameter"].set_param(
            "jibble_connector.webhook_secret", box(new_key()).seal(HOOK_SECRET)
        )
        self.authenticate("jibble_system_admin", "jibble_system_admin")
        for key, cause in ((None, "is not set"), (NOT_A_KEY, "not a valid Fernet key")):
            with self.subTest(key=key), with_keys(key):
                _text, values = self.open_settings()
                self.assertIn(cause, values["jibble_key_problem"])
                self.assertEqual(values["jibble_webhook_secret_state"], "unreadable")

    def test_the_webhook_answers_503_when_its_secret_cannot_be_read(self):
        self.env["ir.config_parameter"].set_param(
            "jibble_connector.webhook_secret", box(new_key()).seal(HOOK_SECRET)
        )
        event = {
            "id": "evt-key",
            "type": "TimeEntry.Created",
            "occurredAt": datetime.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "data": time_entry("in-key", "p-key", "In", "2025-03-03T08:00:00Z"),
        }
        body = json.dumps(event).encode()
        for key in (None, NOT_A_KEY):
            with self.subTest(key=key), with_keys(key):
                sent_at = str(int(time.time()))
                signature = hmac.new(
                    HOOK_SECRET.encode(), f"{sent_at}.".encode() + body, hashlib.sha256
                ).hexdigest()
                response = self.url_open(
                    "/jibble/webhook",
                    data=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-Jibble-Timestamp": sent_at,
                        "X-Jibble-Signature": SIGNATURE_PREFIX + signature,
                    },
                )
                self.assertEqual(response.status_code, 503, response.text)
                answer = response.json()
                self.assertEqual(answer["status"], "refused")
                self.assertIn("secret cannot be read", answer["reason"])
                self.assertLess(len(answer["reason"]), 100)
                self.assertNotIn(HOOK_SECRET, response.text)
        self.assertFalse(self.env["jibble.webhook.event"].search([("event_id", "=", "evt-key")]))
