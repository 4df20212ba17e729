"""Messages that change, across two real chatd processes: edits (by REST and over sockets),
deletions and reactions race with new messages on both, and a client that disconnects and
resumes in one frame ends with exactly the state of a client that never disconnected — and of
the database."""

from __future__ import annotations

import asyncio
import itertools
import random
from urllib.parse import quote

from tests.test_gateway_processes import make_server, ws_connect

EMOJI = ["👍", "❤️", "🎉", "😂"]
CHANGE_KINDS = {"new_message", "message_updated", "message_deleted", "messages_deleted", "reaction_added",
                "reaction_removed", "reactions_cleared"}


class ChannelState:
    """A client's view of one channel, built only from the events it received."""

    def __init__(self) -> None:
        self.messages: dict[str, dict] = {}
        self.seqs: list[int] = []
        self.kinds: list[str] = []

    def apply(self, event: dict) -> None:
        kind = event["type"]
        self.seqs.append(event["eventSeq"])
        self.kinds.append(kind)
        if kind == "new_message":
            self.messages[event["id"]] = {"text": event["text"], "deleted": False, "reactions": {}}
        elif kind == "message_updated":
            self.messages[event["id"]]["text"] = event["text"]
        elif kind in ("message_deleted", "messages_deleted"):
            for message_id in event.get("ids") or [event["id"]]:
                self.messages[message_id].update(text="", deleted=True)
        elif kind == "reaction_added":
            self.messages[event["messageId"]]["reactions"].setdefault(event["emoji"], set()).add(event["userId"])
        elif kind == "reaction_removed":
            users = self.messages[event["messageId"]]["reactions"].get(event["emoji"], set())
            users.discard(event["userId"])
            if not users:
                self.messages[event["messageId"]]["reactions"].pop(event["emoji"], None)
        elif kind == "reactions_cleared":
            self.messages[event["messageId"]]["reactions"] = {}

    def visible(self) -> dict[str, tuple]:
        """What history shows: messages not deleted, their text and reaction counts."""
        return {mid: (m["text"], sorted((e, len(u)) for e, u in m["reactions"].items()))
                for mid, m in self.messages.items() if not m["deleted"]}


async def drain(ws, state: ChannelState, channel_id: str, until_seq: int, timeout: float = 60.0) -> None:
    """Apply the channel's change events until `until_seq` has arrived."""
    async with asyncio.timeout(timeout):
        while not state.seqs or state.seqs[-1] < until_seq:
            event = await ws.receive_json()
            if event["type"] in CHANGE_KINDS and event["channelId"] == channel_id:
                state.apply(event)


async def test_a_resumed_client_ends_with_the_state_of_one_that_never_left(start, http, alice, bob, carol, db):
    one, two = await start(), await start()
    server_id, channel_id = await make_server(http, one, alice, bob, carol)
    base = f"/chat/servers/{server_id}/channels/{channel_id}/messages"
    rng = random.Random(15)

    async def call(chatd, method, person, path, **body):
        async with http.request(method, chatd.url + base + path, headers=person.auth,
                                **({"json": body} if body else {})) as resp:
            assert resp.status < 500, await resp.text()
            return resp.status, (await resp.json() if resp.status in (200, 201) else None)

    steady_state, leaving_state = ChannelState(), ChannelState()
    steady = await ws_connect(http, one, carol)  # never leaves
    leaving = await ws_connect(http, two, carol)
    own: dict[str, list[str]] = {"alice": [], "bob": []}
    socket_edits: list[str] = []
    edits_made = itertools.count()

    async def writer(chatd, person, rounds: int) -> None:
        for i in range(rounds):
            action = rng.random()
            mine = own[person.name]
            if action < 0.4 or not mine:
                _, body = await call(chatd, "POST", person, "", text=f"{person.name} {i}")
                mine.append(body["id"])
            elif action < 0.55:
                await call(chatd, "PATCH", person, f"/{rng.choice(mine)}", text=f"{person.name} edit {i}")
            elif action < 0.62:
                victim = mine.pop(rng.randrange(len(mine)))
                await call(chatd, "DELETE", person, f"/{victim}")
            elif action < 0.65 and person.name == "alice" and len(own["bob"]) > 2:
                await call(chatd, "POST", person, "/bulk-delete", ids=[own["bob"].pop(), own["bob"].pop()])
            else:
                target = rng.choice(own["alice"] + own["bob"])
                emoji = quote(rng.choice(EMOJI))
                method = "PUT" if rng.random() < 0.7 else "DELETE"
                await call(chatd, method, person, f"/{target}/reactions/{emoji}/@me")

    async def socket_editor(chatd, person, rounds: int) -> None:
        """Edits over a socket (edit_message) racing the rest, each awaited: its message_updated,
        or the error of a message deleted meanwhile."""
        ws = await ws_connect(http, chatd, person)
        for _ in range(rounds):
            # Numbered across every write: the same text again would change nothing and send nothing.
            n = next(edits_made)
            target, text, nonce = rng.choice(own[person.name] or [None]), f"{person.name} socket edit {n}", f"e{n}"
            if target is None:
                await asyncio.sleep(0.01)
                continue
            await ws.send_json({"type": "edit_message", "serverId": server_id, "channelId": channel_id,
                                "messageId": target, "text": text, "nonce": nonce})
            while True:
                event = await ws.receive_json(timeout=30)
                if event["type"] == "message_updated" and (event["id"], event["text"]) == (target, text):
                    socket_edits.append(target)
                    break
                if event["type"] == "error" and event.get("nonce") == nonce:
                    break
        await ws.close()

    async def write(rounds: int) -> None:
        await asyncio.gather(writer(one, alice, rounds), writer(two, bob, rounds), writer(two, alice, rounds // 2),
                             socket_editor(one, bob, rounds // 2))

    async def last_event_seq() -> int:
        return await db.fetchval("SELECT last_event_seq FROM chatchannel WHERE id = $1", channel_id)

    await write(40)  # both clients connected
    await drain(leaving, leaving_state, channel_id, await last_event_seq())
    await leaving.close()
    before_leaving = len(leaving_state.seqs)
    await write(60)  # one of them away
    # Every kind of change happens while it is away, whatever the writers' interleaving drew.
    _, away = await call(one, "POST", alice, "", text="while you were away")
    await call(two, "PATCH", alice, f"/{away['id']}", text="while you were away, edited")
    await call(one, "PUT", bob, f"/{away['id']}/reactions/{quote(EMOJI[0])}/@me")
    await call(two, "DELETE", bob, f"/{away['id']}/reactions/{quote(EMOJI[0])}/@me")
    await call(one, "DELETE", alice, f"/{away['id']}")
    leaving = await ws_connect(http, one, carol)  # back, on the other process this time
    await leaving.send_json({"type": "resume", "channels": {channel_id: leaving_state.seqs[-1]}})
    await write(40)  # changes go on while it replays
    last = await last_event_seq()
    await drain(steady, steady_state, channel_id, last)
    await drain(leaving, leaving_state, channel_id, last)

    assert len(socket_edits) > 10  # most of the socket's edits were made, none lost meanwhile
    assert steady_state.seqs == list(range(1, last + 1))  # gapless, in order, once each
    assert leaving_state.seqs == list(range(1, last + 1))
    assert leaving_state.messages == steady_state.messages
    # It was away while every kind of change happened, and got them from the replay.
    assert {"new_message", "message_updated", "message_deleted", "reaction_added",
            "reaction_removed"} <= set(leaving_state.kinds[before_leaving:])
    history: list[dict] = []
    while True:  # every page of the history, newest first
        status, page = await call(one, "GET", carol, f"?limit=100&before={history[0]['id']}" if history else "?limit=100")
        assert status == 200
        history[:0] = page
        if len(page) < 100:
            break
    shown = {m["id"]: (m["text"], sorted((r["emoji"], r["count"]) for r in m["reactions"])) for m in history}
    assert shown == steady_state.visible()
