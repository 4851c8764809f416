#!/usr/bin/env bash
# Checks of the set-up in tools/common.sh; tools/test.sh runs them as life-cycle checks.
#
#   bash tools/check_setup.sh python-choice
#       A Python outside 3.10 to 3.12 is refused, with a sentence naming what to install, and
#       with a Python 3.13 as python3, the python3.11 of the PATH is picked instead.
#   bash tools/check_setup.sh fresh-setup ODOO_PYTHON PIP_CACHE_DIR
#       From nothing to Odoo 18 importable in a new venv, with the system Python /usr/bin/python3
#       and a throwaway state folder, on the Odoo source tree ODOO_PYTHON imports Odoo from; pip's
#       cache PIP_CACHE_DIR is kept across runs so that only the first run builds packages. A
#       second set-up reuses the venv.
set -euo pipefail
TOOLS_DIR="$(cd "$(dirname "$0")" && pwd)"
WORK_DIR="$(mktemp -d)"
trap 'rm -rf "$WORK_DIR"' EXIT

fail() {
    echo "check failed: $*"
    exit 1
}

# setup FUNCTION [NAME=VALUE...]: runs a set-up function of common.sh in a shell of its own,
# with these environment variables and a throwaway state folder, and prints the PYTHON it leaves.
setup() {
    env JIBBLE_STATE_DIR="$WORK_DIR/state" "${@:2}" bash -c \
        'source "$0/common.sh"; "$1"; echo "PYTHON=$PYTHON"' "$TOOLS_DIR" "$1"
}

# A Python 3.13 without Odoo, as far as the set-up can tell (Debian 13's python3, say).
fake_python_313() {
    cat >"$1" <<EOF
#!/bin/sh
[ "\$1" = -c ] || exit 2
exec "$(python3 -c 'import sys; print(sys.executable)')" -S -c "import sys
sys.version_info = (3, 13, 0, 'final', 0)
\$2"
EOF
    chmod +x "$1"
}

# A pyenv shim of a version that is not installed: on the PATH but does not run.
fake_shim() {
    printf '#!/bin/sh\necho "pyenv: %s: command not found" >&2\nexit 127\n' "${1##*/}" >"$1"
    chmod +x "$1"
}

python_choice() {
    local only_313="$WORK_DIR/only-313" with_313="$WORK_DIR/with-313" out expected name
    mkdir -p "$only_313" "$with_313"
    fake_python_313 "$only_313/python3"
    for name in python3.12 python3.11 python3.10; do fake_shim "$only_313/$name"; done
    if out="$(PATH="$only_313:$PATH" setup setup_python PYTHON= 2>&1)"; then
        fail "a Python 3.13 was accepted: $out"
    fi
    echo "$out"
    grep -q 'needs Python 3.10, 3.11 or 3.12, but python3 is Python 3.13 .*install Python 3.12' \
        <<<"$out" || fail "no sentence naming what to install"

    # python3 is 3.13 and python3.12 does not run: the python3.11 of the PATH (python3.10 where
    # there is none) is to be picked.
    fake_python_313 "$with_313/python3"
    fake_shim "$with_313/python3.12"
    for name in python3.11 python3.10; do
        if "$name" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 10))' 2>/dev/null; then
            expected="$(command -v "$name")"
            break
        fi
    done
    [ -n "${expected:-}" ] || fail "no python3.11 or python3.10 on the PATH to be picked"
    out="$(PATH="$with_313:$PATH" setup choose_python PYTHON= 2>&1)" || fail "$out"
    echo "$out"
    grep -q "python3 is Python 3.13 .*: using ${expected##*/}" <<<"$out" \
        || fail "${expected##*/} not picked"
    [ "$(sed -n 's/^PYTHON=//p' <<<"$out")" = "$expected" ] || fail "$expected not picked"
}

fresh_setup() {
    local odoo_python="$1" pip_cache="$2" system_python=/usr/bin/python3 venv_python odoo_src out
    venv_python="$WORK_DIR/state/venv/bin/python"
    odoo_src="$("$odoo_python" -c 'import odoo, os; print(os.path.dirname(odoo.__path__[0]))')" \
        || fail "$odoo_python does not import Odoo"
    [ -f "$odoo_src/odoo-bin" ] || fail "$odoo_python imports Odoo from $odoo_src, without odoo-bin"
    [ -x "$system_python" ] || fail "no system Python $system_python"
    echo "system Python $system_python ($("$system_python" --version)), Odoo source $odoo_src"
    echo "pip cache $pip_cache"
    local variables=(PYTHON="$system_python" ODOO_SRC_DIR="$odoo_src" PIP_CACHE_DIR="$pip_cache")

    out="$(setup setup_all "${variables[@]}" 2>&1)" || fail "set-up failed: $out"
    echo "$out"
    grep -qx "PYTHON=$venv_python" <<<"$out" || fail "the set-up did not pick its venv"
    "$venv_python" -c 'import odoo.release as r, sys, ldap, psycopg2, hypothesis, websocket
print(f"Odoo {r.version} imports in the venv")
sys.exit(r.version_info[0] != 18)' || fail "Odoo 18 or a package does not import in the venv"

    out="$(setup setup_all "${variables[@]}" 2>&1)" || fail "second set-up failed: $out"
    ! grep -q 'installing\|creating' <<<"$out" || fail "the venv was not reused: $out"
    echo "a second set-up reuses the venv"
}

case "${1:-}" in
    python-choice) python_choice ;;
    fresh-setup) fresh_setup "$2" "$3" ;;
    *) fail "usage: $0 python-choice | fresh-setup ODOO_PYTHON PIP_CACHE_DIR" ;;
esac
