"""The connector's customization points, used as an inheriting addon would, and the staging
copy that stays quiet."""

from unittest.mock import patch

from odoo.exceptions import ValidationError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import file_open

from .common import SimulatorCase, deliver_event, time_entry


def add_attendance_field(env, name, ttype):
    """A custom x_ field, as a user adds one in Studio or Settings > Technical."""
    model = env["ir.model"]._get("hr.attendance")
    env["ir.model.fields"].create(
        {
            "name": name,
            "model_id": model.id,
            "ttype": ttype,
            "state": "manual",
            "field_description": name,
        }
    )
    return env["ir.model.fields"]._get("hr.attendance", name)


@tagged("post_install", "-at_install")
class TestCustomizationPoints(SimulatorCase):
    def setUp(self):
        super().setUp()
        self.ada, self.employee = self.person_with_employee("Ada")

    def iso(self, hours):
        return self.at(hours).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def test_an_inheriting_module_adds_an_event_type(self):
        Inbox = type(self.env["jibble.webhook.event"])
        parent_handlers = Inbox._handlers

        def _handlers(inbox):
            return {**parent_handlers(inbox), "Person.Updated": "_handle_person_updated"}

        # The inbox calls every handler with (data, news); this one needs no news.
        def _handle_person_updated(inbox, data, news):  # pylint: disable=unused-argument
            inbox.env["jibble.person"]._store_people([data])

        self.patch(Inbox, "_handlers", _handlers)
        self.startPatcher(
            patch.object(Inbox, "_handle_person_updated", _handle_person_updated, create=True)
        )
        data = {"id": self.ada["id"], "fullName": "Ada Lovelace", "email": "ada@example.com"}
        event = deliver_event(self.env, "Person.Updated", data)
        self.assertEqual(event.state, "done")
        person = self.env["jibble.person"].search([("person_id", "=", self.ada["id"])])
        self.assertEqual(person.name, "Ada Lovelace")

    def test_the_two_value_hooks_apply_to_pulls_and_webhooks_alike(self):
        add_attendance_field(self.env, "x_shift_note", "char")
        Entry, Attendance = type(self.env["jibble.time.entry"]), type(self.env["hr.attendance"])
        entry_values, interval_values = (
            Entry._jibble_entry_values,
            Attendance._jibble_interval_values,
        )

        def _jibble_entry_values(entries, parsed, names):
            values = entry_values(entries, parsed, names)
            values["note"] = (values["note"] or "").upper() or False
            return values

        def _jibble_interval_values(attendances, interval, entries_by_id, employee):
            values = interval_values(attendances, interval, entries_by_id, employee)
            values["x_shift_note"] = entries_by_id[interval.start.entry_id].note
            return values

        self.patch(Entry, "_jibble_entry_values", _jibble_entry_values)
        self.patch(Attendance, "_jibble_interval_values", _jibble_interval_values)
        self.simulator.add_time_entry(self.ada["id"], "In", self.at(8), note="from the pull")
        self.simulator.add_time_entry(self.ada["id"], "Out", self.at(12))
        self.pull()
        deliver_event(
            self.env,
            "TimeEntry.Created",
            time_entry("hook-in", self.ada["id"], "In", self.iso(13), note="from a webhook"),
        )
        pulled, delivered = self.attendances(self.employee)
        self.assertEqual(pulled.x_shift_note, "FROM THE PULL")
        self.assertEqual(delivered.x_shift_note, "FROM A WEBHOOK")

    def test_field_mapping_copies_jibble_values_into_attendance_fields(self):
        note = add_attendance_field(self.env, "x_jibble_note", "char")
        client = add_attendance_field(self.env, "x_out_client", "char")
        manual = add_attendance_field(self.env, "x_out_manual", "boolean")
        Mapping = self.env["jibble.field.mapping"]
        Mapping.create(
            [
                {"jibble_field": "note", "moment": "in", "attendance_field_id": note.id},
                {"jibble_field": "clientType", "moment": "out", "attendance_field_id": client.id},
                {"jibble_field": "isManual", "moment": "out", "attendance_field_id": manual.id},
            ]
        )
        self.simulator.add_time_entry(self.ada["id"], "In", self.at(8), note="site visit")
        self.simulator.add_time_entry(
            self.ada["id"], "Out", self.at(12), client_type="Kiosk", isManual=True
        )
        self.pull()
        attendance = self.attendances(self.employee)
        self.assertEqual(
            (attendance.x_jibble_note, attendance.x_out_client, attendance.x_out_manual),
            ("site visit", "Kiosk", True),
        )

    def test_a_mapping_onto_a_field_of_the_wrong_type_is_refused_with_the_reason(self):
        flag = add_attendance_field(self.env, "x_flag", "boolean")
        with self.assertRaisesRegex(ValidationError, "boolean field.*needs a field of type char"):
            self.env["jibble.field.mapping"].create(
                {"jibble_field": "note", "moment": "in", "attendance_field_id": flag.id}
            )
        check_in = self.env["ir.model.fields"]._get("hr.attendance", "check_in")
        with self.assertRaisesRegex(ValidationError, "written by the connector"):
            self.env["jibble.field.mapping"].create(
                {"jibble_field": "createdAt", "moment": "in", "attendance_field_id": check_in.id}
            )

    def test_held_entries_are_linked_from_the_time_entries_list_and_applied_at_once(self):
        self.env["ir.config_parameter"].set_param("jibble_connector.auto_match_email", True)
        stranger = self.simulator.add_person(
            "Sam Stranger", email="sam@elsewhere.test", code="E0777"
        )
        self.simulator.add_time_entry(stranger["id"], "In", self.at(8))
        self.simulator.add_time_entry(stranger["id"], "Out", self.at(12))
        self.pull()
        held = self.env["jibble.time.entry"].search([("person_id", "=", stranger["id"])])
        self.assertEqual(set(held.mapped("state")), {"unmatched"})
        self.assertEqual(set(held.mapped("person_name")), {"Sam Stranger"})
        self.assertEqual(set(held.mapped("person_code")), {"E0777"})
        sam = self.env["hr.employee"].create({"name": "Samuel"})
        manager = new_test_user(
            self.env, "jibble_link_manager", groups="hr_attendance.group_hr_attendance_manager"
        )
        wizard = (
            self.env["jibble.link.wizard"]
            .with_user(manager)
            .with_context(active_model="jibble.time.entry", active_ids=held.ids)
            .create({"employee_id": sam.id})
        )
        self.assertEqual(wizard.person_id.name, "Sam Stranger")
        wizard.action_link()
        self.assertEqual(sam.jibble_user_id, stranger["id"])
        self.assertEqual(set(held.mapped("state")), {"applied"})
        self.assertEqual(self.intervals(sam), [(self.naive(8), self.naive(12))])


@tagged("post_install", "-at_install")
class TestNeutralizedCopy(HttpCase):
    def neutralize(self):
        self.env.flush_all()
        with file_open("jibble_connector/data/neutralize.sql") as sql:
            self.env.cr.execute(sql.read())
        self.env["ir.config_parameter"].set_param("database.is_neutralized", True)
        self.env.invalidate_all()

    def test_a_neutralized_copy_neither_pulls_nor_accepts_webhooks_and_says_so(self):
        params = self.env["ir.config_parameter"]
        params.set_param("jibble_connector.sync_enabled", True)
        params.set_param("jibble_connector.webhook_secret", "staging-secret")
        self.env.ref("jibble_connector.ir_cron_jibble_quick_sync").active = True
        self.neutralize()
        crons = (
            self.env["ir.cron"]
            .with_context(active_test=False)
            .search(
                [
                    (
                        "id",
                        "in",
                        [
                            self.env.ref(f"jibble_connector.{name}").id
                            for name in (
                                "ir_cron_jibble_sync",
                                "ir_cron_jibble_quick_sync",
                                "ir_cron_jibble_deep_resync",
                                "ir_cron_jibble_webhook_retry",
                                "ir_cron_jibble_purge",
                            )
                        ],
                    )
                ]
            )
        )
        self.assertEqual(set(crons.mapped("active")), {False})
        self.assertFalse(params.get_param("jibble_connector.sync_enabled"))
        params.set_param("jibble_connector.sync_enabled", True)
        self.env["jibble.sync.service"]._run_pull_batch("manual")
        log = self.env["jibble.sync.log"].search([("operation", "=", "pull")], limit=1)
        self.assertEqual(log.status, "skipped")
        self.assertIn("neutralized copy", log.message)
        response = self.url_open(
            "/jibble/webhook", data=b"{}", headers={"Content-Type": "application/json"}
        )
        self.assertEqual(response.status_code, 503)
        self.assertIn("neutralized copy", response.json()["reason"])
        self.assertTrue(self.env["res.config.settings"].create({}).jibble_neutralized)
