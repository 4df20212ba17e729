"""The send rule is written twice, by necessity: in permissions.check_send, which explains a
refusal, and inside insert_message_batch, which makes it hold at the moment of the insert.
They must agree for every role and every kind of channel."""

from __future__ import annotations

import itertools
import uuid

import pytest

from chatd.domain import permissions
from chatd.domain.errors import Refused

ROLES = [None, "MEMBER", "MODERATOR", "ADMIN"]
CHANNELS = ["TEXT", "VOICE", "another server's", "missing"]


@pytest.fixture
async def world(db, app_queries, make_user):
    """One server with a TEXT and a VOICE channel, another server with its own channel."""
    owner = await make_user("owner")
    server = await app_queries.create_server(db, name="Here", icon=None, creator_id=owner.id)
    elsewhere = await app_queries.create_server(db, name="Elsewhere", icon=None, creator_id=owner.id)
    channels = {}
    for kind in ("TEXT", "VOICE"):
        row = await app_queries.create_channel(db, notify_channel="test_permissions", server_id=server["id"],
                                               name=kind.lower(), type=kind, position=None)
        channels[kind] = row["id"]
    other = await app_queries.create_channel(db, notify_channel="test_permissions", server_id=elsewhere["id"],
                                             name="there", type="TEXT", position=None)
    channels["another server's"] = other["id"]
    channels["missing"] = uuid.uuid4()
    return server["id"], channels


async def test_the_insert_and_check_send_agree_on_every_role_and_channel(db, app_queries, make_user, world):
    server_id, channels = world
    verdicts = {}
    for n, (role, channel) in enumerate(itertools.product(ROLES, CHANNELS)):
        sender = await make_user(f"sender{n}")
        if role is not None:
            [_ async for _ in app_queries.add_members(db, notify_channel="test_permissions", server_id=server_id,
                                                      user_ids=[sender.id], roles=[role], invite_code=None)]
        access = await app_queries.get_channel_access(db, server_id=server_id, channel_id=channels[channel],
                                                      user_id=sender.id)
        try:
            permissions.check_send(*((None, None) if access is None else (access["role"], access["channel_type"])))
            allowed_by_python = True
        except Refused:
            allowed_by_python = False
        stored = [row async for row in app_queries.insert_message_batch(
            db, notify_channel="test_permissions", server_ids=[server_id], channel_ids=[channels[channel]],
            user_ids=[sender.id], usernames=[sender.name], texts=["hi"], nonces=[None], reply_to_ids=[None])]
        verdicts[role, channel] = (allowed_by_python, bool(stored))
    assert {key: sql for key, (python, sql) in verdicts.items() if python != sql} == {}
    # And the rule is the one the product means: any member, TEXT channels of that server only.
    assert {key for key, (python, _) in verdicts.items() if python} == {
        ("MEMBER", "TEXT"), ("MODERATOR", "TEXT"), ("ADMIN", "TEXT")}
