"""Web Push: the VAPID public key a browser subscribes with, and the caller's subscriptions
(/chat/users/@me/push-subscriptions). Pushes themselves: chatd.ops.pushes."""

from __future__ import annotations

from aiohttp import web

from chatd import keys
from chatd.domain import push
from chatd.web.auth import current_user
from chatd.web.encoding import json_response
from chatd.web.endpoints import Endpoint
from chatd.web.requests import json_body


async def vapid_public_key(request: web.Request) -> web.Response:
    return json_response(push.VapidPublicKey(public_key=request.app[keys.pushes].public_key))


async def subscribe(request: web.Request) -> web.Response:
    await push.subscribe(request.app, request[current_user], await json_body(request, push.NewSubscription))
    return web.Response(status=204)


async def unsubscribe(request: web.Request) -> web.Response:
    body = await json_body(request, push.GoneSubscription)
    await push.unsubscribe(request.app, request[current_user], body.endpoint)
    return web.Response(status=204)


_SUBSCRIPTIONS = "/chat/users/@me/push-subscriptions"
ENDPOINTS = [
    Endpoint("GET", "/push/vapid-public-key", vapid_public_key,
             "The key push services know chatd's pushes by: PushManager.subscribe()'s applicationServerKey", "push",
             response=push.VapidPublicKey, auth=False),
    Endpoint("POST", _SUBSCRIPTIONS, subscribe,
             "Register a browser's push subscription (again: its keys are updated; another user's endpoint moves "
             "to you). Pushes go to you while you have no open socket", "push",
             body=push.NewSubscription, status=204, errors=(400,)),
    Endpoint("DELETE", _SUBSCRIPTIONS, unsubscribe, "Remove one of your push subscriptions", "push",
             body=push.GoneSubscription, status=204, errors=(400, 404)),
]
