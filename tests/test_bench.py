"""`python -m chatd bench --quick` as CI runs it: a real subprocess that starts its own database
and chatd processes. Only the shape of the results and the correctness figures are checked;
speed lives in the benchmark, not in tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from numbers import Real
from pathlib import Path

import pytest

import chatd
from chatd.bench.database import bench_queries
from chatd.ops.stats import monitoring_queries
from chatd.store.pool import load_queries

REQUIRED = [
    "ceilings.insert_per_row", "ceilings.insert_copy", "ceilings.fanout",
    "send.msgs_per_s", "send.ratio",
    "fanout.deliveries_per_s", "fanout.ratio", "fanout.p50_ms", "fanout.p99_ms",
    "cross_process.p50_ms", "cross_process.p99_ms",
    "login_flood.p99_ms", "login_flood.without_p99_ms", "login_flood.ratio", "login_flood.logins_per_s",
    "reactions.deliveries_per_s", "reactions.ratio", "edits.p99_ms", "edits.new_message_p99_ms", "edits.ratio",
    "edits.rest.p99_ms", "edits.rest.ratio",
    "dms.p99_ms", "dms.channel_p99_ms", "dms.ratio",
    "resume.changes_per_s", "resume.ratio", "ceilings.keyset_read",
    "history.reactions.p50_ms", "history.reactions.without_p50_ms", "history.reactions.ratio",
    "invites.joins_per_s", "invites.answers_per_s",
    *(f"search.terms.{term}.{q}" for term in ("a rare term", "a term in one message of ten") for q in ("p50", "p99")),
    "search.history_page_p50_ms", "search.sends_unsearched_msgs_per_s", "search.sends_ratio",
    "unreads.p50_ms", "unreads.plain_p50_ms", "unreads.statement_p50_ms", "unreads.listing_p50_ms", "unreads.ratio",
    "layout.put.p50", "layout.put.p99", "layout.statement.p50",
    "mentions.send_ratio", "mentions.everyone_rows_per_message", "mentions.latency_ratio",
    "threads.send_ratio", "threads.list_ratio", *(f"threads.send_receive_ms.{k}.p99" for k in ("thread", "empty")),
    *(f"threads.list_ms.{k}.p50" for k in ("threads", "history")),
    "connections.held", "connections.kib_per_conn", "connections.connect_per_s",
    "ceilings.connect_per_s", "connections.connect_ratio",  # beyond the list
    *(f"history.{kind}.{depth}" for kind in ("offset", "before") for depth in ("0", "10000", "100000")),
    "lost", "duplicated", "changes_lost", "changes_duplicated", "machine.cores", "machine.memory_mib",
]


def lookup(results: dict, dotted: str):
    value = results
    for part in dotted.split("."):
        value = value[part]
    return value


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory) -> subprocess.CompletedProcess:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DB_HOST", "SECRET_KEY")}
    env["PYTHONPATH"] = str(Path(chatd.__file__).resolve().parent.parent)  # the chatd under test, from any cwd
    done = subprocess.run([sys.executable, "-m", "chatd", "bench", "--quick", "--json", str(out)],
                          env=env, cwd=tmp_path_factory.mktemp("cwd"), capture_output=True, text=True, timeout=420)
    assert done.returncode == 0, done.stderr[-3000:]
    done.results = json.loads(out.read_text())
    return done


@pytest.fixture(scope="module")
def results(bench_run) -> dict:
    return bench_run.results


def test_quick_bench_reports_every_required_figure_as_a_number(results):
    missing = [key for key in REQUIRED
               if not isinstance(lookup(results, key), Real) or isinstance(lookup(results, key), bool)]
    assert missing == []


def test_quick_bench_loses_and_duplicates_no_message(results):
    assert (results["lost"], results["duplicated"]) == (0, 0)


def test_quick_bench_loses_and_duplicates_no_change_of_any_kind(results):
    """Each connected member got every eventSeq of its channel once: messages, edits, reactions."""
    assert (results["changes_lost"], results["changes_duplicated"]) == (0, 0)
    fanout = results["correctness"]["one_process"]
    assert fanout["changes"] > fanout["posted"] > 0  # the edits and reactions took eventSeqs too
    assert (fanout["changes_unexpected"], fanout["dropped_connections"]) == (0, 0)


def test_quick_bench_edits_and_reactions_are_all_answered_with_a_success(results):
    """Every edit (over the socket and by PATCH) and every reaction request was a change chatd
    accepted (none refused: the reacting clients toggle, so none repeats itself)."""
    edits, rest = results["edits"], results["edits"]["rest"]
    assert edits["errors"] == rest["errors"] == results["reactions"]["errors"] == 0
    assert edits["edits_per_s"] > 0 and rest["edits_per_s"] > 0 and results["reactions"]["reactions_per_s"] > 0


def test_quick_bench_dm_sends_are_all_acknowledged(results):
    """The DM trials' sends were messages chatd stored (none refused)."""
    assert results["dms"]["errors"] == 0 and results["dms"]["msgs_per_s"] > 0


def test_quick_bench_resume_replays_every_change_of_every_channel_in_order(results):
    resume = results["resume"]
    settings = results["settings"]
    assert resume["changes"] == settings["resume_channels"] * settings["resume_changes"]
    assert [(c["finished"], c["changes"], c["missing"], c["unexpected"], c["out_of_order_or_twice"],
             c["wrong_last_event_seq"]) for c in resume["checks"]] == \
        [(True, resume["changes"], 0, 0, 0, 0)] * settings["trials"]


def test_quick_bench_finds_every_acknowledged_message_in_the_database(results):
    checks = results["correctness"]
    assert set(checks) == {"send", "one_process", "processes", "login_flood"}
    assert [(c["acked_missing_from_db"], c["unexpected"], c["seq_gaps_in_db"]) for c in checks.values()] == [(0, 0, 0)] * 4
    assert checks["send"]["acked"] == checks["send"]["posted"] > 0
    assert checks["one_process"]["acked"] == checks["one_process"]["posted"] > 0
    assert checks["login_flood"]["acked"] == checks["login_flood"]["posted"] > 0


def test_quick_bench_floods_logins_that_cost_argon2_work_and_are_never_throttled_or_failed(results):
    """Each flood login comes from its own address for its own name: the bench's chatd trusts
    its X-Forwarded-For, so none reaches a limit (429), and some are checked (401)."""
    statuses = results["login_flood"]["statuses"]
    assert set(statuses) <= {"401", "503"}
    assert statuses["401"] > 0


def test_quick_bench_invite_storm_lets_in_exactly_max_uses_and_answers_the_rest_404(results):
    invites = results["invites"]
    assert invites["joined"] == invites["accepted"] == invites["max_uses"] == 20
    assert invites["statuses"] == {"200": 20, "404": invites["users"] - 20}


def test_quick_bench_lists_every_channel_of_the_unreads_reader(results):
    assert results["unreads"]["channels"] == 200


def test_quick_bench_reorders_500_channels_with_one_layout_updated_each(results):
    layout = results["layout"]
    assert (layout["channels"], layout["categories"]) == (500, 20)
    assert layout["events"] == layout["reorders"] == 13


def test_quick_bench_names_the_machine_it_ran_on(results):
    machine = results["machine"]
    assert machine["cores"] == os.cpu_count()
    assert set(machine["versions"]) >= {"python", "postgresql", "aiohttp", "asyncpg"}


def test_quick_bench_runs_each_ceiling_trial_right_before_the_chatd_trial_it_is_compared_with(bench_run, results):
    """The ratios compare trials run in turn: the host's speed drifts between minutes."""
    progress = [line.split("] ", 1)[1] for line in bench_run.stderr.splitlines() if "] " in line]
    kinds = [("i" if line.startswith("ceiling INSERT") else "f" if line.startswith("ceiling fan-out")
              else "k" if line.startswith("ceiling keyset") else "c" if "max trial" in line
              else "r" if "react trial" in line else "R" if "resume trial" in line
              else "u" if "unsearched trial" in line else "") for line in progress]
    trials = results["settings"]["trials"]
    assert trials >= 2 and "".join(kinds) == "icu" * trials + "fcr" * trials + "kR" * trials


def test_only_the_bench_loads_its_queries_and_a_running_chatd_none_of_a_commands():
    app = set(load_queries().available_queries)
    bench = set(bench_queries().available_queries)
    assert [name for name in app if name.startswith("bench_")] == []
    assert app & set(monitoring_queries().available_queries) == set()
    assert "lock_migrations" not in app
    assert {"lock_seed", "list_user_ids"} & app == set()
    assert app < bench  # the bench fills its database through chatd's own queries
    assert {"bench_insert_message", "bench_vacuum", "bench_delete_users"} < bench
    assert all(name.startswith("bench_") for name in bench - app)
