# Shared set-up for tools/run.sh and tools/test.sh: sourced, not run.
# Leaves in $PYTHON an interpreter that imports Odoo 18 and the connector's Python packages, makes
# sure PostgreSQL answers with a role for the current user, and puts the addon on an addons path
# under its technical name whatever this folder is called.
#
# An Odoo 18 that $PYTHON (default python3) already imports is used as it is. Otherwise Odoo and
# the connector's packages go into a virtual environment of the project's own, $STATE_DIR/venv,
# never into the system Python: built with a Python that Odoo 18 supports (3.10 to 3.12), from
# the Odoo source tree $ODOO_SRC_DIR (cloned from github when it has no odoo-bin), once the system
# packages Odoo's requirements need to build are there. The venv is reused while its inputs stay
# the same, and pip's downloads and built wheels are cached in the state folder.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
STATE_DIR="${JIBBLE_STATE_DIR:-$HOME/.local/share/jibble_connector}"
ODOO_SRC_DIR="${ODOO_SRC_DIR:-$STATE_DIR/odoo-18.0}"
ODOO_GIT_URL="https://github.com/odoo/odoo.git"
VENV_DIR="$STATE_DIR/venv"
PIP_CACHE="${PIP_CACHE_DIR:-$STATE_DIR/pip-cache}"
SETUP_LOG="$STATE_DIR/logs/setup.log"
mkdir -p "$STATE_DIR/logs"

log() { printf '[jibble] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# step WHAT HINT COMMAND...: runs one set-up step on one line with how long it took; its output
# goes to $SETUP_LOG and a failure shows the end of it and HINT, what to do next. COMMAND runs in
# an `if`, where `set -e` does not apply: functions given to it chain their commands with &&.
step() {
    local what="$1" hint="$2" start=$SECONDS
    shift 2
    printf '[jibble] %s ... ' "$what" >&2
    printf '== %s %s\n' "$(date '+%F %T')" "$what" >>"$SETUP_LOG"
    if "$@" >>"$SETUP_LOG" 2>&1; then
        printf 'done in %s\n' "$(duration $((SECONDS - start)))" >&2
    else
        printf 'FAILED after %s\n' "$(duration $((SECONDS - start)))" >&2
        grep -v '^Ignoring ' "$SETUP_LOG" | tail -n 15 | sed 's/^/    /' >&2
        die "$hint (whole log: $SETUP_LOG)"
    fi
}

duration() { if [ "$1" -ge 60 ]; then echo "$(($1 / 60))m$(($1 % 60))s"; else echo "$1s"; fi; }

# --- Python ------------------------------------------------------------------------------------

# "3.11" for an interpreter that runs, nothing for one that does not (a pyenv shim of a version
# that is not installed, say).
python_version() {
    "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true
}

supported_python_version() { case "$1" in 3.10 | 3.11 | 3.12) return 0 ;; *) return 1 ;; esac; }

# Odoo 18 runs on Python 3.10 to 3.12: keeps $PYTHON when it is one of those, else takes the first
# of python3.12, python3.11 and python3.10 on the PATH.
choose_python() {
    local version candidate what
    version="$(python_version "$PYTHON")"
    supported_python_version "$version" && return
    what="$PYTHON is ${version:+Python }${version:-not a Python that runs}"
    for candidate in python3.12 python3.11 python3.10; do
        command -v "$candidate" >/dev/null || continue
        if supported_python_version "$(python_version "$candidate")"; then
            PYTHON="$(command -v "$candidate")"
            log "$what and Odoo 18 needs 3.10 to 3.12: using $candidate ($PYTHON)"
            return
        fi
    done
    die "Odoo 18 needs Python 3.10, 3.11 or 3.12, but $what and there is no python3.12," \
        "python3.11 or python3.10 on the PATH: install Python 3.12 (e.g." \
        "\`uv python install 3.12\` or \`pyenv install 3.12\`) and run again with it on the" \
        "PATH or in PYTHON."
}

odoo_importable() {
    "$1" -c 'import odoo.release as r, sys; sys.exit(r.version_info[0] != 18)' 2>/dev/null
}

connector_packages_importable() {
    "$1" -c 'import requests, urllib3, websocket, hypothesis' 2>/dev/null
}

setup_python() {
    if odoo_importable "$PYTHON"; then
        connector_packages_importable "$PYTHON" && return
        # Odoo is installed by other means: a venv over it holds what the connector adds.
        ensure_venv "odoo of $(command -v "$PYTHON")" --system-site-packages
    else
        choose_python
        ensure_system_packages
        ensure_odoo_source
        ensure_venv "odoo from $ODOO_SRC_DIR"
    fi
}

# ensure_venv KIND [VENV OPTIONS]: makes $STATE_DIR/venv with $PYTHON as its base, installs
# Odoo's requirements (for KIND "odoo from ...") and the connector's, and sets PYTHON to the
# venv's interpreter. The venv is used as it is while its stamp (base, kind and requirement files)
# says it was made from the same inputs.
ensure_venv() {
    local kind="$1" base stamp requirements=("$REPO_DIR/requirements-dev.txt")
    shift
    base="$("$PYTHON" -c 'import sys; print(sys.executable)')"
    if [[ $kind == "odoo from "* ]]; then
        requirements=("$ODOO_SRC_DIR/requirements.txt" "${requirements[@]}")
    fi
    stamp="$(printf 'base %s (Python %s), %s\n' "$base" "$(python_version "$base")" "$kind"
        cat "${requirements[@]}" | md5sum)"
    local old_stamp constraints="$STATE_DIR/build-constraints.txt"
    old_stamp="$(cat "$VENV_DIR/.jibble-stamp" 2>/dev/null || true)"
    if [ -x "$VENV_DIR/bin/python" ] && [ "$old_stamp" = "$stamp" ]; then
        PYTHON="$VENV_DIR/bin/python"
        return
    fi
    # A venv from another base or kind is made again; one whose requirements changed is updated.
    if [ -e "$VENV_DIR" ] && [ "$(head -n1 <<<"$old_stamp")" != "$(head -n1 <<<"$stamp")" ]; then
        rm -rf "$VENV_DIR"
    fi
    if [ ! -x "$VENV_DIR/bin/python" ]; then
        step "creating the virtual environment $VENV_DIR (Python $(python_version "$base"))" \
            "install $(debian_python_package venv), or set PYTHON to another Python 3.10 to 3.12" \
            "$base" -m venv "$@" "$VENV_DIR"
    fi
    # Odoo's pinned requirements do not build with setuptools 70 or later. Packages are built as
    # wheels (--use-pep517), which pip's cache keeps for the next venv.
    echo 'setuptools<70' >"$constraints"
    local hint="a package that does not build usually lacks a system package (build-essential"
    hint+=" python3-dev libldap2-dev libsasl2-dev libpq-dev), or pypi.org does not answer:"
    hint+=" fix that and run again"
    step "installing the Python packages into the venv (a few minutes the first time)" "$hint" \
        env PIP_CONSTRAINT="$constraints" PIP_CACHE_DIR="$PIP_CACHE" "$VENV_DIR/bin/python" \
        -m pip install --progress-bar off --use-pep517 "${requirements[@]/#/--requirement=}"
    if [[ $kind == "odoo from "* ]]; then
        # Odoo runs from its source tree, as `pip install -e` would, without writing into it.
        "$VENV_DIR/bin/python" - "$ODOO_SRC_DIR" <<'PY'
import pathlib, sys, sysconfig
pathlib.Path(sysconfig.get_paths()["purelib"], "odoo-src.pth").write_text(sys.argv[1] + "\n")
PY
    fi
    odoo_importable "$VENV_DIR/bin/python" || die "Odoo 18 does not import in $VENV_DIR:" \
        "see $SETUP_LOG; the next run makes the venv again"
    printf '%s\n' "$stamp" >"$VENV_DIR/.jibble-stamp"
    PYTHON="$VENV_DIR/bin/python"
}

# The Odoo source tree: $ODOO_SRC_DIR as it is when it holds odoo-bin, else cloned there.
ensure_odoo_source() {
    if [ ! -f "$ODOO_SRC_DIR/odoo-bin" ]; then
        if [ -n "$(ls -A "$ODOO_SRC_DIR" 2>/dev/null)" ]; then
            die "ODOO_SRC_DIR=$ODOO_SRC_DIR is not an Odoo source tree (no odoo-bin): point" \
                "ODOO_SRC_DIR at an Odoo 18 source tree, or remove that folder to have Odoo" \
                "cloned there"
        fi
        step "cloning Odoo 18 from $ODOO_GIT_URL into $ODOO_SRC_DIR" \
            "check that github.com is reachable, or set ODOO_SRC_DIR to an Odoo 18 source tree" \
            clone_odoo
    fi
    grep -q '^version_info = (18,' "$ODOO_SRC_DIR/odoo/release.py" || die "$ODOO_SRC_DIR is not" \
        "Odoo 18 (see its odoo/release.py): point ODOO_SRC_DIR at an Odoo 18 source tree"
}

clone_odoo() {
    rm -rf "$ODOO_SRC_DIR.partial" \
        && git clone --depth 1 --branch 18.0 "$ODOO_GIT_URL" "$ODOO_SRC_DIR.partial" \
        && { [ ! -d "$ODOO_SRC_DIR" ] || rmdir "$ODOO_SRC_DIR"; } \
        && mv "$ODOO_SRC_DIR.partial" "$ODOO_SRC_DIR"
}

# --- System packages ---------------------------------------------------------------------------

# The Debian package with the `venv` or `dev` part of $PYTHON: python3-venv for the distribution's
# python3, python3.X-venv for another python3.X of the distribution.
debian_python_package() {
    local python; python="$(realpath "$(command -v "$PYTHON")")"
    if [ "$python" = "$(realpath /usr/bin/python3 2>/dev/null)" ]; then
        echo "python3-$1"
    else
        echo "python$(python_version "$PYTHON")-$1"
    fi
}

# What Odoo's requirements need to build (Odoo's documented list for a source install: a C
# compiler, the headers of Python, OpenLDAP, SASL and libpq), Python's venv module, git when Odoo
# is to be cloned, and PostgreSQL: missing pieces are named by their Debian packages.
missing_system_packages() {
    local python_include
    python_include="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
    command -v gcc >/dev/null || echo build-essential
    [ -f "$python_include/Python.h" ] || debian_python_package dev
    "$PYTHON" -c 'import ensurepip' 2>/dev/null || debian_python_package venv
    [ -f /usr/include/ldap.h ] || echo libldap2-dev
    [ -f /usr/include/sasl/sasl.h ] || echo libsasl2-dev
    [ -f "$(pg_config --includedir 2>/dev/null)/libpq-fe.h" ] || echo libpq-dev
    [ -f "$ODOO_SRC_DIR/odoo-bin" ] || command -v git >/dev/null || echo git
    missing_postgres_packages
}

missing_postgres_packages() {
    command -v psql >/dev/null && command -v pg_isready >/dev/null || echo postgresql-client
    [ -n "$(ls /etc/postgresql 2>/dev/null)" ] || postgres_answers || echo postgresql
}

postgres_answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

ensure_system_packages() {
    local missing
    mapfile -t missing < <(missing_system_packages | sort -u)
    [ ${#missing[@]} -eq 0 ] || install_system_packages "${missing[@]}"
}

# Installs Debian packages with apt-get as root; otherwise says which command to run, and stops.
install_system_packages() {
    local command="apt-get install -y --no-install-recommends $*"
    if ! command -v apt-get >/dev/null; then
        log "this may lack what Debian calls $*: if a step fails, install their equivalents"
        return
    elif [ "$(id -u)" != 0 ]; then
        die "system packages that Odoo 18 needs are missing: run" \
            "\`sudo apt-get update && sudo $command\`, then run again"
    fi
    step "installing system packages: $*" "run \`apt-get update && $command\` to see what fails" \
        env DEBIAN_FRONTEND=noninteractive sh -c "apt-get update -q && $command"
}

# --- PostgreSQL --------------------------------------------------------------------------------

# PostgreSQL answers on 127.0.0.1:5432 and lets the current user in as a superuser role of the same
# name. On a stock Debian/Ubuntu cluster, where 127.0.0.1 asks for a password, the role gets one,
# kept in $STATE_DIR/pgpass (PGPASSFILE), which psql, Odoo and the drill all read.
ensure_postgres() {
    local missing role
    mapfile -t missing < <(missing_postgres_packages)
    [ ${#missing[@]} -eq 0 ] || install_system_packages "${missing[@]}"
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        step "starting PostgreSQL" "start PostgreSQL so that it answers on 127.0.0.1:5432" \
            start_postgres
    fi
    [ ! -f "$STATE_DIR/pgpass" ] || export PGPASSFILE="$STATE_DIR/pgpass"
    role="$(id -un)"
    if ! psql -w -h 127.0.0.1 -U "$role" -d postgres -tAc 'select 1' >/dev/null 2>&1; then
        step "creating the PostgreSQL role $role, or giving it a password for 127.0.0.1" \
            "as the postgres user, create a superuser role $role that can log in over 127.0.0.1" \
            open_postgres_role "$role"
        export PGPASSFILE="$STATE_DIR/pgpass"
    fi
}

start_postgres() {
    local cluster
    cluster="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)"
    [ -n "$cluster" ] && pg_ctlcluster --skip-systemctl-redirect "$cluster" main start
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && return; sleep 1; done
    return 1
}

# Gives the role $1 a new password, kept in $STATE_DIR/pgpass, creating the role when it is
# missing: as PostgreSQL's superuser over 127.0.0.1 when that lets it in, else as the postgres user.
open_postgres_role() {
    local role="$1" password sql
    password="$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')"
    sql="DO \$\$ BEGIN
        EXECUTE format(CASE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = '$role')
                            THEN 'ALTER ROLE %I SUPERUSER LOGIN PASSWORD %L'
                            ELSE 'CREATE ROLE %I SUPERUSER LOGIN PASSWORD %L' END,
                       '$role', '$password');
    END \$\$"
    (umask 077 && printf '127.0.0.1:5432:*:%s:%s\n' "$role" "$password" >"$STATE_DIR/pgpass") \
        && { psql -w -h 127.0.0.1 -U postgres -d postgres -qc "$sql" \
            || as_postgres psql -d postgres -qc "$sql"; } \
        && PGPASSFILE="$STATE_DIR/pgpass" psql -w -h 127.0.0.1 -U "$role" -d postgres -tAc 'select 1'
}

as_postgres() {
    if [ "$(id -un)" = postgres ]; then
        "$@"
    elif [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        sudo -u postgres "$@"
    fi
}

# --- Odoo and the browser -------------------------------------------------------------------

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
    setup_python
    ensure_postgres
}
