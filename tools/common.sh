# Shared set-up for tools/run.sh and tools/test.sh: sourced, not run.
# Makes sure PostgreSQL answers, the database role exists, Odoo 18 is importable and the
# addon is on an addons path under its technical name whatever this folder is called.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
ODOO_SRC_DIR="${ODOO_SRC_DIR:-$HOME/.local/share/jibble_connector/odoo-18.0}"
STATE_DIR="${JIBBLE_STATE_DIR:-$HOME/.local/share/jibble_connector}"
mkdir -p "$STATE_DIR"

log() { printf '[jibble] %s\n' "$*" >&2; }

ensure_postgres() {
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        log "starting PostgreSQL"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
        for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    fi
    local role; role="$(id -un)"
    if ! psql -h 127.0.0.1 -U "$role" -d postgres -tAc 'select 1' >/dev/null 2>&1; then
        log "creating PostgreSQL role $role"
        psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE ROLE \"$role\" SUPERUSER LOGIN" \
            || sudo -u postgres psql -qc "CREATE ROLE \"$role\" SUPERUSER LOGIN"
    fi
}

odoo_importable() {
    "$PYTHON" -c 'import odoo.release as r, sys; sys.exit(0 if r.version_info[0] == 18 else 1)' 2>/dev/null
}

ensure_odoo() {
    if odoo_importable; then
        return
    fi
    log "Odoo 18 is not importable: installing it from the official source into $ODOO_SRC_DIR"
    if [ ! -d "$ODOO_SRC_DIR/.git" ]; then
        git clone --depth 1 --branch 18.0 https://github.com/odoo/odoo.git "$ODOO_SRC_DIR"
    fi
    local constraints="$STATE_DIR/build-constraints.txt"
    echo 'setuptools<70' > "$constraints"
    PIP_CONSTRAINT="$constraints" "$PYTHON" -m pip install -q -r "$ODOO_SRC_DIR/requirements.txt"
    PIP_CONSTRAINT="$constraints" "$PYTHON" -m pip install -q --no-deps -e "$ODOO_SRC_DIR"
}

ensure_python_deps() {
    if ! "$PYTHON" -c 'import requests, urllib3, websocket, hypothesis' 2>/dev/null; then
        log "installing the connector's Python dependencies"
        "$PYTHON" -m pip install -q -r "$REPO_DIR/requirements-dev.txt"
    fi
}

ensure_chromium() {
    if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        log "installing Chromium for the browser tours"
        apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null
    fi
}

# An addons path holding this repository as `jibble_connector` plus Odoo's own addons; one
# link folder per clone, so that two clones can run at the same time.
make_addons_path() {
    local link_dir
    link_dir="$STATE_DIR/addons-$(printf '%s' "$REPO_DIR" | md5sum | cut -c1-12)"
    mkdir -p "$link_dir"
    ln -sfn "$REPO_DIR" "$link_dir/jibble_connector"
    "$PYTHON" - "$link_dir" <<'PY'
import os, sys
import odoo
root = os.path.dirname(odoo.__file__)
paths = [os.path.join(root, "addons")]
community = os.path.join(os.path.dirname(root), "addons")
if os.path.isdir(os.path.join(community, "hr_attendance")):
    paths.append(community)
paths.append(sys.argv[1])
print(",".join(paths))
PY
}

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

setup_all() {
    ensure_postgres
    ensure_odoo
    ensure_python_deps
}
