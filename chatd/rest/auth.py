"""Accounts and tokens: /auth/*, plus the original deployment's /login and /signup."""

from __future__ import annotations

from aiohttp import web

from chatd import keys
from chatd.domain import accounts
from chatd.domain.schemas import Credentials, Login, Signedup, Signup, Token, User
from chatd.domain.tokens import issue_token
from chatd.web.auth import current_user
from chatd.web.encoding import json_response
from chatd.web.endpoints import Endpoint
from chatd.web.requests import client_address, json_body, json_or_form_body


async def register(request: web.Request) -> web.Response:
    body = await json_body(request, Credentials)
    user = await accounts.create_account(request.app, body.username, body.password, None)
    return json_response(user, status=201)


async def signup(request: web.Request) -> web.Response:
    body = await json_body(request, Signup)
    user = await accounts.create_account(request.app, body.username, body.password, body.email)
    return json_response(Signedup("user created", user.user_id, user.username), status=201)


async def login(request: web.Request) -> web.Response:
    body = await json_or_form_body(request, Login)
    address = client_address(request, request.app[keys.config].trusted_proxies)
    user = await accounts.check_password(request.app, body.username, body.password, address)
    token, lifetime = issue_token(request.app[keys.config], user)
    return json_response(Token(access_token=token, token_type="bearer", expires_in=lifetime))


async def me(request: web.Request) -> web.Response:
    return json_response(request[current_user])


_LOGIN = dict(summary="Exchange a username and password for a bearer token", tag="auth",
              body=Login, response=Token, errors=(400, 401, 429, 503), auth=False, form=True)
ENDPOINTS = [
    Endpoint("POST", "/auth/register", register, "Create an account", "auth", body=Credentials,
             response=User, status=201, errors=(400, 409, 503), auth=False),
    Endpoint("POST", "/auth/login", login, **_LOGIN),
    Endpoint("GET", "/auth/me", me, "The signed-in user", "auth", response=User),
    Endpoint("POST", "/login", login, **_LOGIN),
    Endpoint("POST", "/signup", signup, "Create an account (the original deployment's route)", "auth",
             body=Signup, response=Signedup, status=201, errors=(400, 409, 503), auth=False),
]
