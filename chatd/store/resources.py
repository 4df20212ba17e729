"""Where the SQL, migrations and static files are, installed or in a checkout."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def resource_dir(name: str) -> Path:
    """The folder `name` (sql, migrations, static): inside the installed package, where
    setup.cfg puts it, or at the top of a checkout (an editable install or `python -m`)."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise LookupError(f"chatd's {name}/ folder is missing from {_PACKAGE}")
