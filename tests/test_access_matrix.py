"""Who may read and change what, one row per group, through the ORM and over JSON-RPC."""

import json
from datetime import datetime

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged

from .common import can_access, make_users

MODELS = ("jibble.sync.log", "jibble.webhook.event", "jibble.time.entry")
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
                self.assertEqual("jibble_client_secret" in fields, role == "system_admin")


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

    def test_system_administrator_reads_it_in_settings(self):
        answer = self.call(
            "jibble_system_admin", "res.config.settings", "default_get", [["jibble_client_secret"]]
        )
        self.assertEqual(answer["result"]["jibble_client_secret"], "rpc-secret")

    def test_officer_reads_the_log_over_rpc_but_cannot_delete_it(self):
        log = self.env["jibble.sync.log"]._record("pull", "success", "visible")
        answer = self.call(
            "jibble_officer", "jibble.sync.log", "search_read", [[["id", "=", log.id]], ["message"]]
        )
        self.assertEqual(answer["result"][0]["message"], "visible")
        answer = self.call("jibble_officer", "jibble.sync.log", "unlink", [[log.id]])
        self.assertIn("error", answer)
        self.assertTrue(log.exists())


def json_rpc(model, method, args, kwargs):
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {"model": model, "method": method, "args": args, "kwargs": kwargs},
        }
    )
