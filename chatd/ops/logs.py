"""Log lines: one event per line, key=value fields or (CHATD_LOG_FORMAT=json) one JSON object;
URLs logged without their query string, so a `?token=` never reaches a log."""

from __future__ import annotations

import json
import logging
import re
import shlex
import sys
from datetime import datetime, timezone

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from chatd.web.errors import REQUEST_ID

KV_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"


def setup_logging(log_format: str = "kv") -> None:
    """Called again once the configuration is read, to switch to its format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(KV_FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    # pgserver narrates every pg_ctl call and yoyo every step; chatd logs the outcome itself.
    for chatty in ("pgserver", "yoyo"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


class JsonFormatter(logging.Formatter):
    """{"time", "level", "logger", then the event's own key=value fields as keys}; a message
    that is not key=value pairs (a library's) is kept whole under "message"."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            **_fields(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def _fields(message: str) -> dict:
    try:
        tokens = shlex.split(message)
    except ValueError:
        tokens = []
    if not tokens or not all(_KEY.match(t) for t in tokens):
        return {"message": message}
    return {key: _number(value) for key, value in (t.split("=", 1) for t in tokens)}


def _number(value: str) -> str | int | float:
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    if re.fullmatch(r"-?\d+\.\d+", value):
        return float(value)
    return value


class AccessLogger(AbstractAccessLogger):
    """Method, path (never the query), status, size, duration and request id."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "event=http method=%s path=%s status=%s bytes=%s ms=%.1f request_id=%s",
            request.method, request.path, response.status, response.body_length,
            time * 1000, request.get(REQUEST_ID, "-"),
        )
