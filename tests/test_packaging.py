"""setup.cfg ships what chatd imports: `pip install .` (the README's first command) is not
an editable install, so a package missing from the list is missing at runtime."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def options() -> configparser.SectionProxy:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    return parser["options"]


def listed(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def test_every_python_package_under_chatd_is_listed_in_setup_cfg():
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "chatd").rglob("__init__.py")}
    assert found <= set(listed(options()["packages"]))


def test_every_package_directory_setup_cfg_names_exists():
    for line in listed(options()["package_dir"]):
        package, directory = (part.strip() for part in line.split("="))
        assert (ROOT / directory).is_dir(), package


def test_sql_and_migrations_hold_only_the_sql_files_setup_cfg_ships():
    assert [p.name for d in ("sql", "migrations") for p in (ROOT / d).iterdir()
            if p.is_file() and p.suffix != ".sql"] == []


def test_static_holds_only_the_file_types_setup_cfg_ships():
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    shipped = {p.strip().removeprefix("*") for p in parser["options.package_data"]["chatd.static"].split(",")}
    assert {p.suffix for p in (ROOT / "static").iterdir()} <= shipped
