import logging
from unittest.mock import patch

from odoo.tests import TransactionCase, tagged
from odoo.tools import config

from ..jibble.secret_box import PREFIX, SecretBox, SecretKeyError, new_key


@tagged("post_install", "-at_install")
class TestSecretsAtRest(TransactionCase):
    def stored(self, name):
        return self.env["ir.config_parameter"].get_param(f"jibble_connector.{name}")

    def save(self, **values):
        self.env["res.config.settings"].create(values).execute()

    def with_keys(self, current, previous=None):
        return patch.dict(
            config.options,
            {
                "jibble_encryption_key": current,
                "jibble_encryption_key_previous": previous,
            },
        )

    def test_with_a_key_a_dump_reveals_no_secret(self):
        with self.with_keys(new_key()):
            self.save(jibble_client_secret="api-secret-1", jibble_webhook_secret="hook-secret-1")
            for name, clear in (
                ("client_secret", "api-secret-1"),
                ("webhook_secret", "hook-secret-1"),
            ):
                self.assertTrue(self.stored(name).startswith(PREFIX))
                self.assertNotIn(clear, self.stored(name))
            self.env.cr.execute("SELECT value FROM ir_config_parameter")
            dump = " ".join(value for (value,) in self.env.cr.fetchall())
            self.assertNotIn("api-secret-1", dump)
            self.assertNotIn("hook-secret-1", dump)
            service = self.env["jibble.sync.service"]
            self.assertEqual(service._secret("client_secret"), "api-secret-1")
            settings = self.env["res.config.settings"].create({})
            self.assertEqual(settings.jibble_client_secret, "api-secret-1")
            self.assertTrue(settings.jibble_secrets_encrypted)

    def test_without_a_key_secrets_work_in_clear_with_a_warning(self):
        with (
            self.with_keys(None),
            self.assertLogs(
                "odoo.addons.jibble_connector.models.jibble_sync_service", logging.WARNING
            ) as logs,
        ):
            self.save(jibble_client_secret="api-secret-2")
        self.assertEqual(self.stored("client_secret"), "api-secret-2")
        self.assertIn("without encryption", logs.output[0])
        self.assertNotIn("api-secret-2", logs.output[0])
        self.assertFalse(self.env["res.config.settings"].create({}).jibble_secrets_encrypted)

    def test_rotating_the_key_re_encrypts(self):
        old_key, new = new_key(), new_key()
        with self.with_keys(old_key):
            self.save(jibble_client_secret="api-secret-3")
        sealed_with_old = self.stored("client_secret")
        with self.with_keys(new, old_key):
            self.assertEqual(
                self.env["jibble.sync.service"]._secret("client_secret"), "api-secret-3"
            )
            action = self.env["res.config.settings"].create({}).action_rotate_jibble_secrets()
            self.assertIn("1 Jibble secrets", action["params"]["message"])
        self.assertNotEqual(self.stored("client_secret"), sealed_with_old)
        self.assertEqual(SecretBox([new]).open(self.stored("client_secret")), "api-secret-3")
        with self.assertRaises(SecretKeyError):
            SecretBox([old_key]).open(self.stored("client_secret"))

    def test_clear_value_from_before_the_key_is_still_read_then_encrypted_by_rotation(self):
        self.env["ir.config_parameter"].set_param("jibble_connector.webhook_secret", "legacy")
        with self.with_keys(new_key()):
            service = self.env["jibble.sync.service"]
            self.assertEqual(service._secret("webhook_secret"), "legacy")
            service._rotate_secrets()
            self.assertTrue(self.stored("webhook_secret").startswith(PREFIX))
            self.assertEqual(service._secret("webhook_secret"), "legacy")
