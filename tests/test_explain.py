"""Every hot query is served by an index: EXPLAIN chatd's own SQL over 100,000 messages (and
3,000 users, 200,000 reactions) and fail on a sequential scan of chatmessage, servermembership,
users, message_reaction or its counts, or chatd_node_user."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest

# Not user_presence: at the 3,000 users here, hashing its online third is cheaper than looking
# each member up, and PostgreSQL rightly picks that.
BIG_TABLES = {"chatmessage", "servermembership", "users", "message_reaction", "message_reaction_count",
              "chatd_node_user"}


@pytest.fixture(scope="module")
def history(database_url, test_queries) -> None:
    """The sample history, filled once for the module: its tests only read it (EXPLAIN, and
    EXPLAIN ANALYZE of reads), and filling it took most of each test's time."""

    async def fill() -> None:
        con = await asyncpg.connect(database_url)
        try:
            await test_queries.reset_tables(con)
            await test_queries.fill_history(con)
            await test_queries.fill_reactions(con)
        finally:
            await con.close()

    asyncio.run(fill())


@pytest.fixture
async def db(database_url, history):
    """A connection to the sample history (this module's own `db`: conftest's empties the tables)."""
    con = await asyncpg.connect(database_url)
    yield con
    await con.close()


def seq_scans(plan: dict) -> list[str]:
    """The big tables a plan (or any node under it) reads with a sequential scan."""
    found = []
    if plan["Node Type"] == "Seq Scan" and plan.get("Relation Name") in BIG_TABLES:
        found.append(plan["Relation Name"])
    for child in plan.get("Plans", []):
        found += seq_scans(child)
    return found


async def explain(db, queries, name: str, analyze: bool = False, **params) -> dict:
    """The plan PostgreSQL picks for chatd's query `name` with these parameter values (with
    `analyze`, run: each node says how often it ran).

    This file is the one place where SQL text is composed in Python: the query itself is the
    app's own (aiosql's processed, $n-style text), only prefixed with EXPLAIN (or PREPARE, in
    generic_plan). The $n order is the adapter's, so the parameters are passed in that order.
    """
    sql = getattr(queries, name).sql
    order = queries.driver_adapter.var_sorted[name]
    assert sorted(order) == sorted(params), f"{name} takes {order}"
    options = "ANALYZE, FORMAT JSON" if analyze else "FORMAT JSON"
    result = await db.fetchval(f"EXPLAIN ({options}) " + sql, *(params[p] for p in order))
    return json.loads(result)[0]["Plan"]


# Mentions of every kind in the first message of a send or edit batch: by id, by name, @everyone,
# @here and a reply (as chatd.domain.mentions.flattened makes them).
EDIT_MENTIONS = dict(everyones=[True, False], heres=[True, False], mention_ords=[1, 1],
                     mention_ids=["00000000-0000-0000-0000-000000000001", None], mention_names=[None, "bulk1500"])
MENTIONS = dict(EDIT_MENTIONS, mention_replies=[True, True])

# chatd's hot queries with real parameter values from the sample history.
HOT_QUERIES = {
    "history page": ("list_messages_page",
                     lambda s: dict(channel_id=s["channel_id"], lim=50, skip=0, user_id=s["user_id"])),
    "history page, offset": ("list_messages_page",
                             lambda s: dict(channel_id=s["channel_id"], lim=100, skip=200, user_id=s["user_id"])),
    "history before": ("list_messages_before", lambda s: dict(
        before_id=s["message_id"], channel_id=s["channel_id"], lim=50, skip=0, user_id=s["user_id"])),
    "history after seq": ("list_messages_after_seq",
                          lambda s: dict(channel_id=s["channel_id"], after_seq=2500, lim=100, user_id=s["user_id"])),
    "resume by seq": ("list_message_notes_after_seq",
                      lambda s: dict(channel_id=s["channel_id"], after_seq=2500, lim=100)),
    "before check": ("message_exists_in_channel",
                     lambda s: dict(message_id=s["message_id"], channel_id=s["channel_id"])),
    "membership check": ("get_member_role", lambda s: dict(server_id=s["server_id"], user_id=s["user_id"])),
    "channel access": ("get_channel_access",
                       lambda s: dict(channel_id=s["channel_id"], server_id=s["server_id"], user_id=s["user_id"])),
    "admin count": ("count_server_admins", lambda s: dict(server_id=s["server_id"])),
    "server of member": ("get_server_for_member", lambda s: dict(server_id=s["server_id"], user_id=s["user_id"])),
    "my servers": ("list_servers_of_user", lambda s: dict(user_id=s["user_id"])),
    "login, any case": ("get_user_by_username", lambda s: dict(username="BULK1500")),
    "token checks": ("get_token_users", lambda s: dict(user_ids=[s["user_id"]] * 2, jtis=[s["message_id"], None])),
    "websocket connects": ("get_users_with_servers",
                           lambda s: dict(user_ids=[s["user_id"], s["user_id"]], jtis=[s["message_id"]])),
    "account deletion, locks": ("lock_servers_of_member", lambda s: dict(user_id=s["user_id"])),
    "account deletion, last ADMIN": ("list_servers_only_admin", lambda s: dict(user_id=s["user_id"])),
    "send (group commit)": ("insert_message_batch", lambda s: dict(
        notify_channel="explain", server_ids=[s["server_id"]] * 2, channel_ids=[s["channel_id"]] * 2,
        user_ids=[s["user_id"]] * 2, usernames=["a", "a"], texts=["x", "y"], nonces=["n", None],
        reply_to_ids=[s["message_id"], None], **MENTIONS, attach_ords=[1], attach_ids=[s["message_id"]])),
    "edit and delete rules": ("get_message_access", lambda s: dict(
        server_id=s["server_id"], channel_id=s["channel_id"], message_id=s["message_id"], user_id=s["user_id"])),
    "bulk delete rule": ("get_bulk_delete_access", lambda s: dict(
        server_id=s["server_id"], channel_id=s["channel_id"], message_ids=[s["message_id"]], user_id=s["user_id"])),
    "lock for changes": ("lock_channels_for_changes",
                         lambda s: dict(server_ids=[s["server_id"]], channel_ids=[s["channel_id"]])),
    "earlier versions": ("list_message_edits", lambda s: dict(channel_id=s["channel_id"], message_id=s["message_id"])),
    "delete": ("delete_messages", lambda s: dict(
        notify_channel="explain", ords=[1, 2], channel_ids=[s["channel_id"]] * 2,
        message_ids=[s["message_id"], s["user_id"]], bulks=[False, True])),
    "reply check": ("live_message_in_channel",
                    lambda s: dict(message_id=s["message_id"], channel_id=s["channel_id"])),
    "resume, channels": ("list_readable_channels", lambda s: dict(user_id=s["user_id"], channel_ids=[s["channel_id"]])),
    "resume, changes": ("list_changes_after",
                        lambda s: dict(channel_ids=[s["channel_id"]], after_event_seqs=[2500], lim=200)),
    "react and unreact": ("react", lambda s: dict(
        notify_channel="explain", ords=[1, 2], channel_ids=[s["channel_id"]] * 2,
        message_ids=[s["message_id"]] * 2, emojis=["x", "y"], user_ids=[s["user_id"]] * 2, adds=[True, False],
        max_emoji=20)),
    "clear reactions": ("clear_reactions", lambda s: dict(
        notify_channel="explain", ords=[1], channel_ids=[s["channel_id"]], message_ids=[s["message_id"]])),
    "who reacted": ("list_reactors", lambda s: dict(
        channel_id=s["channel_id"], message_id=s["message_id"], emoji="x", after=s["user_id"], lim=25)),
    "invite preview, member count": ("get_invite_preview", lambda s: dict(code="ABCDEFGHJK")),
    "invite accept rule": ("get_invite_access", lambda s: dict(code="ABCDEFGHJK", user_id=s["user_id"])),
    "join by invite": ("add_members", lambda s: dict(
        notify_channel="explain", server_id=s["server_id"], user_ids=[s["user_id"]], roles=["MEMBER"],
        invite_code="ABCDEFGHJK")),
    "invite events' recipients": ("list_server_staff", lambda s: dict(server_id=s["server_id"])),
    "bans": ("list_bans", lambda s: dict(server_id=s["server_id"])),
    "search, a rare term": ("search_messages", lambda s: search_params(s, "12345")),
    "search, a term in one message of ten": ("search_messages", lambda s: search_params(s, "tenth")),
    "search by relevance, a rare term": ("search_messages", lambda s: search_params(s, "12345", by_relevance=True)),
    "unreads kept": ("keep_unread_counts", lambda s: dict(user_id=s["user_id"], channel_ids=[s["channel_id"]])),
    "ack": ("set_read_state", lambda s: dict(
        notify_channel="explain", user_id=s["user_id"], server_id=s["server_id"], channel_id=s["channel_id"], seq=10,
        forward=True, origin=None)),
    "ack rule": ("get_read_access",
                 lambda s: dict(user_id=s["user_id"], server_id=s["server_id"], channel_id=s["channel_id"])),
    "server presences": ("list_presences", lambda s: dict(server_id=s["server_id"], status="online",
                                                          after=s["user_id"], lim=100)),
    "presence changes": ("change_presences", lambda s: dict(
        notify_channel="explain", node_id=s["user_id"], up_ids=[s["user_id"]], gone_node_ids=[s["server_id"]],
        gone_user_ids=[s["user_id"]], status_user_ids=[s["user_id"]], statuses=["idle"], dead_seconds=20)),
    "presence rooms": ("get_presence_rooms", lambda s: dict(user_id=s["user_id"])),
    "catch-up": ("list_changes_of_servers_since",
                 lambda s: dict(server_ids=[s["server_id"]], since=datetime.now(timezone.utc) - timedelta(seconds=30))),
    # Conversations (server_id NULL): the same statements, reading channel_reader's DM arm.
    "send into a conversation": ("insert_message_batch", lambda s: dict(
        notify_channel="explain", server_ids=[None] * 2, channel_ids=[s["channel_id"]] * 2,
        user_ids=[s["user_id"]] * 2, usernames=["a", "a"], texts=["x", "y"], nonces=["n", None],
        reply_to_ids=[s["message_id"], None], **MENTIONS, attach_ords=[1], attach_ids=[s["message_id"]])),
    "conversation access": ("get_channel_access",
                            lambda s: dict(channel_id=s["channel_id"], server_id=None, user_id=s["user_id"])),
    "conversation edit rules": ("get_message_access", lambda s: dict(
        server_id=None, channel_id=s["channel_id"], message_id=s["message_id"], user_id=s["user_id"])),
    "conversation bulk delete rule": ("get_bulk_delete_access", lambda s: dict(
        server_id=None, channel_id=s["channel_id"], message_ids=[s["message_id"]], user_id=s["user_id"])),
    "lock a conversation for changes": ("lock_channels_for_changes",
                                        lambda s: dict(server_ids=[None], channel_ids=[s["channel_id"]])),
    "my conversations": ("list_dms_of_user", lambda s: dict(user_id=s["user_id"])),
    "a conversation": ("get_dm", lambda s: dict(channel_id=s["channel_id"], user_id=s["user_id"])),
    "opening a conversation": ("get_dm_candidates", lambda s: dict(user_id=s["user_id"], user_ids=[s["user_id"]])),
    "a group's people change": ("get_dm_change_facts", lambda s: dict(
        channel_id=s["channel_id"], user_id=s["user_id"], target_id=s["user_id"])),
    "blocks": ("list_blocks", lambda s: dict(user_id=s["user_id"])),
    "mentions": ("list_mentions", lambda s: dict(user_id=s["user_id"], before_id=None, lim=50)),
    "mentions before": ("list_mentions", lambda s: dict(user_id=s["user_id"], before_id=s["message_id"], lim=50)),
    "push recipients": ("list_push_candidates", lambda s: dict(message_ids=[s["message_id"]])),
    "queueing pushes, past the connected": ("queue_pushes", lambda s: dict(
        user_ids=[s["user_id"]], kinds=["dm"], message_ids=[s["message_id"]], channel_ids=[s["channel_id"]],
        server_ids=[None], from_ids=[s["user_id"]], from_names=["a"], previews=["x"], ttl_seconds=60)),
    "serving a file": ("get_served_attachment", lambda s: dict(id=s["message_id"])),
    "explaining a refused attachment": ("count_attachable", lambda s: dict(
        uploader_id=s["user_id"], channel_id=s["channel_id"], ids=[s["message_id"]])),
}


async def test_hot_queries_never_scan_messages_or_memberships_sequentially(db, test_queries, app_queries):
    sample = await test_queries.get_history_sample(db)
    assert sample["message_id"] is not None
    plans = {label: await explain(db, app_queries, name, **params(sample))
             for label, (name, params) in HOT_QUERIES.items()}
    scans = {label: seq_scans(plan) for label, plan in plans.items() if seq_scans(plan)}
    assert scans == {}, "\n".join(json.dumps(plans[label], indent=1) for label in scans)
    # Keyset paging starts at the anchor: the bound is an index condition, not a filter that
    # walks every newer message first.
    keyset = [n for n in nodes(plans["history before"]) if "created_at" in n.get("Index Cond", "")]
    assert keyset, json.dumps(plans["history before"], indent=1)
    # The mentions inbox reads the user's mentions and each channel's @everyone messages from
    # their indexes, newest first.
    for label in ("mentions", "mentions before"):
        used = {n.get("Index Name") for n in nodes(plans[label])}
        assert {"ix_message_mention_user_id_created_at", "ix_chatmessage_everyone"} <= used, \
            json.dumps(plans[label], indent=1)
    # Search reads the GIN index of live messages by relevance, and newest first through its
    # probe (search_probe, which reads nothing else: the test after the next shows it); newest
    # first, a common term walks each readable channel from its newest, never every channel's
    # messages from the newest (the test below shows which way runs).
    expected = {"search, a rare term": "search_probe",
                "search by relevance, a rare term": "ix_chatmessage_search_vector",
                "search, a term in one message of ten": "ix_chatmessage_channel_id_created_at_id"}
    for label, index in expected.items():
        used = {n.get("Index Name") or n.get("Function Name") for n in nodes(plans[label])}
        assert index in used and "ix_chatmessage_created_at" not in used, json.dumps(plans[label], indent=1)


async def test_edits_which_run_inside_a_function_scan_messages_and_memberships_by_index(db, test_queries, app_queries):
    """An edit's statement runs inside make_edits (migration 0035), where EXPLAIN does not see:
    the scans its runs made are counted in their transaction instead (rolled back, so the
    sample stays as it is), over seven edits of the sample message by the sample member (made
    its author there), of which PL/pgSQL plans the last ones once for all (its generic plan)."""
    sample = await test_queries.get_history_sample(db)
    changed = []
    transaction = db.transaction()
    await transaction.start()
    try:
        await test_queries.set_message_author(db, message_id=sample["message_id"], user_id=sample["user_id"])
        for n in range(7):
            rows = [row async for row in app_queries.edit_messages(
                db, notify_channel="explain", ords=[1, 2], server_ids=[sample["server_id"]] * 2,
                channel_ids=[sample["channel_id"]] * 2, message_ids=[sample["message_id"], sample["user_id"]],
                texts=[f"edit {n}", "y"], user_ids=[sample["user_id"]] * 2, windows=[None, timedelta(minutes=15)],
                **EDIT_MENTIONS)]
            changed += [row["changed"] for row in rows]
        scans = [tuple(row) async for row in test_queries.list_seq_scans_in_transaction(db, tables=list(BIG_TABLES))]
    finally:
        await transaction.rollback()
    assert changed == [True] * 7  # each edit was made (the second item names no message)
    assert scans == []


async def test_search_reads_a_rare_terms_matches_from_the_gin_index_and_a_common_term_from_the_readers_channels(
        db, test_queries, app_queries):
    """What each search runs (EXPLAIN ANALYZE: the way not taken is never executed). A rare term:
    its matches from the GIN index, no walk. A common one: the probe's 1,000 matches, then only
    the reader's two channels (of twenty), each walked from its newest; no walk of every
    channel's messages, whose newer ones the reader cannot read."""
    sample = await test_queries.get_history_sample(db)
    rare = await explain(db, app_queries, "search_messages", analyze=True, **search_params(sample, "12345"))
    ran = [n for n in nodes(rare) if n.get("Actual Loops")]
    probes = [n for n in ran if n.get("Function Name") == "search_probe"]
    assert len(probes) == 1 and probes[0]["Actual Rows"] < 1000, json.dumps(rare, indent=1)
    assert not {"ix_chatmessage_channel_id_created_at_id", "ix_chatmessage_created_at"} & {
        n.get("Index Name") for n in ran}, json.dumps(rare, indent=1)
    common = await explain(db, app_queries, "search_messages", analyze=True, **search_params(sample, "tenth"))
    ran = [n for n in nodes(common) if n.get("Actual Loops")]
    probes = [n for n in ran if n.get("Function Name") == "search_probe"]
    reads = [n for n in ran if n.get("Relation Name") == "chatmessage"]
    walks = [n for n in reads if n.get("Index Name") == "ix_chatmessage_channel_id_created_at_id"]
    by_id = [n for n in reads if n.get("Index Name") == "chatmessage_pkey"]
    assert len(probes) == 1 and probes[0]["Actual Rows"] == 1000, json.dumps(common, indent=1)
    assert len(walks) == 1 and walks[0]["Actual Loops"] == 2 and walks[0]["Scan Direction"] == "Backward", \
        json.dumps(common, indent=1)
    assert len(reads) == len(walks) + len(by_id), json.dumps(common, indent=1)
    # A generic plan (no term to estimate) takes the same ways.
    generic = await generic_plan(db, app_queries, "search_messages")
    used = {n.get("Index Name") for n in nodes(generic)}
    assert "ix_chatmessage_channel_id_created_at_id" in used, json.dumps(generic, indent=1)
    assert "search_probe" in {n.get("Function Name") for n in nodes(generic)}, json.dumps(generic, indent=1)
    assert "ix_chatmessage_created_at" not in used and not seq_scans(generic), json.dumps(generic, indent=1)


async def test_the_search_probe_reads_the_gin_index_where_the_planner_would_read_the_table(db, test_queries):
    """Where the planner finds reading the table cheaper (here: index pages made dear), the
    probe still reads the GIN index: a rare term must not cost a read of every message."""
    await db.execute("SET random_page_cost = 1000")
    try:
        await test_queries.flush_stats(db)
        before = await test_queries.count_message_reads(db)
        assert await test_queries.probe_search(db, q="12345") == 1
        await test_queries.flush_stats(db)
        after = await test_queries.count_message_reads(db)
    finally:
        await db.execute("RESET random_page_cost")
    assert (after["seq_scans"] - before["seq_scans"], after["gin_scans"] - before["gin_scans"]) == (0, 1)


def search_params(sample, q: str, by_relevance: bool = False) -> dict:
    return dict(user_id=sample["user_id"], q=q, language="simple", server_id=None, channel_id=None, author_id=None,
                has_link=False, has_attachment=False, has_mention=False, after=None, before=None,
                by_relevance=by_relevance, cursor_rank=None,
                cursor_created_at=None, cursor_id=None, lim=26)


def nodes(plan: dict) -> list[dict]:
    return [plan] + [node for child in plan.get("Plans", []) for node in nodes(child)]


async def generic_plan(db, queries, name: str, **params) -> dict:
    """The plan PostgreSQL makes for chatd's query `name` once for every parameter value (a
    prepared statement's generic plan, which chatd's pooled connections run after five uses).
    Without `params`, EXPLAIN runs nothing and the parameters are NULLs; with them (values
    whose text PostgreSQL reads back), EXPLAIN ANALYZE runs it: each node says how often it
    ran. EXECUTE takes no bind parameters, so each value reaches it as a setting's text, cast
    to the parameter's type."""
    order = queries.driver_adapter.var_sorted[name]
    if params:
        assert sorted(order) == sorted(params), f"{name} takes {order}"
    await db.execute("SET plan_cache_mode = force_generic_plan")
    await db.execute(f"PREPARE generic AS {getattr(queries, name).sql}")
    try:
        arguments = ["NULL"] * len(order)
        if params:
            types = await db.fetchval("SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = 'generic'")
            for n, key in enumerate(order, 1):
                await db.execute("SELECT set_config($1, $2, false)", f"explain.p{n}", str(params[key]))
            arguments = [f"current_setting('explain.p{n}')::{kind}" for n, kind in enumerate(types, 1)]
        options = "ANALYZE, FORMAT JSON" if params else "FORMAT JSON"
        result = await db.fetchval(f"EXPLAIN ({options}) EXECUTE generic({', '.join(arguments)})")
    finally:
        await db.execute("DEALLOCATE generic")
        await db.execute("RESET plan_cache_mode")
    return json.loads(result)[0]["Plan"]


async def test_the_send_statements_generic_plan_probes_each_items_nonce(db, test_queries, app_queries):
    """The send statement as chatd runs it: planned once for every batch, while few messages
    have a nonce. Its earlier-message lookup must be an index condition per item (a plan that
    read the whole partial index for every item slowed every send as messages accumulated)."""
    plan = await generic_plan(db, app_queries, "insert_message_batch")
    nonce_reads = [n for n in nodes(plan) if n.get("Index Name") == "ix_chatmessage_user_id_nonce"]
    assert nonce_reads, json.dumps(plan, indent=1)
    assert all("nonce" in n.get("Index Cond", "") for n in nonce_reads), json.dumps(nonce_reads, indent=1)
    assert not seq_scans(plan), json.dumps(plan, indent=1)


async def test_the_unreads_generic_plan_reads_the_readers_rows_once(db, test_queries, app_queries):
    """GET /chat/unreads as unreads_of runs it, always: a generic plan (migration 0037), which
    takes a reader's channels for a server's average, a handful. The reader's read_state
    rows and thread follows must each be read once, whatever their number: as a plain join,
    such a plan rescanned the reader's rows for each of their channels (50 ms for a reader of
    1,000 channels), as a lookup it read them one channel at a time, and the follows were
    probed for every channel of the reader's servers (migrations 0036 and 0037 say more)."""
    sample = await test_queries.get_history_sample(db)
    # listing_of is unreads_of's statement, which EXPLAIN cannot see into: the same rows, in order.
    listed = [tuple(row) async for row in app_queries.list_unreads(db, user_id=sample["user_id"])]
    assert listed == [tuple(row) async for row in test_queries.listing_of(db, user_id=sample["user_id"])]
    plan = await generic_plan(db, test_queries, "listing_of", user_id=sample["user_id"])
    assert plan["Actual Rows"] > 1, json.dumps(plan, indent=1)  # a reader of several channels
    assert not seq_scans(plan), json.dumps(plan, indent=1)
    # Each term of the unread counts is a range of its index, the reader's own messages included...
    used = {n.get("Index Name") for n in nodes(plan)}
    assert {"ix_chatmessage_user_id_channel_id_seq", "ix_chatmessage_notable", "message_mention_pkey"} <= used, \
        json.dumps(plan, indent=1)
    # ...and index-only: no message is looked up by its seq, as a join per direct mention did.
    assert "uq_chatmessage_channel_id_seq" not in used, json.dumps(plan, indent=1)

    def reads(node: dict) -> bool:
        return node.get("Relation Name") in ("read_state", "thread_follower") or any(map(reads, node.get("Plans", [])))

    readers = [n for n in nodes(plan) if reads(n)]
    assert {n.get("Relation Name") for n in readers} >= {"read_state", "thread_follower"}, json.dumps(plan, indent=1)
    assert all(n["Actual Loops"] == 1 for n in readers), json.dumps(readers, indent=1)
