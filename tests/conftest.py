"""Fixtures: one real PostgreSQL per session (embedded, or CHATD_TEST_DATABASE_URL), migrated
once; every test starts from empty tables and talks to a real chatd app over HTTP."""

from __future__ import annotations

import asyncio
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID, uuid4

import aiobotocore.session
import aiohttp
import aiosql
import asyncpg
import pytest

from chatd.app import create_app
from chatd.domain.passwords import hash_password
from chatd.domain.tokens import issue_token
from chatd.config import Config, S3Settings
from chatd.store.pool import load_queries
from chatd.store.migrations import apply_migrations
from chatd.store.s3 import S3Storage
from chatd.domain.schemas import User
from tests.background import prepare
from tests.processes import ChatdProcess
from tests.s3server import moto_server, moto_server_command
from tests.zipapp import build_pyz

TEST_SQL = Path(__file__).parent / "sql"
PASSWORD = "correct horse battery"


# What the fixtures named here need is slow to make: it is started on threads as soon as the
# tests to run are known (tests/background.py), and the tests that use them run last, so the
# preparation overlaps all the others.
PREPARATIONS = {"s3_endpoint": moto_server_command, "pyz": build_pyz}


def needs_preparation(item: pytest.Item) -> bool:
    return any(name in PREPARATIONS for name in getattr(item, "fixturenames", ()))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=needs_preparation)  # stable: each group keeps its order


def pytest_collection_finish(session: pytest.Session) -> None:
    wanted = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    for fixture, job in PREPARATIONS.items():
        if fixture in wanted:
            prepare(job)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """A migrated database for the whole session. CHATD_TEST_DATABASE_URL must name a superuser,
    as the embedded server's is: tests/sql/reset.sql empties tables in replica mode."""
    url = os.environ.get("CHATD_TEST_DATABASE_URL")
    if url is None:
        import pgserver

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
        url = server.get_uri()
    apply_migrations(url)
    return url


@pytest.fixture(scope="session")
def test_queries():
    return aiosql.from_path(TEST_SQL, "asyncpg")


@pytest.fixture(scope="session")
def app_queries():
    """The running app's named queries (sql/*.sql), for setting up state without going through HTTP."""
    return load_queries()


@pytest.fixture(scope="session")
def password_hash() -> str:
    """PASSWORD's argon2id hash: at ~0.2 s of CPU each, users share one computed per session."""
    return hash_password(PASSWORD)


@pytest.fixture
async def db(database_url, test_queries):
    """A connection to the test database, whose tables are empty at the start of the test."""
    con = await asyncpg.connect(database_url)
    await test_queries.reset_tables(con)
    yield con
    await con.close()


@pytest.fixture
def config(database_url, tmp_path) -> Config:
    """Rate limits are off (tests post many messages quickly); tests of the limit turn it on.
    Uploads go to the test's own directory."""
    return Config(secret_key="test-secret-key-that-is-long-enough", database_url=database_url,
                  cors_origins=("https://app.example",), rate_limit=None, upload_dir=tmp_path / "uploads")


@pytest.fixture
def lock_waiters(db, test_queries):
    """Waits until `n` backends wait for a lock: how a test knows its requests are queued
    behind a row it holds."""

    async def wait(n: int) -> None:
        async with asyncio.timeout(10):
            while await test_queries.count_lock_waiters(db) < n:
                await asyncio.sleep(0.01)

    return wait


@pytest.fixture
async def client(aiohttp_client, config, db):
    return await aiohttp_client(create_app(config))


@dataclass
class Person:
    id: UUID
    name: str
    token: str
    auth: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def make_user(db, config, app_queries, password_hash):
    """A user who can log in with PASSWORD, stored by chatd's own create_user query (registering
    over REST is tested in test_auth_api); the token is minted directly."""

    async def make(name: str) -> Person:
        row = await app_queries.create_user(db, username=name, password_hash=password_hash, email=None)
        assert row is not None, f"username {name!r} is taken"
        token, _ = issue_token(config, User(row["user_id"], name))
        return Person(row["user_id"], name, token, {"Authorization": f"Bearer {token}"})

    return make


@pytest.fixture
async def alice(make_user) -> Person:
    return await make_user("alice")


@pytest.fixture
async def bob(make_user) -> Person:
    return await make_user("bob")


@pytest.fixture
async def carol(make_user) -> Person:
    return await make_user("carol")


@dataclass
class Server:
    id: str
    general: str  # the id of its `general` TEXT channel

    @property
    def url(self) -> str:
        return f"/chat/servers/{self.id}"


@pytest.fixture
async def server(client, alice) -> Server:
    """A server alice created (she is its ADMIN)."""
    resp = await client.post("/chat/servers", json={"name": "Guild"}, headers=alice.auth)
    assert resp.status == 201
    server_id = (await resp.json())["id"]
    channels = await (await client.get(f"/chat/servers/{server_id}/channels", headers=alice.auth)).json()
    return Server(server_id, channels[0]["id"])


@pytest.fixture
def add_member(client, alice, server):
    """alice adds someone to her server with a role."""

    async def add(person: Person, role: str = "MEMBER") -> None:
        resp = await client.post(f"{server.url}/members", json={"user_id": str(person.id), "role": role},
                                 headers=alice.auth)
        assert resp.status == 201, await resp.text()

    return add


# Several real chatd processes (tests/processes.py) on the test database.

@pytest.fixture
async def start(database_url, config, db):
    """Start chatd processes on the test database; all are stopped after the test."""
    started: list[ChatdProcess] = []

    async def start_one(**settings: str) -> ChatdProcess:
        process = ChatdProcess(database_url, config.secret_key, **settings)
        started.append(process)
        return await process.start()

    yield start_one
    await asyncio.gather(*(p.stop() for p in started if p.process.returncode is None), return_exceptions=True)


@pytest.fixture
async def http():
    """No connection cap: aiohttp's default of 100 would make the 101st request wait forever."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        yield session


# The S3 storage backend against moto's S3 server on loopback (tests/s3server.py).

@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """One moto server for the session, installed into its own environment on first use."""
    with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as url:
        yield url


@pytest.fixture
async def s3_client(s3_endpoint):
    """A plain aiobotocore client of the test server, to look behind S3Storage's back."""
    session = aiobotocore.session.get_session()
    async with session.create_client("s3", region_name="us-east-1", endpoint_url=s3_endpoint,
                                     aws_access_key_id="testing", aws_secret_access_key="testing") as s3:
        yield s3


@pytest.fixture
async def s3_settings(s3_endpoint, s3_client) -> S3Settings:
    """A new, empty bucket for each test."""
    bucket = f"chatd-{uuid4().hex}"
    await s3_client.create_bucket(Bucket=bucket)
    return S3Settings(bucket=bucket, endpoint=s3_endpoint, access_key_id="testing", secret_access_key="testing")


@pytest.fixture
async def s3_storage(s3_settings):
    storage = S3Storage(s3_settings)
    yield storage
    await storage.close()
