"""The send and edit rules are written twice, by necessity: in permissions.check_send and
check_edit, which explain a refusal, and inside insert_message_batch and edit_messages, which
make them hold at the moment of the change. They must agree in every case."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

import pytest

from chatd.domain import permissions
from chatd.domain.errors import Refused
from chatd.domain.mentions import NONE, flattened
from chatd.domain.schemas import User

ROLES = [None, "MEMBER", "MODERATOR", "ADMIN"]
CHANNELS = ["TEXT", "VOICE", "another server's", "missing"]
NO_MENTIONS = flattened([NONE])  # what a text without mentions sends the statements


@pytest.fixture
async def world(db, app_queries, make_user):
    """One server with a TEXT and a VOICE channel, another server with its own channel: the
    first server's id, the channels' ids by kind, the other server's id."""
    owner = await make_user("owner")
    server = await app_queries.create_server(db, name="Here", icon=None, creator_id=owner.id)
    elsewhere = await app_queries.create_server(db, name="Elsewhere", icon=None, creator_id=owner.id)
    channels = {}
    for kind in ("TEXT", "VOICE"):
        row = await app_queries.create_channel(db, notify_channel="test_permissions", server_id=server["id"],
                                               name=kind.lower(), type=kind, position=None, category_id=None)
        channels[kind] = row["id"]
    other = await app_queries.create_channel(db, notify_channel="test_permissions", server_id=elsewhere["id"],
                                             name="there", type="TEXT", position=None, category_id=None)
    channels["another server's"] = other["id"]
    channels["missing"] = uuid.uuid4()
    return server["id"], channels, elsewhere["id"]


async def test_the_insert_and_check_send_agree_on_every_role_and_channel(db, app_queries, make_user, world):
    server_id, channels, _ = world
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
            user_ids=[sender.id], usernames=[sender.name], texts=["hi"], nonces=[None], reply_to_ids=[None], **NO_MENTIONS, mention_replies=[True],
            attach_ords=[], attach_ids=[])]
        verdicts[role, channel] = (allowed_by_python, bool(stored))
    assert {key: sql for key, (python, sql) in verdicts.items() if python != sql} == {}
    # And the rule is the one the product means: any member, TEXT channels of that server only.
    assert {key for key, (python, _) in verdicts.items() if python} == {
        ("MEMBER", "TEXT"), ("MODERATOR", "TEXT"), ("ADMIN", "TEXT")}


EDITORS = ["the author", "the author, gone from the server", "another MEMBER", "a MODERATOR", "an ADMIN",
           "a stranger"]
MESSAGES = ["live", "deleted", "missing", "in another server's channel"]
WINDOWS = [None, timedelta(0), timedelta(days=1)]


async def test_the_edit_statement_and_check_edit_agree_on_every_editor_message_and_window(
        db, app_queries, make_user, world):
    server_id, channels, elsewhere_id = world

    async def join(user, role: str, server=server_id) -> None:
        [_ async for _ in app_queries.add_members(db, notify_channel="test_permissions", server_id=server,
                                                  user_ids=[user.id], roles=[role], invite_code=None)]

    async def write(author, server, channel_id) -> uuid.UUID:
        [row] = [row async for row in app_queries.insert_message_batch(
            db, notify_channel="test_permissions", server_ids=[server], channel_ids=[channel_id],
            user_ids=[author.id], usernames=[author.name], texts=["hi"], nonces=[None], reply_to_ids=[None], **NO_MENTIONS, mention_replies=[True],
            attach_ords=[], attach_ids=[])]
        return row["id"]

    async def change(statement, **params) -> list:
        async with db.transaction():
            [_ async for _ in app_queries.lock_channels_for_changes(db, server_ids=[server_id],
                                                                    channel_ids=[channels["TEXT"]])]
            return [row async for row in getattr(app_queries, statement)(
                db, notify_channel="test_permissions", ords=[1], channel_ids=[channels["TEXT"]], **params)]

    verdicts = {}
    for n, (editor, message, window) in enumerate(itertools.product(EDITORS, MESSAGES, WINDOWS)):
        author = await make_user(f"author{n}")
        await join(author, "MEMBER")
        message_id = uuid.uuid4()  # missing
        if message in ("live", "deleted"):
            message_id = await write(author, server_id, channels["TEXT"])
        if message == "deleted":
            await change("delete_messages", message_ids=[message_id], bulks=[False])
        if message == "in another server's channel":
            await join(author, "MEMBER", elsewhere_id)
            message_id = await write(author, elsewhere_id, channels["another server's"])
        role = {"another MEMBER": "MEMBER", "a MODERATOR": "MODERATOR", "an ADMIN": "ADMIN"}.get(editor)
        person = author if editor.startswith("the author") else await make_user(f"editor{n}")
        if role is not None:
            await join(person, role)
        if editor == "the author, gone from the server":
            await app_queries.remove_member(db, notify_channel="test_permissions", server_id=server_id,
                                            user_id=author.id)
        facts = await app_queries.get_message_access(db, server_id=server_id, channel_id=channels["TEXT"],
                                                     message_id=message_id, user_id=person.id)
        try:
            permissions.check_edit(User(person.id, person.name), permissions.MessageFacts.of(facts), window)
            allowed_by_python = True
        except Refused:
            allowed_by_python = False
        edited = await change("edit_messages", server_ids=[server_id], message_ids=[message_id], texts=[f"edit {n}"],
                              user_ids=[person.id], windows=[window], **NO_MENTIONS)
        verdicts[editor, message, window] = (allowed_by_python, bool(edited))
    assert {key: sql for key, (python, sql) in verdicts.items() if python != sql} == {}
    # And the rule is the one the product means: the author, still in the server, of a message
    # there, within the window.
    assert {key for key, (python, _) in verdicts.items() if python} == {
        ("the author", "live", None), ("the author", "live", timedelta(days=1))}


# Conversations: server_id NULL names one. Who is in it, whether the two of a 1:1 share a
# server, and a block either way.
DM_CASES = list(itertools.product(["1:1", "group"], ["in it", "not in it"], ["sharing a server", "strangers"],
                                  [None, "by the sender", "by the other"]))


async def test_the_insert_and_check_send_agree_on_conversations(db, app_queries, make_user):
    owner = await make_user("owner")
    server = await app_queries.create_server(db, name="Here", icon=None, creator_id=owner.id)
    verdicts = {}
    for n, case in enumerate(DM_CASES):
        kind, inside, shares, blocker = case
        sender, other = await make_user(f"sender{n}"), await make_user(f"other{n}")
        if shares == "sharing a server":
            [_ async for _ in app_queries.add_members(db, notify_channel="test_permissions", server_id=server["id"],
                                                      user_ids=[sender.id, other.id], roles=["MEMBER"] * 2,
                                                      invite_code=None)]
        people = [other.id, sender.id if inside == "in it" else owner.id]
        if kind == "1:1":
            low, high = sorted(people)
            dm_id = await app_queries.create_dm_pair(db, low_user_id=low, high_user_id=high)
        else:
            dm_id = await app_queries.create_group_dm(db, owner_id=other.id, user_ids=people + [owner.id]
                                                      if inside == "in it" else people)
        if blocker is not None:
            a, b = (sender, other) if blocker == "by the sender" else (other, sender)
            assert await app_queries.block_user(db, user_id=a.id, blocked_id=b.id)
        access = await app_queries.get_channel_access(db, server_id=None, channel_id=dm_id, user_id=sender.id)
        try:
            permissions.check_send(*((None, None, True) if access is None else (
                access["role"], access["channel_type"], True, access["strangers"], access["blocked"])))
            allowed_by_python = True
        except Refused:
            allowed_by_python = False
        stored = [row async for row in app_queries.insert_message_batch(
            db, notify_channel="test_permissions", server_ids=[None], channel_ids=[dm_id], user_ids=[sender.id],
            usernames=[sender.name], texts=["hi"], nonces=[None], reply_to_ids=[None], **NO_MENTIONS, mention_replies=[True],
            attach_ords=[], attach_ids=[])]
        verdicts[case] = (allowed_by_python, bool(stored))
    assert {key: sql for key, (python, sql) in verdicts.items() if python != sql} == {}
    # Anyone in a conversation sends into it; in a 1:1, only while the two share a server and
    # neither has blocked the other.
    assert {key for key, (python, _) in verdicts.items() if python} == {
        ("group", "in it", shares, blocker) for shares in ("sharing a server", "strangers")
        for blocker in (None, "by the sender", "by the other")} | {("1:1", "in it", "sharing a server", None)}


async def test_a_conversation_is_no_channel_of_a_server_and_a_server_channel_no_conversation(db, app_queries,
                                                                                             make_user, world):
    server_id, channels, _ = world
    sender, other = await make_user("sender"), await make_user("other")
    low, high = sorted([sender.id, other.id])
    dm_id = await app_queries.create_dm_pair(db, low_user_id=low, high_user_id=high)
    for server, channel in ((server_id, dm_id), (None, channels["TEXT"])):
        stored = [row async for row in app_queries.insert_message_batch(
            db, notify_channel="test_permissions", server_ids=[server], channel_ids=[channel], user_ids=[sender.id],
            usernames=[sender.name], texts=["hi"], nonces=[None], reply_to_ids=[None], **NO_MENTIONS, mention_replies=[True],
            attach_ords=[], attach_ids=[])]
        assert stored == []


async def test_the_edit_statement_and_check_edit_agree_in_conversations(db, app_queries, make_user):
    owner = await make_user("owner")
    server = await app_queries.create_server(db, name="Here", icon=None, creator_id=owner.id)
    verdicts = {}
    cases = [(kind, editor) for kind in ("1:1", "group")
             for editor in ("the author", "the other one", "an outsider", "the author, gone from it")
             if (kind, editor) != ("1:1", "the author, gone from it")]  # nobody leaves a 1:1
    for n, (kind, editor) in enumerate(cases):
        author, other = await make_user(f"author{n}"), await make_user(f"other{n}")
        [_ async for _ in app_queries.add_members(db, notify_channel="test_permissions", server_id=server["id"],
                                                  user_ids=[author.id, other.id], roles=["MEMBER"] * 2,
                                                  invite_code=None)]
        if kind == "1:1":
            low, high = sorted([author.id, other.id])
            dm_id = await app_queries.create_dm_pair(db, low_user_id=low, high_user_id=high)
        else:
            dm_id = await app_queries.create_group_dm(db, owner_id=other.id, user_ids=[other.id, author.id])
        [row] = [row async for row in app_queries.insert_message_batch(
            db, notify_channel="test_permissions", server_ids=[None], channel_ids=[dm_id], user_ids=[author.id],
            usernames=[author.name], texts=["hi"], nonces=[None], reply_to_ids=[None], **NO_MENTIONS, mention_replies=[True],
            attach_ords=[], attach_ids=[])]
        person = {"the other one": other, "an outsider": await make_user(f"outsider{n}")}.get(editor, author)
        if editor == "the author, gone from it":
            await app_queries.remove_dm_recipient(db, notify_channel="test_permissions", channel_id=dm_id,
                                                  user_id=author.id)
        facts = await app_queries.get_message_access(db, server_id=None, channel_id=dm_id, message_id=row["id"],
                                                     user_id=person.id)
        try:
            permissions.check_edit(User(person.id, person.name), permissions.MessageFacts.of(facts, in_dm=True), None)
            allowed_by_python = True
        except Refused:
            allowed_by_python = False
        async with db.transaction():
            [_ async for _ in app_queries.lock_channels_for_changes(db, server_ids=[None], channel_ids=[dm_id])]
            edited = [row async for row in app_queries.edit_messages(
                db, notify_channel="test_permissions", ords=[1], server_ids=[None], channel_ids=[dm_id],
                message_ids=[row["id"]],
                texts=[f"edit {n}"], user_ids=[person.id], windows=[None], **NO_MENTIONS)]
        verdicts[kind, editor] = (allowed_by_python, bool(edited))
    assert {key: sql for key, (python, sql) in verdicts.items() if python != sql} == {}
    assert {key for key, (python, _) in verdicts.items() if python} == {("1:1", "the author"), ("group", "the author")}
