"""Log lines: one event per line, key=value fields or (CHATD_LOG_FORMAT=json) one JSON object;
URLs logged without their query string, so a `?token=` never reaches a log."""

from __future__ import annotations

import copy
import json
import logging
import logging.handlers
import queue
import re
import shlex
import sys
from datetime import datetime, timezone

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError

from chatd.web.errors import REQUEST_ID

KV_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"


def setup_logging(log_format: str = "kv") -> None:
    """Called again once the configuration is read, to switch to its format (the handler it
    replaces is closed, having written what it held)."""
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(KV_FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[BackgroundHandler(stream)], force=True)
    # pgserver narrates every pg_ctl call and yoyo every step; chatd logs the outcome itself.
    for chatty in ("pgserver", "yoyo"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    server_log = logging.getLogger("aiohttp.server")
    server_log.setLevel(logging.DEBUG)  # aiohttp logs a bad method at DEBUG: let it reach the filter
    if bad_http_request not in server_log.filters:
        server_log.addFilter(bad_http_request)


class BackgroundHandler(logging.handlers.QueueHandler):
    """Log lines are written to stderr by a thread of their own, never by the event loop: a
    write blocks while the reader of stderr (journald, a pipe) is behind, and with an access
    line per request that stalled every client of the process (in the bench, message_updated's
    p99 read about three times what it did with the lines left out). The queue is unbounded:
    a line is never dropped. Closing the handler (logging.shutdown, at exit) writes every line
    still queued."""

    def __init__(self, target: logging.Handler):
        super().__init__(queue.SimpleQueue())
        self._writer = logging.handlers.QueueListener(self.queue, target)
        self._writer.start()

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """The message with its arguments put in now (they may change later); everything
        else, a traceback too, formatted by the writer as the target's formatter wants it."""
        record = copy.copy(record)
        record.msg, record.args = record.getMessage(), None
        return record

    def close(self) -> None:
        self._writer.stop()
        super().close()


def bad_http_request(record: logging.LogRecord) -> bool:
    """A request aiohttp cannot parse (a NUL in a header, a garbage request line, an oversized
    header) is answered 400 and logged by aiohttp at ERROR with a traceback: any peer could
    write those at will, and the fault is the peer's. Rewritten to one INFO line naming the peer
    and the kind of error, never the bytes (they may carry a token); other records pass as
    they are. A logging filter, aiohttp's own logger left in place: no aiohttp internals touched."""
    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, HttpProcessingError):
        # aiohttp's "Error handling request from %s" is given the peer's address.
        peer = record.args[0] if isinstance(record.args, tuple) and len(record.args) == 1 else None
        record.msg, record.args = "event=bad_http_request peer=%s error=%s", (peer or "-", type(error).__name__)
        record.levelno, record.levelname = logging.INFO, "INFO"
        record.exc_info = record.exc_text = None
    return True


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
