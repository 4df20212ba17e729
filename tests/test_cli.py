"""The command line, as a new user meets it: real `python -m chatd` processes, real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import jwt
import pytest
from yoyo import get_backend, read_migrations

import chatd as chatd_package
from chatd.store.resources import resource_dir

PASSWORD = "correct horse battery"
SECRET = "cli-test-secret-key-that-is-long-enough"
MIGRATION_IDS = [m.id for m in read_migrations(str(resource_dir("migrations")))]
# Plain urllib, never through a proxy a CI machine may configure.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """A port nothing listens on (the kernel just handed it out and it was released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(home: Path, **settings: str) -> dict[str, str]:
    """Only what a shell would give, so the developer's own DB_* or SECRET_KEY cannot leak in,
    and the chatd under test: run from another directory, `python -m chatd` would otherwise
    import whichever chatd is installed."""
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8",
           "PYTHONPATH": str(Path(chatd_package.__file__).resolve().parent.parent)}
    if "TMPDIR" in os.environ:
        env["TMPDIR"] = os.environ["TMPDIR"]
    return env | settings


def chatd(*args: str, cwd: Path, env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chatd", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def http(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _opener.open(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class Running:
    """`python -m chatd` serving in the background; stderr (its log) collected line by line."""

    def __init__(self, cwd: Path, env: dict[str, str]):
        self.port = int(env["CHATD_PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.lines: list[str] = []
        self._listening = threading.Event()
        self.process = subprocess.Popen([sys.executable, "-m", "chatd"], cwd=cwd, env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line)
            if "event=listening" in line:
                self._listening.set()

    def wait_listening(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self._listening.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail("chatd did not start listening:\n" + "".join(self.lines))

    def stop(self) -> int:
        """SIGTERM, as a service manager sends; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self._reader.join(timeout=5)
        return code


def database_url(server_url: str, name: str) -> str:
    """The session server's URL, naming database `name`."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _recreate(server_url: str, queries, name: str) -> None:
    con = await asyncpg.connect(server_url)
    try:
        await getattr(queries, f"drop_database_cli_{name}")(con)
        await getattr(queries, f"create_database_cli_{name}")(con)
    finally:
        await con.close()


def fresh_database(server_url: str, queries, name: str) -> str:
    """An empty database chatd_cli_<name> on the session's server; returns its URL."""
    asyncio.run(_recreate(server_url, queries, name))
    return database_url(server_url, f"chatd_cli_{name}")


def query(url: str, queries, name: str, **params) -> Any:
    async def run():
        con = await asyncpg.connect(url)
        try:
            result = getattr(queries, name)(con, **params)
            if hasattr(result, "__aiter__"):
                return [tuple(row) async for row in result]
            return await result
        finally:
            await con.close()

    return asyncio.run(run())


# -- The README's first command: `python -m chatd` in an empty directory ------------------------


@dataclass
class FirstRun:
    cwd: Path
    env: dict[str, str]
    lines: list[str]
    exit_code: int
    secret_key: str
    server: dict


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> FirstRun:
    """chatd started in an empty directory, used (register, login, create a server), stopped."""
    cwd = tmp_path_factory.mktemp("empty")
    env = base_env(cwd, CHATD_PORT=str(free_port()))
    running = Running(cwd, env)
    try:
        running.wait_listening()
        status, _ = http("POST", f"{running.url}/auth/register", {"username": "alice", "password": PASSWORD})
        assert status == 201
        status, token = http("POST", f"{running.url}/auth/login", {"username": "alice", "password": PASSWORD})
        assert status == 200
        status, server = http("POST", f"{running.url}/chat/servers", {"name": "Guild"}, token["access_token"])
        assert status == 201
    finally:
        exit_code = running.stop()
    return FirstRun(cwd, env, running.lines, exit_code, (cwd / "chatd-data" / "secret_key").read_text(), server)


def test_first_start_logs_one_listening_line_with_the_url_and_the_embedded_database(first_run):
    [line] = [line for line in first_run.lines if "event=listening" in line]
    port = first_run.env["CHATD_PORT"]
    assert line.endswith(
        f"logger=chatd event=listening url=http://127.0.0.1:{port} "
        "database='embedded PostgreSQL in chatd-data/pg'\n"
    )


def test_first_start_generates_a_secret_key_and_migrates_then_stops_cleanly(first_run):
    assert sorted(p.name for p in first_run.cwd.iterdir()) == ["chatd-data"]
    assert sum("event=secret_key_generated path=chatd-data/secret_key" in line for line in first_run.lines) == 1
    assert sum(f"event=migrated applied={','.join(MIGRATION_IDS)}\n" in line for line in first_run.lines) == 1
    assert [line for line in first_run.lines if "Traceback" in line or "Warning" in line] == []
    assert first_run.exit_code == 0


def test_first_start_answers_http(first_run):
    assert first_run.server["name"] == "Guild"
    assert first_run.server["role"] == "ADMIN"


def test_a_second_start_in_the_same_directory_reuses_the_data_and_the_secret_key(first_run):
    env = first_run.env | {"CHATD_PORT": str(free_port())}
    running = Running(first_run.cwd, env)
    try:
        running.wait_listening()
        status, token = http("POST", f"{running.url}/auth/login", {"username": "alice", "password": PASSWORD})
        assert status == 200
        status, servers = http("GET", f"{running.url}/chat/servers", token=token["access_token"])
        assert status == 200
        assert [s["id"] for s in servers] == [first_run.server["id"]]
    finally:
        assert running.stop() == 0
    assert (first_run.cwd / "chatd-data" / "secret_key").read_text() == first_run.secret_key
    assert [line for line in running.lines if "event=secret_key_generated" in line] == []
    assert [line for line in running.lines if "event=migrated" in line] == []


# -- A chatd serving an external database ------------------------------------------------------


@dataclass
class Served:
    url: str
    env: dict[str, str]
    cwd: Path
    lines: list[str]
    database_password: str
    alice_id: str


@pytest.fixture(scope="module")
def served(tmp_path_factory, database_url, test_queries):
    """chatd on its own database of the session's server, reached with a password in its URL
    (the test server trusts local connections, so any password works and none may be logged)."""
    url = fresh_database(database_url, test_queries, "served")
    parts = urlsplit(url)
    password = parts.password or "not-to-be-logged"
    netloc = f"{parts.username}:{password}@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    url = urlunsplit(parts._replace(netloc=netloc))
    cwd = tmp_path_factory.mktemp("served")
    env = base_env(cwd, DATABASE_URL=url, SECRET_KEY=SECRET, CHATD_PORT=str(free_port()))
    running = Running(cwd, env)
    try:
        running.wait_listening()
        status, alice = http("POST", f"{running.url}/auth/register", {"username": "alice", "password": PASSWORD})
        assert status == 201
        yield Served(running.url, env, cwd, running.lines, password, alice["user_id"])
    finally:
        running.stop()


def test_serve_logs_the_database_it_uses_without_its_password(served):
    [line] = [line for line in served.lines if "event=listening" in line]
    assert "database='postgresql://" in line
    assert "/chatd_cli_served'" in line
    assert [line for line in served.lines if served.database_password in line] == []


def test_token_prints_a_token_the_running_chatd_accepts(served):
    result = chatd("token", "alice", cwd=served.cwd, env=served.env)
    assert (result.returncode, result.stderr) == (0, "")
    token = result.stdout.strip()
    assert result.stdout == token + "\n"
    status, me = http("GET", f"{served.url}/auth/me", token=token)
    assert (status, me) == (200, {"user_id": served.alice_id, "username": "alice"})
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert (claims["user_id"], claims["sub"]) == (served.alice_id, served.alice_id)
    assert claims["exp"] - claims["iat"] == 30 * 60


def test_token_finds_the_user_in_any_case_and_names_them_as_stored(served):
    result = chatd("token", "ALICE", cwd=served.cwd, env=served.env)
    assert (result.returncode, result.stderr) == (0, "")
    claims = jwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"])
    assert (claims["user_id"], claims["username"]) == (served.alice_id, "alice")


def test_token_for_an_unknown_user_exits_1_with_one_line(served):
    result = chatd("token", "nosuchuser", cwd=served.cwd, env=served.env)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", "chatd: no user named 'nosuchuser'\n")


def test_a_port_already_in_use_is_one_line_and_exit_code_1(served):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = chatd(cwd=served.cwd, env=served.env | {"CHATD_PORT": str(port)})
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"chatd: error while attempting to bind on address ('127.0.0.1', {port}): address already in use\n"
    )


# -- Migrations --------------------------------------------------------------------------------


def test_migrate_applies_what_is_pending_once_and_list_shows_the_state(tmp_path, database_url, test_queries):
    url = fresh_database(database_url, test_queries, "list")
    env = base_env(tmp_path, DATABASE_URL=url, SECRET_KEY=SECRET)

    before = chatd("migrate", "--list", cwd=tmp_path, env=env)
    first = chatd("migrate", cwd=tmp_path, env=env)
    after = chatd("migrate", "--list", cwd=tmp_path, env=env)
    again = chatd("migrate", cwd=tmp_path, env=env)

    assert [r.returncode for r in (before, first, after, again)] == [0, 0, 0, 0]
    assert [r.stderr for r in (before, first, after, again)] == ["", "", "", ""]
    assert before.stdout == "".join(f"pending  {id}\n" for id in MIGRATION_IDS)
    assert first.stdout == f"applied {len(MIGRATION_IDS)} migration(s): {', '.join(MIGRATION_IDS)}\n"
    assert after.stdout == "".join(f"applied  {id}\n" for id in MIGRATION_IDS)
    assert again.stdout == "applied 0 migration(s)\n"


def test_two_processes_migrating_an_empty_database_at_once_apply_each_migration_once(
    tmp_path, database_url, test_queries
):
    url = fresh_database(database_url, test_queries, "race")
    env = base_env(tmp_path, DATABASE_URL=url, SECRET_KEY=SECRET)
    processes = [
        subprocess.Popen([sys.executable, "-m", "chatd", "migrate"], cwd=tmp_path, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(*p.communicate(timeout=60), p.returncode) for p in processes]

    assert [(stderr, code) for _, stderr, code in results] == [("", 0), ("", 0)]
    assert sorted(stdout for stdout, _, _ in results) == [
        "applied 0 migration(s)\n",
        f"applied {len(MIGRATION_IDS)} migration(s): {', '.join(MIGRATION_IDS)}\n",
    ]
    assert query(url, test_queries, "list_applied_migrations") == [(id,) for id in MIGRATION_IDS]
    assert query(url, test_queries, "list_migration_log") == [(id, "apply") for id in MIGRATION_IDS]


def test_a_lock_left_by_a_killed_migration_does_not_block_the_next_start(tmp_path, database_url, test_queries):
    url = fresh_database(database_url, test_queries, "stale_lock")
    env = base_env(tmp_path, DATABASE_URL=url, SECRET_KEY=SECRET)
    assert chatd("migrate", cwd=tmp_path, env=env).returncode == 0
    query(url, test_queries, "leave_stale_yoyo_lock")

    result = chatd("migrate", cwd=tmp_path, env=env, timeout=20)

    assert (result.returncode, result.stdout, result.stderr) == (0, "applied 0 migration(s)\n", "")
    assert query(url, test_queries, "count_yoyo_locks") == 0


def migrate_until(url: str, last: str) -> None:
    """Apply the migrations up to and including `last`, as an older chatd would have."""
    backend = get_backend(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        migrations = read_migrations(str(resource_dir("migrations")))
        backend.apply_migrations(backend.to_apply(migrations.filter(lambda m: m.id <= last)))
    finally:
        backend.connection.close()


CASE_CLASH = (
    "chatd: migration 0005_username_case stopped: usernames that differ only in case: Alice, alice; BOB, Bob, bob\n"
    "  Usernames are becoming unique regardless of case, so each group must come down to one name.\n"
    "  Rename all but one name of each group, for example: "
    "UPDATE users SET username = 'Alice_2' WHERE username = 'Alice'; Then run chatd migrate again.\n"
)


@pytest.fixture
def case_clash(tmp_path, database_url, test_queries):
    """A database migrated by a chatd from before 0005, holding names that differ only in case."""
    url = fresh_database(database_url, test_queries, "case")
    migrate_until(url, "0004")
    for name in ("alice", "Alice", "bob", "Bob", "BOB", "carol"):
        query(url, test_queries, "insert_bare_user", username=name)
    return url, base_env(tmp_path, DATABASE_URL=url, SECRET_KEY=SECRET, CHATD_PORT=str(free_port()))


@pytest.mark.parametrize("command", [["migrate"], ["serve"]])
def test_names_differing_only_in_case_stop_the_migration_with_how_to_resolve_and_leave_the_schema_as_it_was(
    tmp_path, test_queries, case_clash, command
):
    url, env = case_clash

    result = chatd(*command, cwd=tmp_path, env=env)

    assert (result.returncode, result.stdout, result.stderr) == (1, "", CASE_CLASH)
    assert query(url, test_queries, "list_user_indexes") == [("users_pkey",), ("users_username_key",)]
    assert "0005_username_case" not in [id for (id,) in query(url, test_queries, "list_applied_migrations")]


def test_once_the_names_are_resolved_the_migration_applies(tmp_path, test_queries, case_clash):
    url, env = case_clash
    assert chatd("migrate", cwd=tmp_path, env=env).returncode == 1
    query(url, test_queries, "rename_user", old="Alice", new="Alice_2")
    query(url, test_queries, "rename_user", old="Bob", new="Bob_2")
    query(url, test_queries, "rename_user", old="BOB", new="BOB_3")

    result = chatd("migrate", cwd=tmp_path, env=env)

    pending = [id for id in MIGRATION_IDS if id >= "0005"]
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"applied {len(pending)} migration(s): {', '.join(pending)}\n"
    assert ("uq_users_lower_username",) in query(url, test_queries, "list_user_indexes")


# -- Errors are one line, never a traceback ----------------------------------------------------


@pytest.mark.parametrize(("settings", "message"), [
    ({"DB_HOST": "127.0.0.1"}, "SECRET_KEY is required when DB_HOST or DATABASE_URL is set"),
    ({"DATABASE_URL": "postgresql://u:pw@127.0.0.1/db"},
     "SECRET_KEY is required when DB_HOST or DATABASE_URL is set"),
    ({"CHATD_PORT": "abc"}, "CHATD_PORT='abc' is not a whole number"),
    ({"CHATD_PORT": "70000"}, "CHATD_PORT=70000 is not a TCP port (1-65535)"),
    ({"ALGORITHM": "XYZ"}, "ALGORITHM='XYZ' is not supported; use one of HS256, HS384, HS512"),
    ({"ACCESS_TOKEN_EXPIRE_MINUTES": "0"}, "ACCESS_TOKEN_EXPIRE_MINUTES='0' must be greater than zero"),
    ({"CHATD_LOG_FORMAT": "xml"}, "CHATD_LOG_FORMAT='xml' is not one of kv, json"),
    ({"CHATD_STORAGE": "s3"}, "CHATD_S3_BUCKET is required when CHATD_STORAGE=s3"),
    ({"DATABASE_URL": "mysql://u:pw@h/db", "SECRET_KEY": "x"},
     "DATABASE_URL must start with postgresql:// (or postgres://)"),
])
def test_a_configuration_error_is_one_line_and_exit_code_2(tmp_path, settings, message):
    result = chatd(cwd=tmp_path, env=base_env(tmp_path, **settings))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"chatd: configuration error: {message}\n"
    assert list(tmp_path.iterdir()) == []


def test_a_bad_value_in_dotenv_is_reported_like_one_in_the_environment(tmp_path):
    (tmp_path / ".env").write_text("ALGORITHM=RS256\n")
    result = chatd(cwd=tmp_path, env=base_env(tmp_path))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "chatd: configuration error: ALGORITHM='RS256' is not supported; use one of HS256, HS384, HS512\n"
    )


@pytest.mark.parametrize("command", [[], ["serve"], ["migrate"], ["migrate", "--list"], ["token", "alice"]])
def test_an_unreachable_database_is_one_line_and_a_non_zero_exit(tmp_path, command):
    closed = free_port()
    env = base_env(tmp_path, DB_HOST="127.0.0.1", DB_PORT=str(closed), SECRET_KEY="x", CHATD_PORT=str(free_port()))
    result = chatd(*command, cwd=tmp_path, env=env)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("chatd: cannot connect to the database: ")
    assert result.stderr.count("\n") == 1
    assert result.stderr.endswith("\n")


def test_help_lists_the_subcommands():
    result = subprocess.run([sys.executable, "-m", "chatd", "--help"], capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("usage: chatd [-h] COMMAND ...\n")
    for name, text in [("serve", r"run the server \(the default\)"),
                       ("migrate", "apply pending database migrations"),
                       ("seed", "create the 3 sample servers and make every user a member"),
                       ("stats", "print message, user, connection and size statistics"),
                       ("token", "print a fresh access token for an existing user")]:
        assert re.search(rf"^\s+{name}\s+{text}$", result.stdout, re.MULTILINE), name


def test_migrate_help_shows_the_list_option():
    result = subprocess.run([sys.executable, "-m", "chatd", "migrate", "--help"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert re.search(r"^\s+--list\s+show applied and pending migrations$", result.stdout, re.MULTILINE)


def test_a_count_that_is_not_ascii_digits_is_a_usage_error_not_a_traceback():
    result = subprocess.run([sys.executable, "-m", "chatd", "seed", "--demo-users", "¹"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.endswith("argument --demo-users: '¹' is not a whole number of 0 or more\n"), result.stderr
