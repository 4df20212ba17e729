"""Accounts and tokens: /auth/*, plus the original deployment's /login and /signup; ending
sessions (logout, logout everywhere, a password change) and deleting the account."""

from __future__ import annotations

from aiohttp import web

from chatd import keys
from chatd.domain import accounts, deletion, sessions
from chatd.domain.schemas import AccountDeletion, Credentials, Login, PasswordChange, Signedup, Signup, Token, User
from chatd.domain.tokens import issue_token
from chatd.web.auth import current_token, current_user
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
    user = await accounts.check_password(request.app, body.username, body.password, _address(request))
    token, lifetime = issue_token(request.app[keys.config], user)
    return json_response(Token(access_token=token, token_type="bearer", expires_in=lifetime))


async def me(request: web.Request) -> web.Response:
    return json_response(request[current_user])


async def logout(request: web.Request) -> web.Response:
    await sessions.logout(request.app, request[current_token])
    return web.Response(status=204)


async def logout_all(request: web.Request) -> web.Response:
    await sessions.logout_all(request.app, request[current_user])
    return web.Response(status=204)


async def change_password(request: web.Request) -> web.Response:
    body = await json_body(request, PasswordChange)
    token, lifetime = await sessions.change_password(
        request.app, request[current_user], body.old_password, body.new_password, _address(request))
    return json_response(Token(access_token=token, token_type="bearer", expires_in=lifetime))


async def delete_me(request: web.Request) -> web.Response:
    body = await json_body(request, AccountDeletion)
    await deletion.delete_account(request.app, request[current_user], body.password, _address(request))
    return web.Response(status=204)


def _address(request: web.Request) -> str:
    """Who is guessing, for the limits on password attempts."""
    return client_address(request, request.app[keys.config].trusted_proxies)


_LOGIN = dict(summary="Exchange a username and password for a bearer token", tag="auth",
              body=Login, response=Token, errors=(400, 401, 429, 503), auth=False, form=True)
ENDPOINTS = [
    Endpoint("POST", "/auth/register", register, "Create an account", "auth", body=Credentials,
             response=User, status=201, errors=(400, 409, 503), auth=False),
    Endpoint("POST", "/auth/login", login, **_LOGIN),
    Endpoint("GET", "/auth/me", me, "The signed-in user", "auth", response=User),
    Endpoint("POST", "/auth/logout", logout, "Revoke the token presented", "auth", status=204),
    Endpoint("POST", "/auth/logout-all", logout_all, "Revoke every token of the signed-in user", "auth",
             status=204),
    Endpoint("PUT", "/auth/password", change_password,
             "Change the password: every other token is revoked, a fresh one returned", "auth",
             body=PasswordChange, response=Token, errors=(400, 403, 429, 503)),
    Endpoint("DELETE", "/auth/me", delete_me,
             "Delete the account: its sessions end, it leaves every server, its messages stay", "auth",
             body=AccountDeletion, status=204, errors=(400, 403, 409, 429, 503)),
    Endpoint("POST", "/login", login, **_LOGIN),
    Endpoint("POST", "/signup", signup, "Create an account (the original deployment's route)", "auth",
             body=Signup, response=Signedup, status=201, errors=(400, 409, 503), auth=False),
]
