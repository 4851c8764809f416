from unittest.mock import patch

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import TransactionCase, tagged
from odoo.tools import config

from ..jibble.secret_box import PREFIX, new_key
from .common import form_spec, make_users


@tagged("post_install", "-at_install")
class TestSettings(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = make_users(cls.env)

    def setUp(self):
        super().setUp()
        keys = patch.dict(
            config.options,
            {"jibble_encryption_key": new_key(), "jibble_encryption_key_previous": None},
        )
        keys.start()
        self.addCleanup(keys.stop)

    def _save(self, **values):
        settings = self.env["res.config.settings"].create(values)
        settings.execute()
        return settings

    def param(self, name):
        return self.env["ir.config_parameter"].get_param(f"jibble_connector.{name}")

    def test_values_round_trip_through_config_parameters(self):
        self._save(
            jibble_sync_enabled=True,
            jibble_client_id="key-id",
            jibble_client_secret="key-secret",
            jibble_webhook_secret="hook-secret",
            jibble_token_url="http://127.0.0.1:1/connect/token",
            jibble_workspace_url="http://127.0.0.1:1/workspace/v1",
            jibble_time_tracking_url="http://127.0.0.1:1/time-tracking/v1",
            jibble_time_attendance_url="http://127.0.0.1:1/time-attendance/v1",
            jibble_sync_interval=20,
            jibble_quick_sync=True,
            jibble_quick_interval=3,
            jibble_sync_start_date="2025-03-01 00:00:00",
            jibble_sync_overlap_hours=24,
            jibble_sync_batch_hours=12,
            jibble_paid_breaks=True,
            jibble_auto_match_email=True,
            jibble_match_code="barcode",
            jibble_signature_tolerance=120,
            jibble_accept_unsigned_timestamps=True,
            jibble_webhook_apply_mode="queue",
            jibble_log_retention_days=30,
        )
        Config = self.env["jibble.config"]
        self.assertEqual(Config._secret("client_secret"), "key-secret")
        self.assertEqual(Config._secret("webhook_secret"), "hook-secret")
        self.assertEqual(self.param("signature_tolerance"), "120")
        self.assertEqual(self.param("match_code"), "barcode")
        fresh = self.env["res.config.settings"].create({})
        expected = {
            "jibble_sync_enabled": True,
            "jibble_client_id": "key-id",
            "jibble_token_url": "http://127.0.0.1:1/connect/token",
            "jibble_workspace_url": "http://127.0.0.1:1/workspace/v1",
            "jibble_time_tracking_url": "http://127.0.0.1:1/time-tracking/v1",
            "jibble_time_attendance_url": "http://127.0.0.1:1/time-attendance/v1",
            "jibble_sync_interval": 20,
            "jibble_quick_sync": True,
            "jibble_quick_interval": 3,
            "jibble_sync_overlap_hours": 24,
            "jibble_sync_batch_hours": 12,
            "jibble_paid_breaks": True,
            "jibble_auto_match_email": True,
            "jibble_match_code": "barcode",
            "jibble_signature_tolerance": 120,
            "jibble_accept_unsigned_timestamps": True,
            "jibble_webhook_apply_mode": "queue",
            "jibble_log_retention_days": 30,
        }
        for name, value in expected.items():
            with self.subTest(field=name):
                self.assertEqual(fresh[name], value)
        self.assertEqual(str(fresh.jibble_sync_start_date), "2025-03-01 00:00:00")

    def test_defaults_point_at_jibble(self):
        fresh = self.env["res.config.settings"].create({})
        self.assertEqual(fresh.jibble_token_url, "https://identity.prod.jibble.io/connect/token")
        self.assertEqual(fresh.jibble_workspace_url, "https://workspace.prod.jibble.io/v1")
        self.assertEqual(fresh.jibble_time_tracking_url, "https://time-tracking.prod.jibble.io/v1")
        self.assertEqual(
            fresh.jibble_time_attendance_url, "https://time-attendance.prod.jibble.io/v1"
        )
        self.assertEqual(fresh.jibble_signature_tolerance, 300)
        self.assertFalse(fresh.jibble_quick_sync)
        self.assertEqual(fresh.jibble_quick_interval, 2)
        self.assertFalse(fresh.jibble_accept_unsigned_timestamps)

    def test_changing_the_interval_changes_the_cron(self):
        self._save(jibble_sync_interval=42)
        cron = self.env.ref("jibble_connector.ir_cron_jibble_sync")
        self.assertEqual((cron.interval_number, cron.interval_type), (42, "minutes"))

    def test_enabling_the_quick_pull_activates_its_cron(self):
        cron = self.env.ref("jibble_connector.ir_cron_jibble_quick_sync")
        self.assertFalse(cron.active)
        self._save(jibble_quick_sync=True, jibble_quick_interval=3)
        self.assertEqual(
            (cron.active, cron.interval_number, cron.interval_type), (True, 3, "minutes")
        )
        self._save(jibble_quick_sync=False, jibble_quick_interval=3)
        self.assertFalse(cron.active)

    def test_pull_intervals_are_at_least_a_minute(self):
        for values in ({"jibble_sync_interval": 0}, {"jibble_quick_interval": 0}):
            with self.subTest(**values), self.assertRaises(ValidationError):
                self._save(**values)

    def test_webhook_url_comes_from_the_base_url(self):
        self.env["ir.config_parameter"].set_param("web.base.url", "https://odoo.example.com/")
        fresh = self.env["res.config.settings"].create({})
        self.assertEqual(fresh.jibble_webhook_url, "https://odoo.example.com/jibble/webhook")

    def test_the_form_opens_with_its_computed_values(self):
        """The web client opens Settings with an onchange on a new record, not with create."""
        self._save(jibble_client_secret="key-secret")
        self.env["jibble.sync.log"]._record("pull", "success", "a run", trigger="cron")
        self.env["ir.config_parameter"].set_param("web.base.url", "https://odoo.example.com")
        values = self.env["res.config.settings"].onchange({}, [], form_spec(self.env))["value"]
        self.assertIn("Catch-up Pull, Scheduled", values["jibble_last_sync"])
        self.assertEqual(values["jibble_webhook_url"], "https://odoo.example.com/jibble/webhook")
        self.assertTrue(values["jibble_secrets_encrypted"])
        self.assertFalse(values["jibble_key_problem"])
        self.assertIn("Fernet.generate_key()", values["jibble_key_help"])
        self.assertFalse(values["jibble_client_secret"])
        self.assertEqual(values["jibble_client_secret_state"], "encrypted")
        self.assertEqual(values["jibble_webhook_secret_state"], "unset")

    def test_secrets_are_write_only(self):
        """Typed: sealed and stored at once. Not typed (the empty field the web client sends
        back): the stored secret stays. Read: always empty, with its state beside it."""
        self._save(jibble_client_secret="key-secret", jibble_webhook_secret="hook-secret")
        sealed = self.param("client_secret"), self.param("webhook_secret")
        self.assertTrue(all(value.startswith(PREFIX) for value in sealed))
        self._save(jibble_client_secret=False, jibble_webhook_secret="", jibble_sync_interval=30)
        self.assertEqual((self.param("client_secret"), self.param("webhook_secret")), sealed)
        fresh = self.env["res.config.settings"].create({})
        self.assertFalse(fresh.jibble_client_secret)
        self.assertFalse(fresh.jibble_webhook_secret)
        self.assertEqual(fresh.jibble_client_secret_state, "encrypted")
        self.assertEqual(fresh.jibble_webhook_secret_state, "encrypted")
        self.assertTrue(fresh.jibble_secrets_encrypted)
        self.assertFalse(fresh.jibble_key_problem)
        # Replacing one leaves the other alone.
        self._save(jibble_webhook_secret="hook-secret-2")
        self.assertEqual(self.param("client_secret"), sealed[0])
        self.assertEqual(self.env["jibble.config"]._secret("webhook_secret"), "hook-secret-2")

    def test_clear_buttons_remove_one_secret_each(self):
        self._save(jibble_client_secret="key-secret", jibble_webhook_secret="hook-secret")
        settings = self.env["res.config.settings"].create({})
        settings.action_clear_jibble_client_secret()
        self.assertFalse(self.param("client_secret"))
        self.assertTrue(self.param("webhook_secret"))
        settings.invalidate_recordset()
        self.assertEqual(settings.jibble_client_secret_state, "unset")
        self.assertEqual(settings.jibble_webhook_secret_state, "encrypted")
        settings.action_clear_jibble_webhook_secret()
        self.assertFalse(self.param("webhook_secret"))

    def test_secrets_are_not_readable_by_attendance_administrators(self):
        self._save(jibble_client_secret="key-secret", jibble_webhook_secret="hook-secret")
        admin = self.users["attendance_admin"]
        with self.assertRaises(AccessError):
            self.env["ir.config_parameter"].with_user(admin).search(
                [("key", "=", "jibble_connector.client_secret")]
            ).read(["value"])
        with self.assertRaises(AccessError):
            self.env["res.config.settings"].with_user(admin).create({})
        settings_fields = self.env["res.config.settings"].with_user(admin).fields_get()
        for name in (
            "jibble_client_secret",
            "jibble_webhook_secret",
            "jibble_client_secret_state",
            "jibble_key_problem",
        ):
            self.assertNotIn(name, settings_fields)

    def test_system_administrator_sets_credentials_and_sees_only_their_state(self):
        admin = self.users["system_admin"]
        Settings = self.env["res.config.settings"].with_user(admin)
        Settings.create({"jibble_client_id": "id-2", "jibble_client_secret": "secret-2"}).execute()
        fresh = Settings.create({})
        self.assertEqual(fresh.jibble_client_id, "id-2")
        self.assertFalse(fresh.jibble_client_secret)
        self.assertEqual(fresh.jibble_client_secret_state, "encrypted")
        self.assertEqual(self.env["jibble.config"]._secret("client_secret"), "secret-2")
