from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, tagged

from .common import make_users


@tagged("post_install", "-at_install")
class TestSettings(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = make_users(cls.env)

    def _save(self, **values):
        settings = self.env["res.config.settings"].create(values)
        settings.execute()
        return settings

    def test_values_round_trip_through_config_parameters(self):
        self._save(
            jibble_sync_enabled=True,
            jibble_client_id="key-id",
            jibble_client_secret="key-secret",
            jibble_webhook_secret="hook-secret",
            jibble_token_url="http://127.0.0.1:1/connect/token",
            jibble_workspace_url="http://127.0.0.1:1/workspace/v1",
            jibble_time_tracking_url="http://127.0.0.1:1/time-tracking/v1",
            jibble_sync_start_date="2025-03-01 00:00:00",
            jibble_auto_match_email=True,
            jibble_signature_tolerance=120,
        )
        params = self.env["ir.config_parameter"]
        self.assertEqual(params.get_param("jibble_connector.client_secret"), "key-secret")
        self.assertEqual(params.get_param("jibble_connector.webhook_secret"), "hook-secret")
        self.assertEqual(params.get_param("jibble_connector.signature_tolerance"), "120")
        fresh = self.env["res.config.settings"].create({})
        self.assertTrue(fresh.jibble_sync_enabled)
        self.assertEqual(fresh.jibble_client_id, "key-id")
        self.assertEqual(fresh.jibble_time_tracking_url, "http://127.0.0.1:1/time-tracking/v1")
        self.assertEqual(str(fresh.jibble_sync_start_date), "2025-03-01 00:00:00")
        self.assertTrue(fresh.jibble_auto_match_email)

    def test_defaults_point_at_jibble(self):
        fresh = self.env["res.config.settings"].create({})
        self.assertEqual(fresh.jibble_token_url, "https://identity.prod.jibble.io/connect/token")
        self.assertEqual(fresh.jibble_workspace_url, "https://workspace.prod.jibble.io/v1")
        self.assertEqual(fresh.jibble_time_tracking_url, "https://time-tracking.prod.jibble.io/v1")
        self.assertEqual(fresh.jibble_signature_tolerance, 300)

    def test_changing_the_interval_changes_the_cron(self):
        self._save(jibble_sync_interval=42)
        cron = self.env.ref("jibble_connector.ir_cron_jibble_sync")
        self.assertEqual((cron.interval_number, cron.interval_type), (42, "minutes"))

    def test_webhook_url_comes_from_the_base_url(self):
        self.env["ir.config_parameter"].set_param("web.base.url", "https://odoo.example.com/")
        fresh = self.env["res.config.settings"].create({})
        self.assertEqual(fresh.jibble_webhook_url, "https://odoo.example.com/jibble/webhook")

    def test_generated_webhook_secret_is_strong_and_new(self):
        params = self.env["ir.config_parameter"]
        params.set_param("jibble_connector.webhook_secret", "weak")
        self.env["res.config.settings"].create({}).action_generate_jibble_webhook_secret()
        secret = params.get_param("jibble_connector.webhook_secret")
        self.assertNotEqual(secret, "weak")
        self.assertGreaterEqual(len(secret), 40)

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
        self.assertNotIn("jibble_client_secret", settings_fields)
        self.assertNotIn("jibble_webhook_secret", settings_fields)

    def test_system_administrator_reads_and_changes_credentials(self):
        admin = self.users["system_admin"]
        settings = (
            self.env["res.config.settings"]
            .with_user(admin)
            .create({"jibble_client_id": "id-2", "jibble_client_secret": "secret-2"})
        )
        settings.execute()
        self.assertEqual(
            self.env["res.config.settings"].with_user(admin).create({}).jibble_client_secret,
            "secret-2",
        )
