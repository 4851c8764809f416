#!/usr/bin/env bash
# Runs every test of the module in a fresh database and ends with "N passed, N failed".
source "$(dirname "$0")/common.sh"
setup_all
ensure_chromium

DB="jibble_test_$$"
ADDONS_PATH="$(make_addons_path)"
LOG_FILE="$STATE_DIR/test-$DB.log"
cleanup() { dropdb -h 127.0.0.1 --if-exists "$DB" >/dev/null 2>&1 || true; }
trap cleanup EXIT

log "running the tests in database $DB (log: $LOG_FILE)"
set +e
"$PYTHON" -m odoo \
    --addons-path="$ADDONS_PATH" \
    --db_host=127.0.0.1 --db_user="$(id -un)" \
    -d "$DB" -i jibble_connector \
    --test-enable --test-tags "${TEST_TAGS:-/jibble_connector}" \
    --http-port="$(free_port)" --http-interface=127.0.0.1 \
    ${WITHOUT_DEMO:+--without-demo=all} \
    --stop-after-init --log-level=test 2>&1 | tee "$LOG_FILE"
status=${PIPESTATUS[0]}
set -e

summary="$(grep -Eo '[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$LOG_FILE" | tail -n1)"
read -r failed errors total < <(echo "$summary" | sed -E 's/([0-9]+) failed, ([0-9]+) error\(s\) of ([0-9]+) tests/\1 \2 \3/')
failed=${failed:-0}; errors=${errors:-0}; total=${total:-0}
bad=$((failed + errors))
echo "$((total - bad)) passed, $bad failed"
if [ "$status" -ne 0 ] || [ "$bad" -ne 0 ] || [ "$total" -eq 0 ]; then
    exit 1
fi
