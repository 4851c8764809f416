from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    def test_cron_exists(self):
        cron = self.env.ref("jibble_connector.ir_cron_jibble_sync")
        self.assertEqual(cron.interval_type, "minutes")
