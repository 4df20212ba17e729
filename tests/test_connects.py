"""Who is connecting: WebSocket connects that arrive together share one lookup of their users
and servers, and each still gets exactly its own."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from chatd.store.pool import create_pool
from chatd.domain.tokens import Claims
from chatd.gateway.connects import ConnectLookup


def described(entry):
    if entry is None:
        return None
    user, servers, _dms, _unreads = entry
    return user.username, [s.name for s in servers]


@pytest.fixture
async def pool(database_url):
    pool = await create_pool(database_url, max_size=2)
    yield pool
    await pool.close()


async def test_connects_arriving_together_each_get_their_own_user_and_servers(client, pool, app_queries, alice, bob,
                                                                                carol, server, add_member):
    await add_member(bob)
    second = await client.post("/chat/servers", json={"name": "Second"}, headers=alice.auth)
    assert second.status == 201
    lookup = ConnectLookup(pool, app_queries)
    stranger = uuid4()
    found = await asyncio.gather(*(lookup.user_and_servers(Claims(uid, 0)) for uid in (alice.id, bob.id, stranger,
                                                                                       carol.id, alice.id)))
    assert [described(entry) for entry in found] == [("alice", ["Guild", "Second"]), ("bob", ["Guild"]), None, ("carol", []),
                     ("alice", ["Guild", "Second"])]
    assert [s.role for s in found[1][1]] == ["MEMBER"]
