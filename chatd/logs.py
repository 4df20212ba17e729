"""Log lines: one event per line, key=value fields; URLs logged without their query string,
so a `?token=` never reaches a log."""

from __future__ import annotations

import logging
import sys

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from chatd.errors import REQUEST_ID


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
    )
    # pgserver narrates every pg_ctl call and yoyo every step; chatd logs the outcome itself.
    for chatty in ("pgserver", "yoyo"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


class AccessLogger(AbstractAccessLogger):
    """Method, path (never the query), status, size, duration and request id."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "event=http method=%s path=%s status=%s bytes=%s ms=%.1f request_id=%s",
            request.method, request.path, response.status, response.body_length,
            time * 1000, request.get(REQUEST_ID, "-"),
        )
