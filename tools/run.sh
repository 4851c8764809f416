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
# The demo's own server configuration holds the key that seals the Jibble secrets, made once.
DEMO_CONF="$STATE_DIR/demo-odoo.conf"
if [ ! -f "$DEMO_CONF" ]; then
    printf '[options]\njibble_encryption_key = %s\n' \
        "$("$PYTHON" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
        >"$DEMO_CONF"
    chmod 600 "$DEMO_CONF"
fi
ODOO_ARGS=(-c "$DEMO_CONF" --addons-path="$ADDONS_PATH" --db_host=127.0.0.1
           --db_user="$(id -un)" -d "$DB" --db-filter="^${DB}\$")
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
    TIME_ATTENDANCE_URL="https://time-attendance.prod.jibble.io/v1"
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
    TIME_ATTENDANCE_URL="$SIM/time-attendance/v1"
fi

log "configuring the connector and running a first sync"
JIBBLE_SETTINGS="$(printf '%s\n' "$CLIENT_ID" "$CLIENT_SECRET" "$WEBHOOK_SECRET" "$TOKEN_URL" \
    "$WORKSPACE_URL" "$TIME_TRACKING_URL" "$TIME_ATTENDANCE_URL" "http://localhost:$HTTP_PORT")" \
"$PYTHON" -m odoo shell "${ODOO_ARGS[@]}" --no-http --log-level=warn <<'PY'
import os
from datetime import datetime, timedelta
(client_id, client_secret, webhook_secret, *urls, base_url) = (
    os.environ["JIBBLE_SETTINGS"].split("\n"))
config = env["jibble.config"]
config._set_param("client_id", client_id)
config._store_secret("client_secret", client_secret)
config._store_secret("webhook_secret", webhook_secret)
for key, value in zip(["token_url", "workspace_url", "time_tracking_url", "time_attendance_url"],
                      urls):
    config._set_param(key, value)
env["ir.config_parameter"].set_param("web.base.url", base_url)
for key in ("sync_enabled", "auto_match_email", "quick_sync"):
    config._set_param(key, True)
env.ref("jibble_connector.ir_cron_jibble_quick_sync").active = True
# Odoo's own features the connector lives beside (README > Beside Odoo's attendance features).
env.company.write({"auto_check_out": True, "absence_management": True})
if not config._param("sync_start_date"):
    start = datetime.now() - timedelta(days=15)
    config._set_param("sync_start_date", start.strftime("%Y-%m-%d 00:00:00"))
env.cr.commit()
env["jibble.sync.service"]._sync_all("manual")
env.cr.commit()
linked = env["hr.employee"].search_count([("jibble_user_id", "!=", False)])
attendances = env["hr.attendance"].search_count([("jibble_entry_id", "!=", False)])
print(f"[jibble] first sync done: {linked} employees linked, {attendances} attendances from Jibble")
# The nightly deep re-read, once now, so that Jibble vs Odoo Hours has the demo's days.
config._set_param("deep_resync_days", 15)
config._set_param("deep_last_done", False)
env["jibble.sync.service"]._sync_all("manual", "deep")
env.cr.commit()
differing = env["jibble.reconciliation"].search_count([("differs", "=", True)])
checked = env["jibble.reconciliation"].search_count([])
print(f"[jibble] reconciliation: {checked} person-days compared, {differing} differ")
PY

cat <<EOF

  Odoo with the Jibble Connector: http://localhost:$HTTP_PORT   (login: admin, password: admin)
  Look at:
    Attendances > Jibble > Sync Log       what each pull and webhook did
    Attendances > Overview                attendances split at breaks, their Jibble activity,
                                          filter "Closed automatically by Jibble"
    Attendances > Jibble > Time Entries   entries held back (whom to link, conflicts)
    Attendances > Jibble > Jibble vs Odoo Hours   Jibble's tracked time against Odoo's
    Settings > Attendances > Jibble       Last sync, Test connection, Sync now, Match employees
  The quick pull runs every 2 minutes and the simulator sends a signed webhook event every
  30 seconds. The secrets are sealed with the key in $DEMO_CONF. Ctrl-C stops everything.

EOF
"$PYTHON" -m odoo "${ODOO_ARGS[@]}" --http-port="$HTTP_PORT" &
PIDS+=($!)
wait "${PIDS[-1]}"
