"""Accounts and tokens: /auth/register, /auth/login, /auth/me and the original deployment's
/login and /signup; every way a bearer token can be bad."""

from __future__ import annotations

import asyncio
import time
from uuid import UUID, uuid4

import jwt
import pytest

from conftest import PASSWORD

WRONG_LOGIN = {"detail": "wrong username or password"}
USERNAME_PATTERN = "Expected `str` matching regex '^[A-Za-z0-9_.\\\\-]+$' - at `$.username`"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def mint(config, claims: dict, key: str | None = None, algorithm: str | None = None) -> str:
    """A token crafted by hand, as another service (or an attacker) would."""
    return jwt.encode(claims, config.secret_key if key is None else key,
                      algorithm=algorithm or config.algorithm)


async def register(client, username: str, password: str = PASSWORD):
    return await client.post("/auth/register", json={"username": username, "password": password})


# Registering

async def test_register_answers_201_with_the_new_user(client, db):
    resp = await register(client, "dave")
    assert resp.status == 201
    body = await resp.json()
    assert body == {"user_id": body["user_id"], "username": "dave"}
    UUID(body["user_id"])


async def test_register_rejects_a_taken_username(client, alice):
    resp = await register(client, "alice", "another password")
    assert resp.status == 409
    assert await resp.json() == {"detail": "username 'alice' is taken"}


@pytest.mark.parametrize("path", ["/auth/register", "/signup"])
@pytest.mark.parametrize("username", ["ALICE", "Alice", "alice"])
async def test_register_rejects_a_username_taken_in_another_case(client, alice, path, username):
    resp = await client.post(path, json={"username": username, "password": PASSWORD})
    assert resp.status == 409
    assert await resp.json() == {"detail": f"username {username!r} is taken"}


async def test_register_keeps_the_spelling_given(client, db):
    resp = await register(client, "MixedCase")
    assert (await resp.json())["username"] == "MixedCase"
    login = await client.post("/auth/login", json={"username": "mixedcase", "password": PASSWORD})
    me = await client.get("/auth/me", headers=bearer((await login.json())["access_token"]))
    assert (await me.json())["username"] == "MixedCase"


@pytest.mark.parametrize("username", ["ab", "x" * 32, "Ab9_.-z", "__"])
async def test_register_accepts_usernames_of_2_to_32_letters_digits_and_underscore_dot_dash(client, db, username):
    resp = await register(client, username)
    assert resp.status == 201
    assert (await resp.json())["username"] == username


@pytest.mark.parametrize("username, detail", [
    ("a", "Expected `str` of length >= 2 - at `$.username`"),
    ("", "Expected `str` of length >= 2 - at `$.username`"),
    ("x" * 33, "Expected `str` of length <= 32 - at `$.username`"),
    ("two words", USERNAME_PATTERN),
    ("émile", USERNAME_PATTERN),
    ("a/b", USERNAME_PATTERN),
    ("al@ice", USERNAME_PATTERN),
    ("tab\there", USERNAME_PATTERN),
])
async def test_register_rejects_usernames_outside_the_rules(client, db, username, detail):
    resp = await register(client, username)
    assert resp.status == 400
    assert await resp.json() == {"detail": detail}


@pytest.mark.parametrize("password", ["x" * 8, "y" * 256, "pässwörd ünicode"])
async def test_register_accepts_passwords_of_8_to_256_characters(client, db, password):
    resp = await register(client, "dave", password)
    assert resp.status == 201
    login = await client.post("/auth/login", json={"username": "dave", "password": password})
    assert login.status == 200


@pytest.mark.parametrize("password, detail", [
    ("x" * 7, "Expected `str` of length >= 8 - at `$.password`"),
    ("", "Expected `str` of length >= 8 - at `$.password`"),
    ("y" * 257, "Expected `str` of length <= 256 - at `$.password`"),
])
async def test_register_rejects_passwords_outside_8_to_256_characters(client, db, password, detail):
    resp = await register(client, "dave", password)
    assert resp.status == 400
    assert await resp.json() == {"detail": detail}


async def test_register_does_not_take_the_signup_email_field(client, db):
    resp = await client.post("/auth/register", json={"username": "dave", "password": PASSWORD, "email": "d@x.org"})
    assert resp.status == 400
    assert await resp.json() == {"detail": "Object contains unknown field `email`"}


# Logging in

async def login_as(client, path: str, form: bool, username: str, password: str):
    fields = {"username": username, "password": password}
    if form:
        # What an OAuth2 password-flow client sends, extra fields included.
        return await client.post(path, data={"grant_type": "password", "scope": "", **fields})
    return await client.post(path, json=fields)


@pytest.mark.parametrize("path", ["/auth/login", "/login"])
@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
async def test_login_answers_a_bearer_token_for_the_right_password(client, config, alice, path, form):
    resp = await login_as(client, path, form, "alice", PASSWORD)
    assert resp.status == 200
    body = await resp.json()
    assert body == {"access_token": body["access_token"], "token_type": "bearer", "expires_in": 30 * 60}
    claims = jwt.decode(body["access_token"], config.secret_key, algorithms=["HS256"])
    assert claims == {"user_id": str(alice.id), "sub": str(alice.id), "username": "alice",
                      "iat": claims["iat"], "exp": claims["iat"] + 30 * 60, "jti": claims["jti"]}
    UUID(claims["jti"])
    assert abs(claims["iat"] - time.time()) < 60
    me = await client.get("/auth/me", headers=bearer(body["access_token"]))
    assert me.status == 200
    assert await me.json() == {"user_id": str(alice.id), "username": "alice"}


@pytest.mark.parametrize("path", ["/auth/login", "/login"])
@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
@pytest.mark.parametrize("username, password", [("alice", "wrong password"), ("nobody", PASSWORD)],
                         ids=["wrong-password", "unknown-user"])
async def test_login_refuses_unknown_users_and_wrong_passwords_alike(client, alice, path, form, username, password):
    resp = await login_as(client, path, form, username, password)
    assert resp.status == 401
    assert await resp.json() == WRONG_LOGIN
    assert resp.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
@pytest.mark.parametrize("username, password", [
    ("a", PASSWORD), ("no spaces allowed", PASSWORD), ("x" * 40, PASSWORD), ("alice", "short"), ("alice", ""),
    ("alice", "p" * 300),
], ids=["short-name", "bad-characters", "long-name", "short-password", "empty-password", "long-password"])
async def test_a_login_that_breaks_the_sign_up_rules_is_just_a_wrong_login(client, alice, form, username, password):
    resp = await login_as(client, "/auth/login", form, username, password)
    assert resp.status == 401
    assert await resp.json() == WRONG_LOGIN


@pytest.mark.parametrize("path", ["/auth/login", "/login"])
@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
async def test_login_matches_the_username_in_any_case_and_the_token_carries_the_stored_spelling(
    client, config, make_user, path, form
):
    alice = await make_user("Alice")
    resp = await login_as(client, path, form, "aLICE", PASSWORD)
    assert resp.status == 200
    token = (await resp.json())["access_token"]
    claims = jwt.decode(token, config.secret_key, algorithms=["HS256"])
    assert (claims["user_id"], claims["username"]) == (str(alice.id), "Alice")
    me = await client.get("/auth/me", headers=bearer(token))
    assert await me.json() == {"user_id": str(alice.id), "username": "Alice"}


async def test_a_wrong_password_is_refused_in_any_case_of_the_username(client, alice):
    resp = await client.post("/auth/login", json={"username": "ALICE", "password": "wrong password"})
    assert resp.status == 401
    assert await resp.json() == WRONG_LOGIN


async def test_login_form_without_a_password_is_400(client, alice):
    resp = await client.post("/auth/login", data={"username": "alice"})
    assert resp.status == 400
    assert await resp.json() == {"detail": "Object missing required field `password`"}


async def test_login_with_a_malformed_json_body_is_400(client, alice):
    resp = await client.post("/login", data=b'{"username": "alice", ', headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert await resp.json() == {"detail": "body is not valid JSON (Input data was truncated)"}


# The original deployment's /signup

async def test_signup_answers_201_with_a_message_the_id_and_the_username(client, db):
    resp = await client.post("/signup", json={"username": "erin", "password": PASSWORD})
    assert resp.status == 201
    body = await resp.json()
    assert body == {"message": "user created", "user_id": body["user_id"], "username": "erin"}
    login = await client.post("/login", json={"username": "erin", "password": PASSWORD})
    assert login.status == 200
    me = await client.get("/auth/me", headers=bearer((await login.json())["access_token"]))
    assert await me.json() == {"user_id": body["user_id"], "username": "erin"}


async def test_signup_takes_an_optional_email(client, db):
    resp = await client.post("/signup", json={"username": "erin", "password": PASSWORD, "email": "erin@example.org"})
    assert resp.status == 201
    body = await resp.json()
    assert body == {"message": "user created", "user_id": body["user_id"], "username": "erin"}


async def test_signup_rejects_a_taken_username(client, alice):
    resp = await client.post("/signup", json={"username": "alice", "password": PASSWORD, "email": None})
    assert resp.status == 409
    assert await resp.json() == {"detail": "username 'alice' is taken"}


async def test_signup_applies_the_username_rules(client, db):
    resp = await client.post("/signup", json={"username": "no spaces", "password": PASSWORD})
    assert resp.status == 400
    assert await resp.json() == {"detail": USERNAME_PATTERN}


# /auth/me and bearer tokens

async def test_me_names_the_signed_in_user(client, alice):
    resp = await client.get("/auth/me", headers=alice.auth)
    assert resp.status == 200
    assert await resp.json() == {"user_id": str(alice.id), "username": "alice"}


async def test_a_token_from_another_service_without_sub_is_accepted_when_the_user_exists(client, config, alice):
    token = mint(config, {"user_id": str(alice.id), "username": "alice", "exp": int(time.time()) + 600})
    resp = await client.get("/auth/me", headers=bearer(token))
    assert resp.status == 200
    assert await resp.json() == {"user_id": str(alice.id), "username": "alice"}


async def test_a_token_from_another_service_is_rejected_when_the_user_does_not_exist(client, config, alice):
    token = mint(config, {"user_id": str(uuid4()), "username": "alice", "exp": int(time.time()) + 600})
    resp = await client.get("/auth/me", headers=bearer(token))
    assert resp.status == 401
    assert await resp.json() == {"detail": "token names no user"}


async def test_a_token_with_only_sub_is_accepted(client, config, alice):
    token = mint(config, {"sub": str(alice.id), "exp": int(time.time()) + 600})
    resp = await client.get("/auth/me", headers=bearer(token))
    assert resp.status == 200
    assert await resp.json() == {"user_id": str(alice.id), "username": "alice"}


def _expired(config, alice):
    now = int(time.time())
    return mint(config, {"user_id": str(alice.id), "sub": str(alice.id), "iat": now - 7200, "exp": now - 3600})


def _unsigned(config, alice):
    return jwt.encode({"user_id": str(alice.id), "exp": int(time.time()) + 600}, None, algorithm="none")


def _wrong_key(config, alice):
    return mint(config, {"user_id": str(alice.id), "exp": int(time.time()) + 600}, key="some-other-secret-key-32-bytes!!")


def _other_algorithm(config, alice):
    return mint(config, {"user_id": str(alice.id), "exp": int(time.time()) + 600}, algorithm="HS512")


def _tampered(config, alice):
    header, _, signature = mint(config, {"user_id": str(uuid4()), "exp": int(time.time()) + 600}).split(".")
    _, payload, _ = mint(config, {"user_id": str(alice.id), "exp": int(time.time()) + 600}).split(".")
    return f"{header}.{payload}.{signature}"


def _without_exp(config, alice):
    return mint(config, {"user_id": str(alice.id), "sub": str(alice.id)})


def _without_user(config, alice):
    return mint(config, {"username": "alice", "exp": int(time.time()) + 600})


def _user_id_not_a_uuid(config, alice):
    return mint(config, {"user_id": "alice", "exp": int(time.time()) + 600})


@pytest.mark.parametrize("make_token, detail", [
    (_expired, "token has expired"),
    (_unsigned, "invalid token"),
    (_wrong_key, "invalid token"),
    pytest.param(_other_algorithm, "invalid token",
                 marks=pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")),
    (_tampered, "invalid token"),
    (_without_exp, "invalid token"),
    (lambda config, alice: "not-a-jwt", "invalid token"),
    (lambda config, alice: "a.b.c", "invalid token"),
    (lambda config, alice: alice.token[:-4], "invalid token"),
    (_without_user, "token names no user"),
    (_user_id_not_a_uuid, "token names no user"),
], ids=["expired", "alg-none", "wrong-key", "other-algorithm", "tampered", "no-exp", "garbage",
        "three-dots", "truncated", "no-user-claim", "user-id-not-a-uuid"])
async def test_a_bad_token_is_401(client, config, alice, make_token, detail):
    resp = await client.get("/chat/servers", headers=bearer(make_token(config, alice)))
    assert resp.status == 401
    assert await resp.json() == {"detail": detail}


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Bearer   "},
    {"Authorization": "Basic YWxpY2U6cGFzc3dvcmQ="}, {"Authorization": "Token abc"},
], ids=["none", "empty", "scheme-only", "blank-token", "basic", "other-scheme"])
async def test_a_request_without_a_bearer_token_is_401(client, alice, headers):
    resp = await client.get("/auth/me", headers=headers)
    assert resp.status == 401
    assert await resp.json() == {"detail": "missing bearer token"}
    assert resp.headers["WWW-Authenticate"] == "Bearer"


async def test_the_bearer_scheme_is_case_insensitive(client, alice):
    resp = await client.get("/auth/me", headers={"Authorization": f"bearer {alice.token}"})
    assert resp.status == 200
    assert await resp.json() == {"user_id": str(alice.id), "username": "alice"}


async def test_a_token_used_before_is_still_refused_once_it_expires(client, config, alice):
    token = jwt.encode({"user_id": str(alice.id), "exp": int(time.time()) + 2}, config.secret_key, algorithm="HS256")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/auth/me", headers=headers)).status == 200  # verified, and remembered
    await asyncio.sleep(max(0.0, int(time.time()) + 2 - time.time()) + 0.1)
    resp = await client.get("/auth/me", headers=headers)
    assert (resp.status, await resp.json()) == (401, {"detail": "token has expired"})


async def test_a_changed_signature_is_refused_after_the_genuine_token_was_used(client, alice):
    assert (await client.get("/auth/me", headers=alice.auth)).status == 200
    forged = alice.token[:-2] + ("AA" if not alice.token.endswith("AA") else "BB")
    resp = await client.get("/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert (resp.status, await resp.json()) == (401, {"detail": "invalid token"})
