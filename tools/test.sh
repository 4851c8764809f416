#!/usr/bin/env bash
# Runs every test of the module and ends with "N passed, N failed":
#  1. Odoo's test runner on a fresh database with demo data (unit, HTTP and browser tests);
#  2. life-cycle checks: upgrade, uninstall, and install on a database without demo data;
#  3. the fault drill (drills/fault_drill.py), skipped when TEST_TAGS picks some tests;
#  4. checks of the set-up itself (tools/check_setup.sh): the choice of Python, and a fresh venv
#     made with the system Python /usr/bin/python3 in a throwaway state folder.
source "$(dirname "$0")/common.sh"
setup_all
ensure_chromium

DB="jibble_test_$$"
NODEMO_DB="jibble_test_nodemo_$$"
ADDONS_PATH="$(make_addons_path)"
LOG_DIR="$STATE_DIR/logs"
mkdir -p "$LOG_DIR"
cleanup() {
    for db in "$DB" "$NODEMO_DB"; do dropdb -h 127.0.0.1 --if-exists "$db" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

odoo_run() {
    "$PYTHON" -m odoo --addons-path="$ADDONS_PATH" --db_host=127.0.0.1 --db_user="$(id -un)" \
        --http-interface=127.0.0.1 --http-port="$(free_port)" --stop-after-init "$@"
}

log "running the module's tests in database $DB (log: $LOG_DIR/$DB.log)"
set +e
odoo_run -d "$DB" -i jibble_connector --test-enable --test-tags "${TEST_TAGS:-/jibble_connector}" \
    --log-level=test 2>&1 | tee "$LOG_DIR/$DB.log"
status=${PIPESTATUS[0]}
set -e
summary="$(grep -Eo '[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$LOG_DIR/$DB.log" | tail -n1 || true)"
read -r failed errors total < <(echo "${summary:-0 failed, 0 error(s) of 0 tests}" \
    | sed -E 's/([0-9]+) failed, ([0-9]+) error\(s\) of ([0-9]+) tests/\1 \2 \3/')
# Odoo counts each failing subTest; count each failing test once.
failing_tests="$( (grep -oE ' (FAIL|ERROR): [A-Za-z_][A-Za-z0-9_.]*' "$LOG_DIR/$DB.log" || true) | sort -u | wc -l)"
if [ $((failed + errors)) -gt 0 ] && [ "$failing_tests" -eq 0 ]; then
    failing_tests=$((failed + errors))
fi
failed=$failing_tests
passed=$((total > failed ? total - failed : 0))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    log "Odoo exited with status $status"
    failed=$((failed + 1))
fi

# A life-cycle check passes when its command succeeds and Odoo logged no error.
check() {
    local name="$1"; shift
    local log_file="$LOG_DIR/$DB-$name.log" start=$SECONDS
    if "$@" >"$log_file" 2>&1 && ! grep -qE ' (ERROR|CRITICAL) ' "$log_file"; then
        log "life-cycle check '$name': ok ($(duration $((SECONDS - start))))"
        passed=$((passed + 1))
    else
        log "life-cycle check '$name': FAILED after $(duration $((SECONDS - start))) (log: $log_file)"
        grep -E ' (ERROR|CRITICAL) |Error|check failed' "$log_file" | head -n 20 >&2 || true
        failed=$((failed + 1))
    fi
}

uninstall_module() {
    "$PYTHON" -m odoo shell --addons-path="$ADDONS_PATH" --db_host=127.0.0.1 --db_user="$(id -un)" \
        -d "$DB" --no-http <<'PY'
env["ir.module.module"].search([("name", "=", "jibble_connector")]).button_immediate_uninstall()
env.cr.commit()
PY
    local left
    left="$(psql -h 127.0.0.1 -d "$DB" -tAc "
        SELECT count(*) FROM information_schema.columns
         WHERE (table_name = 'hr_attendance' AND column_name LIKE 'jibble%')
            OR table_name LIKE 'jibble%'")"
    [ "$left" = 0 ] || { echo "ERROR: $left jibble columns or tables left after uninstall"; return 1; }
}

if [ "$total" -gt 0 ]; then
    check upgrade odoo_run -d "$DB" -u jibble_connector
    check uninstall uninstall_module
fi
check install-without-demo odoo_run -d "$NODEMO_DB" -i jibble_connector --without-demo=all
if [ -z "${TEST_TAGS:-}" ]; then
    check fault-drill "$PYTHON" "$REPO_DIR/drills/fault_drill.py" --log-dir "$LOG_DIR/$DB-drill"
    grep -vE '^(NOTICE|Running as user)' "$LOG_DIR/$DB-fault-drill.log" | tail -n 11 >&2 || true
fi
# Also with TEST_TAGS: half a minute, a little more the first time (pip builds a few wheels).
check python-choice bash "$REPO_DIR/tools/check_setup.sh" python-choice
check fresh-setup bash "$REPO_DIR/tools/check_setup.sh" fresh-setup "$PYTHON" "$PIP_CACHE"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$total" -gt 0 ]
