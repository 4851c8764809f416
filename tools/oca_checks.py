"""Run one of OCA's odoo-pre-commit-hooks commands on this repository, whose root is the module.

OCA's commands look for a file's __manifest__.py only in the folders below the git top level, so
on a repository whose root is the module itself they find no module and pass without checking
anything; they also take the module's name from its folder, here whatever the checkout is called.
This runs the command on a copy of the tracked files placed at <tmp>/jibble_connector, under a
folder marked as the top level, and prints its findings with paths relative to this repository.
With --fix, the files the command fixed are copied back.

python3 tools/oca_checks.py oca-checks-odoo-module [options]
python3 tools/oca_checks.py oca-checks-odoo-module-fixit [options]
"""

import filecmp
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE = "jibble_connector"
COMMANDS = ("oca-checks-odoo-module", "oca-checks-odoo-module-fixit")


def tracked_files():
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()
    return [name for name in out.split("\0") if name and (ROOT / name).is_file()]


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(f"usage: {sys.argv[0]} {{{','.join(COMMANDS)}}} [options]", file=sys.stderr)
        return 2
    command, options = sys.argv[1], sys.argv[2:]
    files = tracked_files()
    with tempfile.TemporaryDirectory(prefix="oca-checks-") as tmp:
        top = Path(tmp).resolve()
        (top / ".git").mkdir()  # the top level OCA's commands stop at
        module = top / MODULE
        for name in files:
            (module / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, module / name)
        result = subprocess.run(
            [command, *options, "."], cwd=module, capture_output=True, text=True, check=False
        )
        if "--fix" in options:
            for name in files:
                if not filecmp.cmp(ROOT / name, module / name, shallow=False):
                    shutil.copyfile(module / name, ROOT / name)
    output = (result.stdout + result.stderr).replace(f"{module}/", "").replace(str(top), "<tmp>")
    print(re.sub(rf"(?m)^((?:\x1b\[[0-9;]*m)*){MODULE}/", r"\1", output), end="")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
