"""The README's shiv build of chatd.pyz, for tests/test_zipapp.py: a module of its own, so
conftest (which starts the build early, tests/background.py) and the test share one function."""

from __future__ import annotations

import atexit
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIV = Path(sys.executable).with_name("shiv")  # installed by the `test` extra
SOURCES = ["chatd", "sql", "migrations", "static", "setup.cfg", "pyproject.toml", "README.md"]


def readme_build_command() -> str:
    [line] = [line for line in (ROOT / "README.md").read_text().splitlines() if " shiv " in line]
    return line.strip()


def build_pyz() -> Path:
    """One build, from a copy of the sources (a stale build/ in the checkout cannot leak in),
    by the README's own command, in a directory removed when the session ends. Started early
    (tests/background.py): it takes most of a minute."""
    tree = Path(tempfile.mkdtemp(prefix="chatd-pyz-"))
    atexit.register(shutil.rmtree, tree, True)
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tree / name)
    command = readme_build_command().replace("shiv ", f"{SHIV} ", 1)
    subprocess.run(command, shell=True, cwd=tree, check=True, capture_output=True, timeout=300,
                   env={"PATH": f"{SHIV.parent}:/usr/bin:/bin", "HOME": str(tree)})
    return tree / "dist" / "chatd.pyz"
