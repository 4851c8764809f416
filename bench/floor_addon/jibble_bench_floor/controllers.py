"""The least any connector must have Odoo do for a clock-in or clock-out event.

Installed only in the webhook benchmark's database (bench/webhook_bench.py), never with the
product. It takes the benchmark's event bodies unsigned, finds the employee and creates or
closes their attendance through the ORM, as the connector does, so that its throughput is the
ceiling of applying events on receipt: what the connector adds is the distance to it.
"""

import json
from datetime import datetime

from odoo import SUPERUSER_ID, api, http
from odoo.addons.jibble_connector.controllers.webhook import EVENT_ROUTE
from odoo.http import request


class AttendanceFloor(http.Controller):
    @http.route("/jibble-bench/attendance", **EVENT_ROUTE)
    def attendance(self):
        entry = json.loads(request.httprequest.get_data())["data"]
        env = api.Environment(request.env.cr, SUPERUSER_ID, {})
        employee = env["hr.employee"].search([("jibble_user_id", "=", entry["personId"])])
        instant = datetime.strptime(entry["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
        if entry["type"] == "In":
            env["hr.attendance"].create({"employee_id": employee.id, "check_in": instant})
        else:
            shift = env["hr.attendance"].search(
                [("employee_id", "=", employee.id), ("check_out", "=", False)]
            )
            shift.check_out = instant
        return request.make_json_response({"status": "done"})
