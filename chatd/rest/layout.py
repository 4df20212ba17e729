"""A server's categories and layout: /chat/servers/{server_id}/categories and .../layout."""

from __future__ import annotations

from aiohttp import web

from chatd.domain import layout, permissions
from chatd.domain.schemas import Category, Layout, LayoutChange, NewCategory
from chatd.web.auth import current_user
from chatd.web.encoding import json_response
from chatd.web.endpoints import Endpoint
from chatd.web.requests import json_body, path_uuid

MANAGE = "manage categories and the layout"


async def create_category(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id = path_uuid(request, "server_id")
    body = await json_body(request, NewCategory)
    await permissions.require_role(request.app, user, server_id, "ADMIN", MANAGE)
    return json_response(await layout.create_category(request.app, server_id, body.name), status=201)


async def rename_category(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, category_id = path_uuid(request, "server_id"), path_uuid(request, "category_id")
    body = await json_body(request, NewCategory)
    await permissions.require_role(request.app, user, server_id, "ADMIN", MANAGE)
    return json_response(await layout.rename_category(request.app, server_id, category_id, body.name))


async def delete_category(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id, category_id = path_uuid(request, "server_id"), path_uuid(request, "category_id")
    await permissions.require_role(request.app, user, server_id, "ADMIN", MANAGE)
    await layout.delete_category(request.app, server_id, category_id)
    return web.Response(status=204)


async def get_layout(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id = path_uuid(request, "server_id")
    await permissions.require_member(request.app, user, server_id)
    return json_response(await layout.get_layout(request.app, server_id))


async def put_layout(request: web.Request) -> web.Response:
    user = request[current_user]
    server_id = path_uuid(request, "server_id")
    body = await json_body(request, LayoutChange)
    await permissions.require_role(request.app, user, server_id, "ADMIN", MANAGE)
    return json_response(await layout.put_layout(request.app, server_id, body))


CATEGORY = "/chat/servers/{server_id}/categories/{category_id}"
ENDPOINTS = [
    Endpoint("POST", "/chat/servers/{server_id}/categories", create_category,
             "Create a category, after the last one (ADMIN)", "layout", body=NewCategory, response=Category,
             status=201, errors=(400, 403, 404)),
    Endpoint("PATCH", CATEGORY, rename_category, "Rename a category (ADMIN)", "layout", body=NewCategory,
             response=Category, errors=(400, 403, 404)),
    Endpoint("DELETE", CATEGORY, delete_category, "Delete a category: its channels become uncategorized (ADMIN)",
             "layout", status=204, errors=(403, 404)),
    Endpoint("GET", "/chat/servers/{server_id}/layout", get_layout,
             "The server's categories and the order of its channels", "layout", response=Layout, errors=(404,)),
    Endpoint("PUT", "/chat/servers/{server_id}/layout", put_layout,
             "Reorder categories and channels in one transaction (ADMIN): every category and channel exactly "
             "once; 409 with the current layout when `version` is stale", "layout", body=LayoutChange,
             response=Layout, errors=(400, 403, 404, 409)),
]
