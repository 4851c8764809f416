"""The Odoo side of the fault drill, one action per process so that the drill can kill it.

python3 drills/odoo_worker.py DATABASE ADDONS_PATH setup SETTINGS_JSON
python3 drills/odoo_worker.py DATABASE ADDONS_PATH cron
python3 drills/odoo_worker.py DATABASE ADDONS_PATH retry-events
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import open_registry

CRON_XMLID = "jibble_connector.ir_cron_jibble_sync"
MAX_CRON_ROUNDS = 500


def setup(registry, settings):
    """Configure the connector, link one employee per Jibble person, keep only our cron."""
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        config = env["jibble.config"]
        for name, value in settings["params"].items():
            config._set_param(name, value)
        for name, value in settings["secrets"].items():
            config._store_secret(name, value)
        env["hr.employee"].create(
            [
                {"name": person["fullName"], "jibble_user_id": person["id"]}
                for person in settings["people"]
            ]
        )
        sync_cron = env.ref(CRON_XMLID)
        env["ir.cron"].search([("id", "!=", sync_cron.id)]).write({"active": False})


def run_cron(registry, database):
    """Run the pull through Odoo's own cron runner until the run has caught up.

    Each round makes the job due, as time passing would, and lets `_process_jobs` run it
    (up to ten batches per round, each in its own transaction). A run that asked to be called
    again later (a collision after its last batch) is called again: time would come to it.
    """
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415

    with registry.cursor() as cr:
        cron_id = api.Environment(cr, SUPERUSER_ID, {}).ref(CRON_XMLID).id
    for rounds in range(1, MAX_CRON_ROUNDS + 1):
        with registry.cursor() as cr:
            cr.execute(
                "UPDATE ir_cron SET nextcall = now() AT TIME ZONE 'UTC' WHERE id = %s;"
                "UPDATE ir_cron_trigger SET call_at = now() AT TIME ZONE 'UTC' WHERE cron_id = %s",
                [cron_id, cron_id],
            )
        registry["ir.cron"]._process_jobs(database)
        with registry.cursor() as cr:
            cr.execute(
                """SELECT key, value FROM ir_config_parameter
                    WHERE key IN ('jibble_connector.sync_cursor',
                                  'jibble_connector.sync_run_position')"""
            )
            params = dict(cr.fetchall())
            cr.execute("SELECT count(*) FROM ir_cron_trigger WHERE cron_id = %s", [cron_id])
            called_again = cr.fetchone()[0]
        if (
            params.get("jibble_connector.sync_cursor")
            and not params.get("jibble_connector.sync_run_position")
            and not called_again
        ):
            print(json.dumps({"rounds": rounds}))
            return 0
    print(json.dumps({"rounds": rounds, "error": "the pull did not catch up"}))
    return 1


def retry_events(registry):
    """What the inbox's retry cron does once the backoff has passed: apply what is left."""
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        left = env["jibble.webhook.event"].search([("state", "!=", "done")])
        for event in left:
            event._apply()
            cr.commit()
        print(json.dumps({"retried": len(left)}))
    return 0


def main():
    database, path, action, *rest = sys.argv[1:]
    registry = open_registry(database, path)
    if action == "setup":
        setup(registry, json.loads(rest[0]))
        return 0
    if action == "cron":
        return run_cron(registry, database)
    if action == "retry-events":
        return retry_events(registry)
    raise SystemExit(f"unknown action {action!r}")


if __name__ == "__main__":
    sys.exit(main())
