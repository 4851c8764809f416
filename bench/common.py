"""Start Odoo in this process on a fresh database with the connector installed."""

import getpass
import os
import socket
import subprocess
import sys
import tempfile

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_parsed_config = []
FLOOR_MODULE = "jibble_bench_floor"
FLOOR_MODULE_DIR = os.path.join("bench", "floor_addon", FLOOR_MODULE)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def addons_path():
    """Odoo's addons plus a folder holding this repository as `jibble_connector`, beside the
    benchmark's own floor module (bench/floor_addon), which a benchmark installs or not."""
    import odoo  # noqa: PLC0415 - imported once the caller has checked it is installed

    link_dir = tempfile.mkdtemp(prefix="jibble-bench-")
    os.symlink(REPO_DIR, os.path.join(link_dir, "jibble_connector"))
    os.symlink(os.path.join(REPO_DIR, FLOOR_MODULE_DIR), os.path.join(link_dir, FLOOR_MODULE))
    root = os.path.dirname(odoo.__file__)
    paths = [os.path.join(root, "addons")]
    community = os.path.join(os.path.dirname(root), "addons")
    if os.path.isdir(os.path.join(community, "hr_attendance")):
        paths.append(community)
    return ",".join([*paths, link_dir])


def odoo_args(database, path):
    return [
        f"--addons-path={path}",
        "--db_host=127.0.0.1",
        f"--db_user={getpass.getuser()}",
        "-d",
        database,
        "--log-level=warn",
    ]


def fresh_database(database, path, modules="jibble_connector"):
    """Drop and recreate `database` with `modules` installed, without demo data."""
    subprocess.run(["dropdb", "-h", "127.0.0.1", "--if-exists", database], check=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "odoo",
            *odoo_args(database, path),
            "-i",
            modules,
            "--without-demo=all",
            "--stop-after-init",
            "--http-port=0",
        ],
        check=True,
    )


def open_registry(database, path):
    """The registry of `database`; Odoo's configuration is parsed once per process."""
    import odoo  # noqa: PLC0415
    from odoo.modules.registry import Registry  # noqa: PLC0415

    if not _parsed_config:
        odoo.tools.config.parse_config(odoo_args(database, path))
        _parsed_config.append(database)
    return Registry(database)
