"""The embedded PostgreSQL (the pgserver wheel), used when no database is configured."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

log = logging.getLogger(__name__)


class EmbeddedUnavailable(RuntimeError):
    """pgserver is not installed or PostgreSQL would not start."""


def start_embedded(data_dir: Path) -> str:
    """Start (or join) the PostgreSQL whose files live in data_dir/pg; return its URL.

    pgserver counts the processes using one data directory and stops PostgreSQL when the
    last of them exits, so several chatd processes may share it and a restart reuses it.
    """
    # platformdirs warns when XDG_RUNTIME_DIR is unset (as under sudo or in a container), on
    # pgserver's import; chatd's first lines should be its own.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import pgserver
        except ImportError:
            raise EmbeddedUnavailable(
                "no database configured and the embedded one is not installed: "
                "pip install 'chatd[embedded]', or set DATABASE_URL / DB_HOST"
            ) from None
        pgdata = (data_dir / "pg").resolve()
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        try:
            server = pgserver.get_server(pgdata, cleanup_mode="stop")
        except Exception as error:
            raise EmbeddedUnavailable(f"embedded PostgreSQL in {pgdata} did not start: {error}") from None
    return server.get_uri()
