"""Who may read and change what, one row per group, through the ORM and over JSON-RPC."""

import json
from datetime import datetime
from unittest.mock import patch

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged
from odoo.tools import config

from ..jibble.events import Event
from ..jibble.secret_box import PREFIX, new_key
from .common import can_access, make_users, time_entry

MODELS = ("jibble.sync.log", "jibble.webhook.event", "jibble.time.entry", "jibble.person")
# role: {model: operations allowed}
EXPECTED = {
    "public": {model: set() for model in MODELS},
    "portal": {model: set() for model in MODELS},
    "employee": {model: set() for model in MODELS},
    "officer": {model: {"read"} for model in MODELS},
    "attendance_admin": {
        "jibble.sync.log": {"read", "write", "create", "unlink"},
        "jibble.webhook.event": {"read", "write", "unlink"},
        "jibble.time.entry": {"read", "write", "create", "unlink"},
        "jibble.person": {"read", "write", "create", "unlink"},
    },
}
EXPECTED["system_admin"] = EXPECTED["attendance_admin"]


def all_users(env):
    users = make_users(env)
    users["portal"] = new_test_user(env, "jibble_portal", groups="base.group_portal")
    users["public"] = env.ref("base.public_user")
    return users


@tagged("post_install", "-at_install")
class TestAccessMatrix(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = all_users(cls.env)
        cls.records = {
            "jibble.sync.log": cls.env["jibble.sync.log"]._record("pull", "success", "a run"),
            "jibble.webhook.event": cls.env["jibble.webhook.event"].create(
                {"event_id": "evt-m", "event_type": "TimeEntry.Created"}
            ),
            "jibble.time.entry": cls.env["jibble.time.entry"].create(
                {
                    "entry_id": "e-m",
                    "person_id": "p-unlinked",
                    "entry_type": "In",
                    "time": datetime(2025, 3, 3, 8),
                }
            ),
            "jibble.person": cls.env["jibble.person"].create(
                {"person_id": "p-m", "name": "Matrix"}
            ),
        }
        cls.employee = cls.env["hr.employee"].create(
            {
                "name": "Matrix",
                "jibble_user_id": "p-m",
                "attendance_manager_id": cls.users["officer"].id,
            }
        )
        cls.attendance = cls.env["hr.attendance"].create(
            {
                "employee_id": cls.employee.id,
                "check_in": datetime(2025, 3, 3, 8),
                "check_out": datetime(2025, 3, 3, 9),
                "jibble_entry_id": "e-m",
                "jibble_activity": "Work",
                "sync_status": "synced",
            }
        )

    def test_connector_models_per_group(self):
        for role, per_model in EXPECTED.items():
            for model, allowed in per_model.items():
                for operation in ("read", "write", "create", "unlink"):
                    with self.subTest(role=role, model=model, operation=operation):
                        self.assertEqual(
                            can_access(self.users[role], self.records[model], operation),
                            operation in allowed,
                        )

    def test_jibble_fields_of_attendances_per_group(self):
        readers = {"officer", "attendance_admin", "system_admin"}
        for role, user in self.users.items():
            with self.subTest(role=role):
                try:
                    values = self.attendance.with_user(user).read(
                        ["jibble_entry_id", "sync_status"]
                    )
                except AccessError:
                    values = None
                self.assertEqual(values is not None, role in readers)

    def test_jibble_fields_of_employees_are_for_hr_officers_only(self):
        hr_officer = new_test_user(self.env, "jibble_hr", groups="base.group_user,hr.group_hr_user")
        for role, user in {**self.users, "hr_officer": hr_officer}.items():
            with self.subTest(role=role):
                try:
                    self.employee.with_user(user).read(["jibble_user_id", "jibble_sync_enabled"])
                except AccessError:
                    allowed = False
                else:
                    allowed = True
                # Like the employee's other private fields: HR officers only, even for a
                # system administrator who holds no HR right.
                self.assertEqual(allowed, role == "hr_officer")

    def test_credentials_per_group(self):
        for role, user in self.users.items():
            with self.subTest(role=role):
                fields = self.env["res.config.settings"].with_user(user).fields_get()
                for name in (
                    "jibble_client_id",
                    "jibble_client_secret",
                    "jibble_webhook_secret",
                    "jibble_client_secret_state",
                    "jibble_webhook_secret_state",
                    "jibble_key_problem",
                ):
                    self.assertEqual(name in fields, role == "system_admin", name)


@tagged("post_install", "-at_install")
class TestAccessOverJsonRpc(HttpCase):
    """What the web client could ask for: refused for everyone but system administrators."""

    def setUp(self):
        super().setUp()
        self.users = make_users(self.env)
        self.env["ir.config_parameter"].set_param("jibble_connector.client_secret", "rpc-secret")

    def call(self, login, model, method, args=(), kwargs=None):
        self.authenticate(login, login)
        return self.url_open(
            f"/web/dataset/call_kw/{model}/{method}",
            data=json_rpc(model, method, list(args), kwargs or {}),
            headers={"Content-Type": "application/json"},
        ).json()

    def test_non_admins_cannot_read_the_secret(self):
        for login in ("jibble_officer", "jibble_attendance_admin", "jibble_employee"):
            with self.subTest(login=login):
                answer = self.call(
                    login, "ir.config_parameter", "get_param", ["jibble_connector.client_secret"]
                )
                self.assertIn("error", answer)
                self.assertNotIn("rpc-secret", str(answer))
                answer = self.call(
                    login, "res.config.settings", "default_get", [["jibble_client_secret"]]
                )
                self.assertNotIn("rpc-secret", str(answer))

    def test_system_administrator_saves_the_secret_but_never_reads_it_back(self):
        with patch.dict(config.options, {"jibble_encryption_key": new_key()}):
            spec = {"jibble_client_secret": {}, "jibble_client_secret_state": {}}
            answer = self.call(
                "jibble_system_admin",
                "res.config.settings",
                "web_save",
                [[], {"jibble_client_secret": "typed-secret"}],
                {"specification": spec},
            )
            settings_id = answer["result"][0]["id"]
            self.call("jibble_system_admin", "res.config.settings", "execute", [[settings_id]])
            answers = [
                answer,
                self.call(
                    "jibble_system_admin",
                    "res.config.settings",
                    "default_get",
                    [["jibble_client_secret"]],
                ),
                self.call(
                    "jibble_system_admin",
                    "res.config.settings",
                    "web_read",
                    [[settings_id]],
                    {"specification": spec},
                ),
            ]
        for answer in answers:
            self.assertNotIn("error", answer)
            self.assertNotIn("typed-secret", str(answer))
        self.assertEqual(
            answers[2]["result"][0],
            {
                "id": settings_id,
                "jibble_client_secret": False,
                "jibble_client_secret_state": "encrypted",
            },
        )
        stored = self.env["ir.config_parameter"].get_param("jibble_connector.client_secret")
        self.assertTrue(stored.startswith(PREFIX))

    def test_officer_reads_the_log_over_rpc_but_cannot_delete_it(self):
        log = self.env["jibble.sync.log"]._record("pull", "success", "visible")
        answer = self.call(
            "jibble_officer", "jibble.sync.log", "search_read", [[["id", "=", log.id]], ["message"]]
        )
        self.assertEqual(answer["result"][0]["message"], "visible")
        answer = self.call("jibble_officer", "jibble.sync.log", "unlink", [[log.id]])
        self.assertIn("error", answer)
        self.assertTrue(log.exists())

    def retry_setup(self):
        """A webhook event not applied yet, its failed log row and a failed pull."""
        self.env["hr.employee"].create({"name": "Rita", "jibble_user_id": "p-r"})
        data = time_entry("in-r", "p-r", "In", "2025-03-03T08:00:00Z")
        event = self.env["jibble.webhook.event"]._store(
            Event("evt-r", "TimeEntry.Created", datetime(2025, 3, 3, 8), data), "127.0.0.1", True
        )
        Log = self.env["jibble.sync.log"]
        logs = Log._record("webhook", "failed", "not applied", jibble_event_id="evt-r")
        logs |= Log._record("pull", "failed", "Jibble did not answer")
        return event, logs

    def state(self, event):
        """What a retry changes: the event, attendances, triggers of the pull cron."""
        self.env.invalidate_all()
        cron = self.env.ref("jibble_connector.ir_cron_jibble_sync")
        return (
            event.state,
            self.env["hr.attendance"].search_count([("jibble_entry_id", "=", "in-r")]),
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]),
        )

    def assertAccessError(self, answer):
        self.assertIn("error", answer)
        self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError")

    def test_officer_cannot_retry_over_rpc(self):
        event, logs = self.retry_setup()
        before = self.state(event)
        self.assertEqual(before[:2], ("received", 0))
        for model, ids in (("jibble.sync.log", logs.ids), ("jibble.webhook.event", event.ids)):
            with self.subTest(model=model):
                self.assertAccessError(self.call("jibble_officer", model, "action_retry", [ids]))
                self.assertEqual(self.state(event), before)

    def test_officer_cannot_change_settings_over_rpc(self):
        """Settings buttons on an empty recordset: no record, so no access right checked but
        the method's own."""
        for method in (
            "action_clear_jibble_client_secret",
            "action_rotate_jibble_secrets",
            "action_jibble_sync_now",
            "set_values",
        ):
            with self.subTest(method=method):
                answer = self.call("jibble_officer", "res.config.settings", method, [[]])
                self.assertAccessError(answer)
                self.assertEqual(
                    self.env["ir.config_parameter"].get_param("jibble_connector.client_secret"),
                    "rpc-secret",
                )

    def test_attendance_administrator_retries_over_rpc(self):
        event, logs = self.retry_setup()
        _state, _attendances, triggers = self.state(event)
        answer = self.call("jibble_attendance_admin", "jibble.sync.log", "action_retry", [logs.ids])
        self.assertNotIn("error", answer)
        self.assertEqual(self.state(event), ("done", 1, triggers + 1))
        event.write({"state": "failed"})
        answer = self.call(
            "jibble_attendance_admin", "jibble.webhook.event", "action_retry", [event.ids]
        )
        self.assertNotIn("error", answer)
        self.assertEqual(self.state(event)[0], "done")


def json_rpc(model, method, args, kwargs):
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {"model": model, "method": method, "args": args, "kwargs": kwargs},
        }
    )
