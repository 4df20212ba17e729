"""The results: one dict for --json (the issue's keys, each figure with its trials) and the
table printed at the end, with each figure beside its target."""

from __future__ import annotations

import os
import platform
import sys
from collections import Counter
from importlib import metadata

from chatd.bench.stats import summary
from chatd.bench.worker import PRESENCE_CHANGES


def machine(db_settings: dict) -> dict:
    """What the figures depend on: cores (shared by chatd, PostgreSQL and the clients), memory,
    versions, and whether commits reach the disk."""
    with open("/proc/meminfo") as meminfo:
        total_kib = int(next(line for line in meminfo if line.startswith("MemTotal:")).split()[1])
    versions = {"python": platform.python_version(), "postgresql": db_settings.get("server_version")}
    for package in ("chatd", "aiohttp", "asyncpg", "aiosql", "uvloop", "msgspec", "picows"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {"cores": os.cpu_count(), "memory_mib": total_kib // 1024, "platform": platform.platform(),
            "versions": versions, "database": db_settings,
            "note": "chatd, PostgreSQL and the load generators share these cores"}


def _median(trials: list[dict], key: str):
    return summary(t[key] for t in trials)


def _ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


def results(settings, db_settings, ceiling, sends, single, multi, flooded, checks: dict, history, depths,
            held, resumed, invites, searched, unread, mentioned, reordered, threads: dict) -> dict:
    send = _median(sends["max"], "msgs_per_s")
    deliveries = _median(single["max"], "deliveries_per_s")
    p50, p99 = _median(single["paced"], "same_p50_ms"), _median(single["paced"], "same_p99_ms")
    cross50, cross99 = _median(multi["paced"], "cross_p50_ms"), _median(multi["paced"], "cross_p99_ms")
    return {
        "ceilings": {
            "insert_per_row": ceiling["insert_per_row"]["median"], "insert_copy": ceiling["insert_copy"]["median"],
            "insert_notify_per_row": ceiling["insert_notify_per_row"]["median"],
            "fanout": ceiling["fanout"]["median"], "notify_round_trip_ms": ceiling["notify_round_trip_ms"],
            "connect_per_s": round(ceiling["connect_per_s"], 1), "keyset_read": ceiling["keyset_read"]["median"],
            "trials": {k: ceiling[k] for k in ("insert_per_row", "insert_notify_per_row", "insert_copy", "fanout",
                                                "keyset_read")},
        },
        "send": {"msgs_per_s": send["median"], "ratio": _ratio(send["median"], ceiling["insert_per_row"]["median"]),
                 "trials": send, "senders": sends["senders"], "members_per_server": 1,
                 "p50_ms": _median(sends["max"], "same_p50_ms")["median"],
                 "p99_ms": _median(sends["max"], "same_p99_ms")["median"]},
        "fanout": {
            "deliveries_per_s": deliveries["median"],
            "ratio": _ratio(deliveries["median"], ceiling["fanout"]["median"]),
            "p50_ms": p50["median"], "p99_ms": p99["median"],
            "max_ms": _median(single["paced"], "same_max_ms")["median"],
            "offered_msgs_per_s": single["offered_msgs_per_s"], "clients": single["connected"],
            "msgs_per_s": _median(single["max"], "msgs_per_s")["median"], "senders": single["senders"],
            "members_per_server": settings.members,
            "trials": {"deliveries_per_s": deliveries, "p50_ms": p50, "p99_ms": p99},
        },
        "reactions": reactions(single, deliveries),
        "presence": presence_storm(settings, single, deliveries),
        "edits": edit_latency(single),
        "dms": dm_latency(single),
        "resume": resume(settings, ceiling, resumed),
        "cross_process": {
            "p50_ms": cross50["median"], "p99_ms": cross99["median"], "processes": settings.processes,
            "same_process_p99_ms": _median(multi["paced"], "same_p99_ms")["median"],
            "offered_msgs_per_s": multi["offered_msgs_per_s"], "trials": {"p50_ms": cross50, "p99_ms": cross99},
        },
        "login_flood": login_flood(settings, flooded),
        "invites": invites,
        "layout": reordered,
        "unreads": unreads(unread),
        "mentions": mentioned,
        "connections": {**{k: (round(v, 3) if isinstance(v, float) else v) for k, v in held.items()},
                        "connect_ratio": _ratio(held["connect_per_s"], ceiling["connect_per_s"])},
        "history": {
            "offset": {k: v["p50"] for k, v in history["offset"].items()},
            "before": {k: v["p50"] for k, v in history["before"].items()},
            "reactions": history_reactions(settings, history["reactions"]),
            "depths": depths, "rows_in_channel": settings.history_rows, "rows_in_table": settings.table_rows,
            "detail": history,
        },
        "search": {"terms": searched, "servers": settings.search_servers, "messages": settings.table_rows,
                   "history_page_p50_ms": history["before"]["100000"]["p50"],
                   "sends_unsearched_msgs_per_s": _median(sends["unsearched"], "msgs_per_s")["median"],
                   "sends_ratio": _ratio(send["median"], _median(sends["unsearched"], "msgs_per_s")["median"])},
        "threads": threads,
        "lost": sum(check["lost"] for check in checks.values()),
        "duplicated": sum(check["duplicated"] for check in checks.values()),
        "changes_lost": sum(check["changes_lost"] for check in checks.values())
        + sum(check["missing"] for check in resumed["checks"]),
        "changes_duplicated": sum(check["changes_duplicated"] for check in checks.values())
        + sum(check["out_of_order_or_twice"] for check in resumed["checks"]),
        "correctness": checks,
        "machine": machine(db_settings),
        "settings": {k: getattr(settings, k) for k in settings.__dataclass_fields__},
        "command": " ".join(["python -m chatd", *sys.argv[1:]]),
    }


def reactions(single, fanout: dict) -> dict:
    """The reaction storms' deliveries/s (each run right after a maximum-rate fan-out trial)
    against the messages' deliveries/s of those trials."""
    delivered = _median(single["react"], "deliveries_per_s")
    return {
        "deliveries_per_s": delivered["median"], "ratio": _ratio(delivered["median"], fanout["median"]),
        "fanout_deliveries_per_s": fanout["median"],
        "reactions_per_s": _median(single["react"], "msgs_per_s")["median"],
        "errors": sum(t["errors"] for t in single["react"]),
        "trials": {"deliveries_per_s": delivered, "reactions_per_s": _median(single["react"], "msgs_per_s")},
    }


def presence_storm(settings, single, fanout: dict) -> dict:
    """The presence storms' presence_update deliveries/s (each run right after a reaction storm)
    against the messages' deliveries/s of the fan-out trials; and whether every socket got
    exactly one frame per change of each co-member (5 each), none closed as slow."""
    delivered = _median(single["presence"], "deliveries_per_s")
    expected = single["connected"] * (settings.members - 1)
    exact = [t["presence_pairs"] == {str(PRESENCE_CHANGES): expected} for t in single["presence"]]
    return {
        "deliveries_per_s": delivered["median"], "ratio": _ratio(delivered["median"], fanout["median"]),
        "fanout_deliveries_per_s": fanout["median"],
        "changes_per_s": _median(single["presence"], "msgs_per_s")["median"],
        "changes_per_client": PRESENCE_CHANGES, "exact_trials": sum(exact), "trials_run": len(exact),
        "pairs": [t["presence_pairs"] for t in single["presence"]],
        "slow_closed": max((t["slow_closed"] for t in single["presence"]), default=0),
        "errors": sum(t["errors"] for t in single["presence"]),
        "trials": {"deliveries_per_s": delivered, "changes_per_s": _median(single["presence"], "msgs_per_s")},
    }


def edit_latency(single) -> dict:
    """message_updated's send→receive p99 in the edit trials (edit_message frames, as messages
    are sent) against new_message's in the latency trials they alternated with, at the same
    offered rate; the same of the PATCH trials under "rest"."""
    return {**_against_paced(single, "edit", "new_message_p99_ms", "edits_per_s"),
            "rest": _against_paced(single, "patch", "new_message_p99_ms", "edits_per_s")}


def dm_latency(single) -> dict:
    """new_message's send→receive p99 in the DM trials (each sender into its 1:1) against a
    server channel's in the latency trials they alternated with, at the same offered rate."""
    return _against_paced(single, "dm", "channel_p99_ms", "msgs_per_s")


def _against_paced(single, mode: str, paced_key: str, rate_key: str) -> dict:
    """The p99 of `mode`'s trials against the latency trials' ("paced"), named `paced_key`."""
    p99, paced_p99 = _median(single[mode], "same_p99_ms"), _median(single["paced"], "same_p99_ms")
    return {
        "p99_ms": p99["median"], paced_key: paced_p99["median"], "ratio": _ratio(p99["median"], paced_p99["median"]),
        "p50_ms": _median(single[mode], "same_p50_ms")["median"],
        rate_key: _median(single[mode], "msgs_per_s")["median"],
        "offered_per_s": single["offered_msgs_per_s"], "errors": sum(t["errors"] for t in single[mode]),
        "trials": {"p99_ms": p99, paced_key: paced_p99},
    }


def unreads(unread: dict) -> dict:
    """GET /chat/unreads p50 against the plain query's, whose requests alternated."""
    return {"p50_ms": unread["unreads"]["p50"], "plain_p50_ms": unread["plain"]["p50"],
            "statement_p50_ms": unread["statement"]["p50"], "listing_p50_ms": unread["listing"]["p50"],
            "channels": unread["channels"],
            "ratio": _ratio(unread["unreads"]["p50"], unread["plain"]["p50"]), "detail": unread}


def resume(settings, ceiling, resumed) -> dict:
    """Changes/s of one client's resume of many channels against the keyset SELECT's, whose
    trials alternated."""
    rate = summary(resumed["rates"])
    return {
        "changes_per_s": rate["median"], "ratio": _ratio(rate["median"], ceiling["keyset_read"]["median"]),
        "keyset_read_per_s": ceiling["keyset_read"]["median"], "channels": settings.resume_channels,
        "changes": resumed["checks"][0]["changes"] if resumed["checks"] else 0,
        "trials": rate, "checks": resumed["checks"],
    }


def history_reactions(settings, pages: dict) -> dict:
    """A page whose messages carry reactions against the next page, without, requested in turn."""
    with_p50, without_p50 = pages["with"]["p50"], pages["without"]["p50"]
    return {"p50_ms": with_p50, "without_p50_ms": without_p50, "ratio": _ratio(with_p50, without_p50),
            "depth": pages["depth"], "emoji_per_message": settings.reaction_emoji,
            "users_per_emoji": settings.reaction_users, "detail": pages}


def login_flood(settings, flooded) -> dict:
    """The half-rate fan-out's p99 during a login flood, beside its p99 in the trials run in
    turn without one, and how the flood's logins were answered."""
    p99, without = _median(flooded["flooded"], "same_p99_ms"), _median(flooded["paced"], "same_p99_ms")
    statuses = sum((Counter(f["statuses"]) for f in flooded["flood"]), Counter())
    return {
        "p99_ms": p99["median"], "without_p99_ms": without["median"], "ratio": _ratio(p99["median"], without["median"]),
        "p50_ms": _median(flooded["flooded"], "same_p50_ms")["median"],
        "logins_per_s": _median(flooded["flood"], "logins_per_s")["median"],
        "offered_logins_per_s": settings.flood_logins_per_s, "statuses": dict(statuses),
        "offered_msgs_per_s": flooded["offered_msgs_per_s"], "trials": {"p99_ms": p99, "without_p99_ms": without},
    }


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value < 100:
        return f"{value:.2f}{unit}"
    return f"{value:,.0f}{unit}"


def _spread(trials: dict) -> str:
    return f"{_fmt(trials['min'])} .. {_fmt(trials['max'])}" if trials.get("min") is not None else ""


def table(r: dict) -> str:
    """Figure | chatd | ceiling or target | verdict: the Performance section of the README."""
    c, s, f, x, n, h = r["ceilings"], r["send"], r["fanout"], r["cross_process"], r["connections"], r["history"]
    g, e, re, rs, hr, dm = r["login_flood"], r["edits"], r["reactions"], r["resume"], h["reactions"], r["dms"]
    ps = r["presence"]
    deep_ratio = _ratio(h["before"]["100000"], h["before"]["0"])
    rows = [
        (f"durable messages/s, end to end, {s['senders']} senders", _fmt(s["msgs_per_s"]), _spread(s["trials"]),
         f"INSERT/row ceiling {_fmt(c['insert_per_row'])} (with a NOTIFY each: {_fmt(c['insert_notify_per_row'])})",
         f"{_fmt(s['ratio'])}x", "≥ 1.0x",
         _ok(s["ratio"], 1.0, ">=")),
        (f"deliveries/s, {f['clients']} clients in servers of {f['members_per_server']}", _fmt(f["deliveries_per_s"]),
         _spread(f["trials"]["deliveries_per_s"]),
         f"raw fan-out ceiling {_fmt(c['fanout'])}", f"{_fmt(f['ratio'])}x", "≥ 0.7x", _ok(f["ratio"], 0.7, ">=")),
        (f"send→receive p99 at {_fmt(f['offered_msgs_per_s'])} msgs/s", _fmt(f["p99_ms"], " ms"),
         _spread(f["trials"]["p99_ms"]), f"p50 {_fmt(f['p50_ms'], ' ms')}", "", "≤ 25 ms", _ok(f["p99_ms"], 25, "<=")),
        (f"reaction events delivered/s, {f['clients']} clients toggling reactions", _fmt(re["deliveries_per_s"]),
         _spread(re["trials"]["deliveries_per_s"]),
         f"message fan-out {_fmt(re['fanout_deliveries_per_s'])}/s; {_fmt(re['reactions_per_s'])} reactions/s",
         f"{_fmt(re['ratio'])}x", "≥ 0.7x", _ok(re["ratio"], 0.7, ">=")),
        (f"presence_update frames delivered/s, {f['clients']} clients × {ps['changes_per_client']} status changes",
         _fmt(ps["deliveries_per_s"]), _spread(ps["trials"]["deliveries_per_s"]),
         f"message fan-out {_fmt(ps['fanout_deliveries_per_s'])}/s; {_fmt(ps['changes_per_s'])} changes/s; "
         f"one frame per socket and change in {ps['exact_trials']} of {ps['trials_run']} trials; "
         f"{ps['slow_closed']} closed as slow",
         f"{_fmt(ps['ratio'])}x", "≥ 0.7x, exactly once",
         "yes" if ps["ratio"] is not None and ps["ratio"] >= 0.7 and ps["exact_trials"] == ps["trials_run"]
         and ps["slow_closed"] == 0 else "no"),
        edit_row(e),
        (f"DM send→receive p99 at {_fmt(dm['offered_per_s'])} msgs/s", _fmt(dm["p99_ms"], " ms"),
         _spread(dm["trials"]["p99_ms"]), f"server channel p99 {_fmt(dm['channel_p99_ms'], ' ms')} at that rate",
         f"{_fmt(dm['ratio'])}x", "≤ 1.2x", _ok(dm["ratio"], 1.2, "<=")),
        resume_row(rs),
        (f"across {x['processes']} processes p99", _fmt(x["p99_ms"], " ms"), _spread(x["trials"]["p99_ms"]),
         f"p50 {_fmt(x['p50_ms'], ' ms')}; NOTIFY p50 {_fmt(c['notify_round_trip_ms']['p50'], ' ms')}", "",
         "≤ 50 ms", _ok(x["p99_ms"], 50, "<=")),
        login_flood_row(g),
        (f"invite accept storm, {r['invites']['users']} users at once", _fmt(r["invites"]["joins_per_s"], " joins/s"),
         "", f"{r['invites']['joined']} joined of max_uses {r['invites']['max_uses']}; answers "
         f"{', '.join(f'{k}: {v:,}' for k, v in r['invites']['statuses'].items())}", "", "exactly max_uses",
         "yes" if r["invites"]["joined"] == r["invites"]["accepted"] == r["invites"]["max_uses"] else "NO"),
        unreads_row(r["unreads"]),
        *mention_rows(r["mentions"]),
        ("memory per idle connection", _fmt(n["kib_per_conn"], " KiB"), "", "raw aiohttp ≈ 15 KiB", "", "≤ 24 KiB",
         _ok(n["kib_per_conn"], 24, "<=")),
        ("idle connections held", _fmt(n["held"]), "", f"of {n['attempted']:,} opened", "", "15,000",
         _ok(n["held"], 15000, ">=")),
        ("connect rate", _fmt(n["connect_per_s"], "/s"), "", f"bare aiohttp handshakes {_fmt(c['connect_per_s'], '/s')}",
         f"{_fmt(n['connect_ratio'])}x", "≥ 2,000/s", _ok(n["connect_per_s"], 2000, ">=")),
        (f"history p50, before, depth {h['depths']['100000']:,}", _fmt(h["before"]["100000"], " ms"), "",
         f"depth 0: {_fmt(h['before']['0'], ' ms')}; offset: {_fmt(h['offset']['100000'], ' ms')}",
         f"{_fmt(deep_ratio)}x", "≤ 2x depth 0", _ok(deep_ratio, 2.0, "<=")),
        (f"history p50 with reactions, depth {hr['depth']:,}", _fmt(hr["p50_ms"], " ms"), "",
         f"without: {_fmt(hr['without_p50_ms'], ' ms')} ({hr['emoji_per_message']} emoji × "
         f"{hr['users_per_emoji']} users on each message)", f"{_fmt(hr['ratio'])}x", "≤ 1.5x",
         _ok(hr["ratio"], 1.5, "<=")),
        *(search_row(r["search"], label) for label in r["search"]["terms"]),
        *attachment_rows(r["attachments"]),
        ("durable messages/s, kept searchable", _fmt(s["msgs_per_s"]), "",
         f"not kept searchable (search trigger off) {_fmt(r['search']['sends_unsearched_msgs_per_s'])}",
         f"{_fmt(r['search']['sends_ratio'])}x", "≥ 0.85x", _ok(r["search"]["sends_ratio"], 0.85, ">=")),
        layout_row(r["layout"]),
        *thread_rows(r["threads"]),
        ("lost / duplicated", f"{r['lost']} / {r['duplicated']}", "",
         f"changes (eventSeq): {r['changes_lost']} / {r['changes_duplicated']}", "", "0 / 0",
         "yes" if r["lost"] == r["duplicated"] == r["changes_lost"] == r["changes_duplicated"] == 0 else "NO"),
    ]
    lines = _markdown(rows)
    m = r["machine"]
    lines.append("")
    lines.append(f"{m['cores']} cores shared by chatd, PostgreSQL and the load generators; "
                 f"{m['memory_mib']:,} MiB; PostgreSQL {m['versions']['postgresql']} "
                 f"(fsync={m['database'].get('fsync')}, synchronous_commit={m['database'].get('synchronous_commit')}); "
                 f"Python {m['versions']['python']}; {r.get('elapsed_s', '?')} s")
    return "\n".join(lines)


def mention_rows(m: dict) -> list[tuple]:
    """The mentions phase (chatd.bench.mentions): sends with mention resolution against plain
    ones, and @everyone in a big server."""
    plain, mentioning = m["plain_msgs_per_s"], m["mention_msgs_per_s"]
    constant = m["everyone_rows_per_message"] == 1.0
    return [
        (f"durable messages/s mentioning two members, {m['senders']} senders", _fmt(mentioning["median"]),
         _spread(mentioning),
         f"plain texts {_fmt(plain['median'])} (same run; the ratio: median of trials paired in ABBA order)",
         f"{_fmt(m['send_ratio'])}x", "≥ 0.9x", _ok(m["send_ratio"], 0.9, ">=")),
        (f"@everyone in a server of {m['members']:,}: rows written per message", _fmt(m["everyone_rows_per_message"]),
         "", f"{m['everyone_messages']} messages: the message row, no mention rows", "", "constant (1)",
         "yes" if constant else "NO"),
        (f"@everyone send→receive p99, {m['receivers']} members connected",
         _fmt(m["everyone_latency_ms"]["p99"], " ms"),
         "", f"plain p99 {_fmt(m['plain_latency_ms']['p99'], ' ms')}", f"{_fmt(m['latency_ratio'])}x", "≤ 1.5x",
         _ok(m["latency_ratio"], 1.5, "<=")),
    ]


def _markdown(rows: list[tuple]) -> list[str]:
    head = ("figure", "chatd (median)", "min .. max", "compared with", "ratio", "target", "met")
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
            *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)]


def only_table(r: dict) -> str:
    """The rows of a phase run alone (--only)."""
    rows = {"layout": lambda lo: [layout_row(lo)], "attachments": attachment_rows,
            "resume": lambda rs: [resume_row(rs)], "login_flood": lambda g: [login_flood_row(g)],
            "edits": lambda e: [edit_row(e)], "unreads": lambda u: [unreads_row(u)], "mentions": mention_rows,
            "search": lambda s: [search_row(s, label) for label in s["terms"]]}
    return "\n".join(_markdown([row for key, rows_of in rows.items() if key in r for row in rows_of(r[key])]))


def edit_row(e: dict) -> tuple:
    rest = e["rest"]
    return (f"message_updated p99 at {_fmt(e['offered_per_s'])} edits/s (edit_message frames)",
            _fmt(e["p99_ms"], " ms"), _spread(e["trials"]["p99_ms"]),
            f"new_message p99 {_fmt(e['new_message_p99_ms'], ' ms')} at that rate; p50 {_fmt(e['p50_ms'], ' ms')}. "
            f"Edits by PATCH: p99 {_fmt(rest['p99_ms'], ' ms')} ({_fmt(rest['ratio'])}x), "
            f"p50 {_fmt(rest['p50_ms'], ' ms')}", f"{_fmt(e['ratio'])}x", "≤ 1.5x", _ok(e["ratio"], 1.5, "<="))


def unreads_row(u: dict) -> tuple:
    return (f"GET /chat/unreads p50, a reader of {u['channels']:,} channels", _fmt(u["p50_ms"], " ms"), "",
            f"plain query listing them {_fmt(u['plain_p50_ms'], ' ms')} (the unreads statement alone: "
            f"{_fmt(u['statement_p50_ms'], ' ms')}; GET .../channels listing them: {_fmt(u['listing_p50_ms'], ' ms')})",
            f"{_fmt(u['ratio'])}x", "≤ 2x", _ok(u["ratio"], 2.0, "<="))


def login_flood_row(g: dict) -> tuple:
    return ("send→receive p99 under a login flood", _fmt(g["p99_ms"], " ms"), _spread(g["trials"]["p99_ms"]),
            f"without: {_fmt(g['without_p99_ms'], ' ms')}; {_fmt(g['logins_per_s'], '/s')} logins answered "
            f"({', '.join(f'{k}: {v:,}' for k, v in sorted(g['statuses'].items()))})",
            f"{_fmt(g['ratio'])}x", "≤ 2x without", _ok(g["ratio"], 2.0, "<="))


def resume_row(rs: dict) -> tuple:
    return (f"resume of {rs['channels']} channels, {rs['changes']:,} changes, changes/s", _fmt(rs["changes_per_s"]),
            _spread(rs["trials"]), f"keyset SELECT {_fmt(rs['keyset_read_per_s'])}/s", f"{_fmt(rs['ratio'])}x",
            "≥ 0.5x", _ok(rs["ratio"], 0.5, ">="))


def layout_row(lo: dict) -> tuple:
    """A reorder of every channel: its time over REST beside the reorder statement alone, and
    one layout_updated per reorder."""
    ratio = _ratio(lo["put"]["p50"], lo["statement"]["p50"])
    return (f"layout reorder p50, {lo['channels']:,} channels in {lo['categories']} categories",
            _fmt(lo["put"]["p50"], " ms"), "",
            f"the statement alone {_fmt(lo['statement']['p50'], ' ms')} (p99 {_fmt(lo['put']['p99'], ' ms')}); "
            f"{lo['events']} layout_updated for {lo['reorders']} reorders", f"{_fmt(ratio)}x (p50)",
            "one event per reorder", "yes" if lo["events"] == lo["reorders"] else "NO")


def attachment_rows(a: dict) -> list[tuple]:
    """The attachments phase (chatd.bench.attachments): memory and throughput of one big file."""
    size = f"{a['size_mib']:,} MiB"
    copy = f"copy on the same disk {_fmt(a['copy_mib_per_s'], ' MiB/s')} (medians of {a['trials']} in turn)"
    return [
        (f"chatd's RSS growth uploading {size}", _fmt(a["rss_growth_mib"], " MiB"), "", "", "",
         f"≤ {a['rss_ceiling_mib']:g} MiB", _ok(a["rss_growth_mib"], a["rss_ceiling_mib"], "<=")),
        (f"upload of {size}", _fmt(a["upload_mib_per_s"], " MiB/s"), "",
         copy, f"{_fmt(a['upload_ratio'])}x",
         f"≥ {a['min_ratio']}x", _ok(a["upload_ratio"], a["min_ratio"], ">=")),
        (f"download of {size}", _fmt(a["download_mib_per_s"], " MiB/s"), "",
         copy, f"{_fmt(a['download_ratio'])}x",
         f"≥ {a['min_ratio']}x", _ok(a["download_ratio"], a["min_ratio"], ">=")),
    ]


def search_row(s: dict, label: str) -> tuple:
    term = s["terms"][label]
    ratio = _ratio(term["p50"], s["history_page_p50_ms"])
    return (f"search p99, {label}, {s['messages']:,} messages, a user in {s['servers']} servers",
            _fmt(term["p99"], " ms"), "", f"p50 {_fmt(term['p50'], ' ms')}; one history page (before) p50 "
            f"{_fmt(s['history_page_p50_ms'], ' ms')}", f"{_fmt(ratio)}x (p50)", "≤ 150 ms", _ok(term["p99"], 150, "<="))


def thread_rows(t: dict) -> list[tuple]:
    """chatd.bench.threads: a reply into a busy thread against a message into an empty channel;
    a busy channel's open threads against one page of history."""
    send, listed = t["send_receive_ms"], t["list_ms"]
    return [
        (f"send→receive p99 into a thread of {t['replies']:,} replies", _fmt(send["thread"]["p99"], " ms"), "",
         f"an empty channel {_fmt(send['empty']['p99'], ' ms')} (p50 {_fmt(send['thread']['p50'], ' ms')} against "
         f"{_fmt(send['empty']['p50'], ' ms')})", f"{_fmt(t['send_ratio'])}x", f"≤ {t['send_target']}x",
         _ok(t["send_ratio"], t["send_target"], "<=")),
        (f"open threads listed p50, a channel of {t['threads']:,} threads", _fmt(listed["threads"]["p50"], " ms"), "",
         f"one history page {_fmt(listed['history']['p50'], ' ms')}", f"{_fmt(t['list_ratio'])}x",
         f"≤ {t['list_target']}x", _ok(t["list_ratio"], t["list_target"], "<=")),
    ]


def _ok(value, target, op: str) -> str:
    if value is None:
        return "-"
    return "yes" if (value >= target if op == ">=" else value <= target) else "no"
