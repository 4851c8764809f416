#!/usr/bin/env bash
# Runs the product: Odoo 18 with jibble_connector on a local database at http://localhost:8069.
# Without Jibble credentials it starts the local Jibble simulator with realistic data and
# points the connector at it; with JIBBLE_CLIENT_ID and JIBBLE_CLIENT_SECRET set it talks to
# real Jibble. Ctrl-C stops everything it started.
source "$(dirname "$0")/common.sh"
setup_all

DB="${JIBBLE_DB:-jibble_demo}"
HTTP_PORT="${JIBBLE_HTTP_PORT:-8069}"
SIMULATOR_PORT="${JIBBLE_SIMULATOR_PORT:-8899}"
ADDONS_PATH="$(make_addons_path)"
WEBHOOK_SECRET="${JIBBLE_WEBHOOK_SECRET:-$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(32))')}"
ODOO_ARGS=(--addons-path="$ADDONS_PATH" --db_host=127.0.0.1 --db_user="$(id -un)" -d "$DB"
           --db-filter="^${DB}\$")
PIDS=()
stop_all() {
    trap - INT TERM EXIT
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    log "stopped"
}
trap stop_all INT TERM EXIT

if ! psql -h 127.0.0.1 -d "$DB" -tAc "SELECT 1 FROM ir_module_module
        WHERE name = 'jibble_connector' AND state = 'installed'" 2>/dev/null | grep -q 1; then
    log "installing jibble_connector with demo data in database $DB"
    "$PYTHON" -m odoo "${ODOO_ARGS[@]}" -i jibble_connector --stop-after-init --http-port="$(free_port)"
fi

if [ -n "${JIBBLE_CLIENT_ID:-}" ] && [ -n "${JIBBLE_CLIENT_SECRET:-}" ]; then
    log "using real Jibble with the API key from the environment"
    CLIENT_ID="$JIBBLE_CLIENT_ID"; CLIENT_SECRET="$JIBBLE_CLIENT_SECRET"
    TOKEN_URL="https://identity.prod.jibble.io/connect/token"
    WORKSPACE_URL="https://workspace.prod.jibble.io/v1"
    TIME_TRACKING_URL="https://time-tracking.prod.jibble.io/v1"
else
    EMAILS="$(psql -h 127.0.0.1 -d "$DB" -tAc "SELECT string_agg(work_email, ',') FROM (
        SELECT work_email FROM hr_employee WHERE work_email IS NOT NULL AND active
         ORDER BY id LIMIT 12) AS e")"
    CLIENT_ID="sim-client"; CLIENT_SECRET="sim-secret"
    log "starting the Jibble simulator on port $SIMULATOR_PORT"
    (cd "$REPO_DIR" && exec "$PYTHON" -m simulator --port "$SIMULATOR_PORT" --people 36 --days 14 \
        --client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET" --match-emails "$EMAILS" \
        --webhook-url "http://127.0.0.1:$HTTP_PORT/jibble/webhook" \
        --webhook-secret "$WEBHOOK_SECRET" --webhook-every 30) &
    PIDS+=($!)
    for _ in $(seq 50); do
        "$PYTHON" -c "import socket; socket.create_connection(('127.0.0.1', $SIMULATOR_PORT), 1)" \
            2>/dev/null && break
        sleep 0.2
    done
    SIM="http://127.0.0.1:$SIMULATOR_PORT"
    TOKEN_URL="$SIM/connect/token"
    WORKSPACE_URL="$SIM/workspace/v1"
    TIME_TRACKING_URL="$SIM/time-tracking/v1"
fi

log "configuring the connector and running a first sync"
JIBBLE_SETTINGS="$(printf '%s\n' "$CLIENT_ID" "$CLIENT_SECRET" "$WEBHOOK_SECRET" "$TOKEN_URL" \
    "$WORKSPACE_URL" "$TIME_TRACKING_URL" "http://localhost:$HTTP_PORT")" \
"$PYTHON" -m odoo shell "${ODOO_ARGS[@]}" --no-http --log-level=warn <<'PY'
import os
from datetime import datetime, timedelta
keys = ["client_id", "client_secret", "webhook_secret", "token_url", "workspace_url",
        "time_tracking_url"]
values = os.environ["JIBBLE_SETTINGS"].split("\n")
params = env["ir.config_parameter"].sudo()
for key, value in zip(keys, values):
    params.set_param(f"jibble_connector.{key}", value)
params.set_param("web.base.url", values[-1])
params.set_param("jibble_connector.sync_enabled", True)
params.set_param("jibble_connector.auto_match_email", True)
if not params.get_param("jibble_connector.sync_start_date"):
    start = datetime.now() - timedelta(days=15)
    params.set_param("jibble_connector.sync_start_date", start.strftime("%Y-%m-%d 00:00:00"))
env.cr.commit()
env["jibble.sync.service"]._sync_all("manual")
env.cr.commit()
linked = env["hr.employee"].search_count([("jibble_user_id", "!=", False)])
attendances = env["hr.attendance"].search_count([("jibble_entry_id", "!=", False)])
print(f"[jibble] first sync done: {linked} employees linked, {attendances} attendances from Jibble")
PY

cat <<EOF

  Odoo with the Jibble Connector: http://localhost:$HTTP_PORT   (login: admin, password: admin)
  Look at:
    Attendances > Jibble > Sync Log       what each pull and webhook did
    Attendances > Overview                attendances with their Jibble activity and status
    Attendances > Jibble > Time Entries   entries held back (no employee yet, conflicts)
    Settings > Attendances > Jibble       Test connection, Sync now, Match employees
  The simulator sends a signed webhook event every 30 seconds. Ctrl-C stops everything.

EOF
"$PYTHON" -m odoo "${ODOO_ARGS[@]}" --http-port="$HTTP_PORT" &
PIDS+=($!)
wait "${PIDS[-1]}"
