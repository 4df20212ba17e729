"""Accounts and tokens: /auth/*, plus the original deployment's /login and /signup."""

from __future__ import annotations

from aiohttp import web

from chatd import keys
from chatd.domain.tokens import current_user, hash_password, issue_token, verify_password
from chatd.web.encoding import json_response
from chatd.web.endpoints import Endpoint
from chatd.web.errors import ApiError
from chatd.web.requests import json_body, json_or_form_body
from chatd.domain.schemas import Credentials, Login, Signedup, Signup, Token, User


async def _create_account(request: web.Request, username: str, password: str, email: str | None) -> User:
    app = request.app
    row = await app[keys.queries].create_user(
        app[keys.pool], username=username, password_hash=await hash_password(password), email=email
    )
    if row is None:
        raise ApiError(409, f"username {username!r} is taken")
    return User(user_id=row["user_id"], username=row["username"])


async def register(request: web.Request) -> web.Response:
    body = await json_body(request, Credentials)
    user = await _create_account(request, body.username, body.password, None)
    return json_response(user, status=201)


async def signup(request: web.Request) -> web.Response:
    body = await json_body(request, Signup)
    user = await _create_account(request, body.username, body.password, body.email)
    return json_response(Signedup("user created", user.user_id, user.username), status=201)


async def login(request: web.Request) -> web.Response:
    """Unknown user and wrong password get the same answer after the same work."""
    body = await json_or_form_body(request, Login)
    app = request.app
    row = await app[keys.queries].get_user_by_username(app[keys.pool], username=body.username)
    if not await verify_password(row["password_hash"] if row else None, body.password):
        raise ApiError(401, "wrong username or password", headers={"WWW-Authenticate": "Bearer"})
    token, lifetime = issue_token(app[keys.config], User(row["user_id"], row["username"]))
    return json_response(Token(access_token=token, token_type="bearer", expires_in=lifetime))


async def me(request: web.Request) -> web.Response:
    return json_response(request[current_user])


_LOGIN = dict(summary="Exchange a username and password for a bearer token", tag="auth",
              body=Login, response=Token, errors=(400, 401), auth=False, form=True)
ENDPOINTS = [
    Endpoint("POST", "/auth/register", register, "Create an account", "auth", body=Credentials,
             response=User, status=201, errors=(400, 409), auth=False),
    Endpoint("POST", "/auth/login", login, **_LOGIN),
    Endpoint("GET", "/auth/me", me, "The signed-in user", "auth", response=User),
    Endpoint("POST", "/login", login, **_LOGIN),
    Endpoint("POST", "/signup", signup, "Create an account (the original deployment's route)", "auth",
             body=Signup, response=Signedup, status=201, errors=(400, 409), auth=False),
]
