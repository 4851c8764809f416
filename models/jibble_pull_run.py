import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import pytz

from odoo import api, fields, models

DEFAULT_BATCH_HOURS = 720
QUICK_MARGIN = timedelta(minutes=5)
# A scheduled deep re-read runs at most once in this long, whatever triggers its cron.
DEEP_RUN_INTERVAL = timedelta(hours=20)


@dataclass
class Window:
    """A slice of Jibble time one pull batch reads; `remaining` batches follow in the run.

    `people` limits a deep re-read to some Jibble people; `run` is the deep run it belongs to.
    """

    kind: str
    start: datetime
    end: datetime
    remaining: int = 0
    people: tuple | None = None
    run: dict | None = None


class JibblePullRun(models.AbstractModel):
    """Where each pull is in Jibble's time, kept in `jibble_connector.` parameters.

    * catch-up: from the committed cursor minus the re-read window (or Sync Start) to the
      moment the run started, batch by batch, saving its position after each;
    * quick: the minutes since its last read, so that clock-ins show soon;
    * deep: the last N days (daily), or a period an administrator asked for, batch by batch,
      never touching the catch-up's cursor.
    """

    _name = "jibble.pull.run"
    _description = "Jibble Pull Runs"

    @api.model
    def _next_window(self, kind):
        """The window the next batch of this kind reads, or None when nothing is due."""
        Config = self.env["jibble.config"]
        now = fields.Datetime.now()
        if kind == "quick":
            longest = now - timedelta(hours=Config._int_param("quick_max_hours", 24))
            since = max(Config._datetime_param("quick_cursor") or longest, longest)
            return Window(kind, since - QUICK_MARGIN, now)
        if kind == "deep":
            return self._next_deep_window(now)
        run_end = Config._datetime_param("sync_run_end")
        position = Config._datetime_param("sync_run_position")
        if not run_end or not position:
            run_end = now
            cursor = Config._datetime_param("sync_cursor")
            overlap = timedelta(hours=Config._int_param("sync_overlap_hours", 48))
            position = (
                cursor - overlap
                if cursor
                else Config._datetime_param("sync_start_date") or run_end - timedelta(days=7)
            )
            Config._set_param("sync_run_end", fields.Datetime.to_string(run_end))
            Config._set_param("sync_run_position", fields.Datetime.to_string(position))
        return self._slice(kind, position, run_end)

    @api.model
    def _slice(self, kind, position, run_end, people=None, run=None):
        Config = self.env["jibble.config"]
        batch = timedelta(hours=max(1, Config._int_param("sync_batch_hours", DEFAULT_BATCH_HOURS)))
        end = min(position + batch, run_end)
        remaining = -(-(run_end - end) // batch)
        return Window(kind, position, end, remaining, people, run)

    @api.model
    def _next_deep_window(self, now):
        Config = self.env["jibble.config"]
        run = self._json_param("deep_run")
        if not run:
            requests = self._json_param("deep_requests") or []
            last_done = Config._datetime_param("deep_last_done")
            if requests:
                run = requests.pop(0)
                Config._set_param("deep_requests", json.dumps(requests))
            elif not last_done or now - last_done >= DEEP_RUN_INTERVAL:
                days = max(1, Config._int_param("deep_resync_days", 35))
                run = {
                    "start": fields.Datetime.to_string(now - timedelta(days=days)),
                    "end": fields.Datetime.to_string(now),
                    "people": None,
                    "scheduled": True,
                }
            else:
                return None
            run["position"] = run["start"]
            Config._set_param("deep_run", json.dumps(run))
        people = tuple(run["people"]) if run.get("people") else None
        return self._slice(
            "deep",
            fields.Datetime.to_datetime(run["position"]),
            fields.Datetime.to_datetime(run["end"]),
            people,
            run,
        )

    @api.model
    def _advance(self, window):
        Config = self.env["jibble.config"]
        end = fields.Datetime.to_string(window.end)
        if window.kind == "quick":
            Config._set_param("quick_cursor", end)
        elif window.kind == "deep":
            if window.remaining:
                Config._set_param("deep_run", json.dumps({**window.run, "position": end}))
            else:
                Config._set_param("deep_run", False)
                if window.run.get("scheduled"):
                    Config._set_param("deep_last_done", end)
        elif window.remaining:
            Config._set_param("sync_run_position", end)
        else:
            Config._set_param("sync_cursor", end)
            Config._set_param("sync_run_position", False)
            Config._set_param("sync_run_end", False)

    @api.model
    def _request_period(self, date_from, date_to, person_ids, tz):
        """Queue a re-read of the days from `date_from` to `date_to` (inclusive, in `tz`)."""
        zone = pytz.timezone(tz or "UTC")

        def utc(day):
            local = zone.localize(datetime.combine(day, time()))
            return local.astimezone(pytz.utc).replace(tzinfo=None)

        request = {
            "start": fields.Datetime.to_string(utc(date_from)),
            "end": fields.Datetime.to_string(
                min(utc(date_to + timedelta(days=1)), fields.Datetime.now())
            ),
            "people": sorted(person_ids) or None,
            "scheduled": False,
        }
        requests = self._json_param("deep_requests") or []
        self.env["jibble.config"]._set_param("deep_requests", json.dumps([*requests, request]))
        return request

    @api.model
    def _json_param(self, name):
        try:
            return json.loads(self.env["jibble.config"]._param(name) or "null")
        except ValueError:
            return None
