"""/openapi.json: generated from the endpoint list and the msgspec types that validate it."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from chatd import __version__
from chatd.web.endpoints import Endpoint
from chatd.domain.schemas import Problem

_REF = "#/components/schemas/{name}"
_ERROR_TEXT = {
    400: "The request is malformed; `detail` names the problem",
    401: "Missing, expired or invalid bearer token",
    403: "The caller's role does not allow this; `detail` names the role needed",
    404: "No such thing, or the caller may not see it",
    409: "Conflicts with the current state",
    410: "No longer kept (past retention): reload instead",
    413: "The request body is too large",
    416: "The Range asked for is not within the file",
    429: "Rate limited: retry after the `Retry-After` seconds",
    503: "Unavailable for now (the database is away, too many logins at once, or not ready): retry after `Retry-After`; `detail` says why",
}


def openapi_document(endpoints: list[Endpoint]) -> dict[str, Any]:
    types = [Problem]
    for endpoint in endpoints:
        types += [t for t in (endpoint.body, endpoint.response) if t is not None]
    schemas, components = msgspec.json.schema_components(types, ref_template=_REF)
    schema_of = dict(zip(map(_key, types), schemas))

    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint, schema_of)
    return {
        "openapi": "3.1.0",
        "info": {"title": "chatd", "version": __version__,
                 "description": "A Discord-style chat backend: servers, channels, messages and roles."},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _operation(endpoint: Endpoint, schema_of: dict) -> dict[str, Any]:
    problem = {"application/json": {"schema": schema_of[_key(Problem)]}}
    responses: dict[str, Any] = {}
    if endpoint.response is None:
        responses[str(endpoint.status)] = {"description": "Done"}
    else:
        responses[str(endpoint.status)] = {
            "description": "OK",
            "content": {"application/json": {"schema": schema_of[_key(endpoint.response)]}},
        }
    if endpoint.redirect is not None:
        responses["302"] = {"description": f"Found: {endpoint.redirect}", "headers": {"Location": {
            "description": endpoint.redirect, "schema": {"type": "string", "format": "uri"}}}}
    # Any route that reads the database answers 503 while it is away (web/errors, Unavailable).
    errors = set(endpoint.errors) | ({401, 503} if endpoint.auth else set())
    if endpoint.body is not None or endpoint.upload:
        errors.add(413)
    for status in sorted(errors):
        responses[str(status)] = {"description": _ERROR_TEXT[status], "content": problem}

    operation: dict[str, Any] = {
        "operationId": f"{endpoint.method.lower()}_{endpoint.handler.__name__}_{_slug(endpoint.path)}",
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "parameters": [_path_param(endpoint, name) for name in re.findall(r"{(\w+)}", endpoint.path)] + [
            {"name": q.name, "in": "query", "required": False, "schema": q.schema, "description": q.description}
            for q in endpoint.query
        ],
        "responses": responses,
    }
    if endpoint.auth:
        operation["security"] = [{"bearer": []}]
    if endpoint.body is not None:
        body_schema = schema_of[_key(endpoint.body)]
        content = {"application/json": {"schema": body_schema}}
        if endpoint.form:
            content["application/x-www-form-urlencoded"] = {"schema": body_schema}
        operation["requestBody"] = {"required": True, "content": content}
    if endpoint.upload:
        operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}}}}}}
    return operation


def _path_param(endpoint: Endpoint, name: str) -> dict[str, Any]:
    declared = {p.name: p for p in endpoint.path_params}.get(name)
    if declared is None:
        return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
    return {"name": name, "in": "path", "required": True, "schema": declared.schema,
            "description": declared.description}


def _key(type_: Any) -> str:
    return repr(type_)


def _slug(path: str) -> str:
    return re.sub(r"\W+", "_", path).strip("_")
