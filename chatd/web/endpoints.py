"""Endpoint declarations: one list drives both the router and /openapi.json."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class QueryParam:
    name: str
    schema: dict[str, Any]
    description: str


@dataclass(frozen=True)
class PathParam:
    """A path parameter that is not an id (every other one is a UUID); `pattern` is what the
    router matches for it."""

    name: str
    schema: dict[str, Any]
    description: str
    pattern: str


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: Any = None
    response: Any = None
    status: int = 200
    errors: tuple[int, ...] = ()
    query: tuple[QueryParam, ...] = ()
    auth: bool = True
    form: bool = False  # the body may also come as application/x-www-form-urlencoded
    path_params: tuple[PathParam, ...] = ()

    @property
    def route(self) -> str:
        """The path as the router matches it: `path` with each PathParam's pattern."""
        route = self.path
        for param in self.path_params:
            route = route.replace(f"{{{param.name}}}", f"{{{param.name}:{param.pattern}}}")
        return route
