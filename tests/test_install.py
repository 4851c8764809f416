import importlib.util
import os

from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    def test_module_is_installed_under_its_technical_name(self):
        module = self.env["ir.module.module"].search([("name", "=", "jibble_connector")])
        self.assertEqual(module.state, "installed")
        self.assertIn("hr_attendance", module.dependencies_id.mapped("name"))

    def test_cron_pulls_every_fifteen_minutes_by_default(self):
        cron = self.env.ref("jibble_connector.ir_cron_jibble_sync")
        self.assertEqual(cron.model_id.model, "jibble.sync.service")
        self.assertEqual(cron.code.strip(), "model._cron_sync()")
        self.assertEqual((cron.interval_number, cron.interval_type), (15, "minutes"))

    def test_models_have_the_documented_fields(self):
        expected = {
            "hr.employee": {
                "jibble_user_id",
                "jibble_email",
                "jibble_sync_enabled",
                "last_jibble_sync",
            },
            "hr.attendance": {
                "jibble_entry_id",
                "jibble_out_entry_id",
                "jibble_activity",
                "jibble_project",
                "jibble_location",
                "sync_status",
            },
            "jibble.sync.log": {
                "operation",
                "trigger",
                "status",
                "start",
                "end",
                "duration",
                "received_count",
                "created_count",
                "updated_count",
                "deleted_count",
                "skipped_count",
                "failed_count",
                "message",
                "detail",
                "employee_id",
                "attendance_id",
                "jibble_entry_id",
                "jibble_event_id",
            },
        }
        for model, names in expected.items():
            self.assertLessEqual(names, set(self.env[model]._fields), model)

    def test_jibble_entry_id_is_indexed_in_the_database(self):
        self.env.cr.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'hr_attendance'"
            " AND indexdef LIKE '%%jibble_entry_id%%'"
        )
        self.assertTrue(self.env.cr.fetchall())

    def test_no_two_indexes_of_the_connector_cover_the_same_columns(self):
        """Every index is one more write per row stored; one per set of columns is enough.
        A partial index counts as another only for a predicate other than NOT NULL (the
        pending entries' index holds a few rows of the table, not all of them)."""
        for table in ("hr_attendance", "jibble_time_entry", "jibble_webhook_event"):
            self.env.cr.execute(
                "SELECT regexp_replace(regexp_replace(indexdef, '.* USING ', ''),"
                " ' WHERE \\(\\w+ IS NOT NULL\\)$', '')"
                " FROM pg_indexes WHERE tablename = %s",
                [table],
            )
            columns = [definition for (definition,) in self.env.cr.fetchall()]
            self.assertEqual(len(columns), len(set(columns)), f"{table}: {columns}")

    def test_cron_without_configuration_only_logs_a_skip(self):
        self.env["ir.config_parameter"].set_param("jibble_connector.sync_enabled", False)
        attendances = self.env["hr.attendance"].search_count([])
        self.env.ref("jibble_connector.ir_cron_jibble_sync").method_direct_trigger()
        log = self.env["jibble.sync.log"].search([], limit=1)
        self.assertEqual((log.operation, log.status), ("pull", "skipped"))
        self.assertEqual(self.env["hr.attendance"].search_count([]), attendances)


@tagged("post_install", "-at_install")
class TestMigrations(TransactionCase):
    def migration(self, version, name):
        path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations", version, name)
        spec = importlib.util.spec_from_file_location(f"jibble_migration_{name[:-3]}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def columns(self, table):
        self.env.cr.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s", [table]
        )
        return {name for (name,) in self.env.cr.fetchall()}

    def test_upgrading_from_18_0_1_0_0_drops_the_columns_that_held_secrets_in_clear(self):
        self.env.cr.execute(
            "ALTER TABLE res_config_settings ADD COLUMN jibble_client_secret varchar,"
            " ADD COLUMN jibble_webhook_secret varchar"
        )
        self.env.cr.execute("ALTER TABLE jibble_time_entry ADD COLUMN observed_seq integer")
        self.migration("18.0.1.1.0", "post-migrate.py").migrate(self.env.cr, "18.0.1.0.0")
        self.assertFalse(
            {"jibble_client_secret", "jibble_webhook_secret"} & self.columns("res_config_settings")
        )
        self.assertNotIn("observed_seq", self.columns("jibble_time_entry"))

    def indexes(self, table):
        self.env.cr.execute(
            "SELECT indexname, regexp_replace(indexdef, '.* USING ', '') FROM pg_indexes"
            " WHERE tablename = %s",
            [table],
        )
        return dict(self.env.cr.fetchall())

    def test_upgrading_from_18_0_1_1_0_drops_the_indexes_others_cover(self):
        self.env.cr.execute(
            "CREATE INDEX jibble_time_entry__entry_id_index ON jibble_time_entry (entry_id);"
            "CREATE INDEX jibble_time_entry__person_id_index ON jibble_time_entry (person_id);"
            "CREATE INDEX jibble_webhook_event__event_id_index ON jibble_webhook_event (event_id)"
        )
        self.migration("18.0.1.2.0", "post-migrate.py").migrate(self.env.cr, "18.0.1.1.0")
        for table in ("jibble_time_entry", "jibble_webhook_event"):
            definitions = list(self.indexes(table).values())
            self.assertEqual(len(definitions), len(set(definitions)), definitions)
        entries = self.indexes("jibble_time_entry")
        self.assertNotIn("jibble_time_entry__person_id_index", entries)
        self.assertEqual(
            entries["jibble_time_entry_person_time_index"], 'btree (person_id, "time")'
        )
        self.assertEqual(entries["jibble_time_entry_entry_id_unique"], "btree (entry_id)")

    def test_upgrading_from_18_0_1_2_0_drops_the_second_index_of_attendance_jibble_ids(self):
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS hr_attendance__jibble_entry_id_index ON hr_attendance"
            " (jibble_entry_id) WHERE jibble_entry_id IS NOT NULL;"
            "CREATE INDEX IF NOT EXISTS hr_attendance__jibble_out_entry_id_index ON hr_attendance"
            " (jibble_out_entry_id) WHERE jibble_out_entry_id IS NOT NULL"
        )
        self.migration("18.0.1.3.0", "post-migrate.py").migrate(self.env.cr, "18.0.1.2.0")
        attendances = self.indexes("hr_attendance")
        self.assertNotIn("hr_attendance__jibble_entry_id_index", attendances)
        self.assertNotIn("hr_attendance__jibble_out_entry_id_index", attendances)
        self.assertEqual(
            attendances["hr_attendance_jibble_entry_id_unique"], "btree (jibble_entry_id)"
        )
        self.assertEqual(
            attendances["hr_attendance_jibble_out_entry_id_unique"], "btree (jibble_out_entry_id)"
        )
