"""The debug page at / in a real browser: Debian's chromium driven by Playwright, against a real
chatd app and PostgreSQL. One browser for the module; each person is a browser context."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright, expect

from chatd.app import create_app
from chatd.domain.tokens import issue_token
from chatd.config import Config
from chatd.domain.schemas import User
from tests.conftest import PASSWORD

# The browser and the app live for the whole module, so every test shares the module's loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

CHROMIUM = "/usr/bin/chromium"
# No sandbox (CI runs as root in a container); nothing that would reach for the network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
MARKUP = "<img src=x onerror=alert(1)>"


@dataclass
class Chatd:
    url: str
    config: Config
    http: aiohttp.ClientSession


@dataclass
class Person:
    id: str
    name: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Tab:
    """One person's page, with everything it reported that a user would not see."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    socket_urls: list[str] = field(default_factory=list)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chatd(database_url) -> AsyncIterator[Chatd]:
    config = Config(secret_key="test-secret-key-that-is-long-enough", database_url=database_url, rate_limit=None)
    server = TestServer(create_app(config), host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        yield Chatd(str(server.make_url("")).rstrip("/"), config, http)
    await server.close()


@pytest_asyncio.fixture(loop_scope="module")
async def db(database_url, test_queries) -> AsyncIterator[asyncpg.Connection]:
    con = await asyncpg.connect(database_url)
    await test_queries.reset_tables(con)
    yield con
    await con.close()


@pytest_asyncio.fixture(loop_scope="module")
async def people(db, chatd, app_queries, password_hash):
    """alice and bob, who can log in with PASSWORD."""
    made = {}
    for name in ("alice", "bob"):
        row = await app_queries.create_user(db, username=name, password_hash=password_hash, email=None)
        token, _ = issue_token(chatd.config, User(row["user_id"], name))
        made[name] = Person(str(row["user_id"]), name, token)
    return made


@pytest.fixture
def alice(people) -> Person:
    return people["alice"]


@pytest.fixture
def bob(people) -> Person:
    return people["bob"]


async def rest(chatd: Chatd, method: str, path: str, person: Person, body=None, status: int = 200):
    async with chatd.http.request(method, chatd.url + path, json=body, headers=person.auth) as resp:
        assert resp.status == status, await resp.text()
        return await resp.json() if resp.status != 204 else None


@dataclass
class Guild:
    id: str
    general: str

    @property
    def messages(self) -> str:
        return f"/chat/servers/{self.id}/channels/{self.general}/messages"


@pytest_asyncio.fixture(loop_scope="module")
async def guild(chatd, alice, bob) -> Guild:
    """alice's server "Guild", with bob as a MEMBER."""
    created = await rest(chatd, "POST", "/chat/servers", alice, {"name": "Guild"}, status=201)
    await rest(chatd, "POST", f"/chat/servers/{created['id']}/members", alice, {"username": "bob"}, status=201)
    channels = await rest(chatd, "GET", f"/chat/servers/{created['id']}/channels", alice)
    return Guild(created["id"], channels[0]["id"])


@pytest_asyncio.fixture(loop_scope="module")
async def open_tab(browser, chatd) -> AsyncIterator:
    """open_tab(person): a fresh browser context on /, signed in with the person's token."""
    contexts = []

    async def open_tab(person: Person | None = None, path: str = "/") -> Tab:
        context = await browser.new_context()
        contexts.append(context)
        page = await context.new_page()
        tab = Tab(page)
        page.on("console", lambda m: _console_error(tab, m))
        page.on("pageerror", lambda error: tab.console_errors.append(str(error)))
        page.on("dialog", lambda dialog: _dismiss(tab, dialog))
        page.on("websocket", lambda ws: tab.socket_urls.append(ws.url))
        await page.goto(chatd.url + path)
        if person is not None:
            await page.fill("#token-input", person.token)
            await page.click("#token-form button")
            await expect(page.locator("#conn-state")).to_have_text(f"connected: {person.name}")
        return tab

    yield open_tab
    for context in contexts:
        await context.close()


def _console_error(tab: Tab, message: ConsoleMessage) -> None:
    if message.type == "error":
        tab.console_errors.append(message.text)


async def _dismiss(tab: Tab, dialog) -> None:
    tab.dialogs.append(dialog.message)
    await dialog.dismiss()


def texts(page: Page):
    return page.locator("#messages li.message .text")


async def sign_in_with_password(page: Page, username: str, button: str) -> None:
    """Through the sign-in form: `button` is #login or #register."""
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click(button)
    await expect(page.locator("#conn-state")).to_have_text(f"connected: {username}")


async def test_registering_through_the_page_signs_in_with_no_console_errors(open_tab, db):
    tab = await open_tab()
    page = tab.page
    await sign_in_with_password(page, "dora", "#register")
    await expect(page.locator("#whoami")).to_have_text("dora")
    assert tab.console_errors == []
    # The token is in sessionStorage, and the socket's URL carries none.
    token = await page.evaluate("sessionStorage.getItem('chatd.token')")
    assert tab.socket_urls == [page.url.replace("http://", "ws://").rstrip("/") + "/chat/ws"]
    me = await (await page.request.get(page.url + "auth/me", headers={"Authorization": f"Bearer {token}"})).json()
    claims = json.loads(await page.locator("#claims").text_content())
    assert set(claims) == {"user_id", "sub", "username", "iat", "exp", "jti"}
    assert (claims["user_id"], claims["username"], claims["exp"] - claims["iat"]) == (me["user_id"], "dora", 1800)
    assert re.fullmatch(r"expires \S+Z \(in 30 min\)", await page.locator("#expiry").text_content())


async def test_a_message_from_one_user_appears_live_for_the_other_with_typing_first(open_tab, alice, bob, guild):
    alice_tab, bob_tab = await open_tab(alice), await open_tab(bob)
    await expect(alice_tab.page.locator("#channel-title")).to_have_text("# general")
    await expect(bob_tab.page.locator("#channel-title")).to_have_text("# general")
    await bob_tab.page.type("#composer-text", "hello alice")
    await expect(alice_tab.page.locator("#typing")).to_have_text("bob is typing…")
    await bob_tab.page.press("#composer-text", "Enter")
    await expect(texts(alice_tab.page)).to_have_text(["hello alice"])
    await expect(alice_tab.page.locator("#messages li.message .author")).to_have_text(["bob"])
    await expect(alice_tab.page.locator("#typing")).to_have_text("")
    # The sender's optimistic copy is replaced by the echo: once, confirmed, with its seq.
    await expect(bob_tab.page.locator("#messages li.message")).to_have_count(1)
    await expect(bob_tab.page.locator("#messages li.message")).to_have_attribute("data-seq", "1")
    await expect(bob_tab.page.locator("#messages li.pending")).to_have_count(0)
    assert alice_tab.console_errors == [] and bob_tab.console_errors == []


async def test_load_older_pages_back_to_the_first_message(open_tab, alice, guild, db, test_queries):
    await test_queries.insert_messages(db, channel_id=guild.general, user_id=alice.id, n=60,
                                       newest=datetime.now(timezone.utc))
    page = (await open_tab(alice)).page
    await expect(texts(page)).to_have_text([f"message {i}" for i in range(11, 61)])
    await page.click("#load-older")
    await expect(texts(page)).to_have_text([f"message {i}" for i in range(1, 61)])
    await expect(page.locator("#load-older")).to_be_disabled()
    await expect(page.locator("#load-older")).to_have_text("Beginning of the channel")


async def test_markup_in_a_message_is_shown_as_text_and_runs_nothing(open_tab, chatd, alice, bob, guild):
    await rest(chatd, "POST", guild.messages, bob, {"text": MARKUP}, status=201)
    tab = await open_tab(alice)
    await expect(texts(tab.page)).to_have_text([MARKUP])
    await tab.page.fill("#composer-text", MARKUP + " live")
    await tab.page.press("#composer-text", "Enter")
    await expect(texts(tab.page)).to_have_text([MARKUP, MARKUP + " live"])
    await tab.page.wait_for_timeout(200)  # time for an onerror handler to have fired, if any
    assert await tab.page.locator("img").count() == 0
    assert tab.dialogs == []
    assert tab.console_errors == []


async def test_invalid_raw_frames_are_answered_with_errors_and_the_connection_stays_up(open_tab, alice, guild):
    page = (await open_tab(alice)).page
    errors = page.locator("#event-log li.in[data-type='error'] pre")
    for frame in ("not json", '{"type": "dance"}', '{"type": "send_message"}'):
        await page.fill("#raw-frame", frame)
        await page.click("#raw-send")
    await expect(errors).to_have_count(3)
    messages = [json.loads(text)["message"] for text in await errors.all_text_contents()]
    assert messages[:2] == ["invalid send_message frame: Object missing required field `serverId`",
                            "unknown event type 'dance'"]
    assert messages[2] == "frames must be JSON objects"
    await expect(page.locator("#event-log li.out[data-type='not JSON'] pre")).to_have_text(["not json"])
    await page.fill("#raw-frame", '{"type": "get_servers"}')
    await page.click("#raw-send")
    await expect(page.locator("#event-log li.in[data-type='servers_data']")).to_have_count(1)
    await expect(page.locator("#conn-state")).to_have_text("connected: alice")
    await expect(page.locator("#close-log li")).to_have_count(0)


async def test_the_event_log_filter_hides_frames_that_do_not_match(open_tab, alice, guild):
    page = (await open_tab(alice)).page
    await page.fill("#raw-frame", '{"type": "get_servers"}')
    await page.click("#raw-send")
    await expect(page.locator("#event-log li.in[data-type='servers_data']")).to_have_count(1)
    await page.fill("#log-filter", "servers_data")
    await expect(page.locator("#event-log li:visible .meta")).to_have_text([re.compile(r"^← in · servers_data · ")])


async def test_reconnect_with_resume_shows_the_messages_sent_while_disconnected(open_tab, chatd, alice, bob, guild):
    await rest(chatd, "POST", guild.messages, bob, {"text": "before"}, status=201)
    page = (await open_tab(alice)).page
    await expect(texts(page)).to_have_text(["before"])
    await page.click("#disconnect")
    await expect(page.locator("#conn-state")).to_have_text("closed: 1000 normal")
    await expect(page.locator("#close-log li")).to_have_text([re.compile(r" closed 1000 \(normal\): closed by the page$")])
    for text in ("missed 1", "missed 2", "missed 3"):
        await rest(chatd, "POST", guild.messages, bob, {"text": text}, status=201)
    await page.wait_for_timeout(200)
    await expect(texts(page)).to_have_text(["before"])
    await page.click("#reconnect-resume")
    await expect(texts(page)).to_have_text(["before", "missed 1", "missed 2", "missed 3"])
    resume = page.locator("#event-log li.out[data-type='resume'] pre")
    assert json.loads(await resume.text_content()) == {
        "type": "resume", "serverId": guild.id, "channelId": guild.general, "afterSeq": 1}
    await expect(page.locator("#event-log li.in[data-type='resumed']")).to_have_count(1)
    await expect(page.locator("#conn-state")).to_have_text("connected: alice")


async def test_an_admin_manages_channels_and_members_and_the_member_sees_it_live(open_tab, alice, bob, guild):
    alice_tab, bob_tab = await open_tab(alice), await open_tab(bob)
    alice_page, bob_page = alice_tab.page, bob_tab.page
    await expect(bob_page.locator("#channel-form")).to_be_hidden()
    await expect(bob_page.locator("#member-form")).to_be_hidden()
    await alice_page.fill("#channel-name", "lounge")
    await alice_page.select_option("#channel-type", "VOICE")
    await alice_page.click("#channel-form button")
    await expect(bob_page.locator("#channels li")).to_have_text(["# generalTEXT", "🔊 loungeVOICE"])
    await expect(alice_page.locator("#channels li")).to_have_text(["# generalTEXT", "🔊 loungeVOICE"])
    await alice_page.click("#members li:has-text('bob') .remove")
    await expect(bob_page.locator("#servers li")).to_have_count(0)
    await expect(bob_page.locator("#channel-title")).to_have_text("No channel selected")
    await expect(alice_page.locator("#members .name")).to_have_text(["alice"])
    await alice_page.fill("#member-name", "bob")
    await alice_page.click("#member-form button")
    await expect(bob_page.locator("#servers li button")).to_have_text(["Guild"])
    await expect(alice_page.locator("#members .name")).to_have_text(["alice", "bob"])
    assert alice_tab.console_errors == [] and bob_tab.console_errors == []


async def test_creating_a_server_selects_it_and_hears_its_messages(open_tab, chatd, alice):
    page = (await open_tab(alice)).page
    await page.fill("#server-name", "Fresh")
    await page.click("#server-form button")
    await expect(page.locator("#servers li.selected button")).to_have_text("Fresh")
    await expect(page.locator("#channel-title")).to_have_text("# general")
    servers = await rest(chatd, "GET", "/chat/servers", alice)
    channels = await rest(chatd, "GET", f"/chat/servers/{servers[0]['id']}/channels", alice)
    await rest(chatd, "POST", f"/chat/servers/{servers[0]['id']}/channels/{channels[0]['id']}/messages", alice,
               {"text": "over rest"}, status=201)
    await expect(texts(page)).to_have_text(["over rest"])


async def test_changing_the_password_then_logging_out_everywhere_signs_the_page_out_and_ends_its_tokens(
        open_tab, chatd, alice, guild):
    tab = await open_tab()
    page = tab.page
    await sign_in_with_password(page, "alice", "#login")
    first = await page.evaluate("sessionStorage.getItem('chatd.token')")

    await page.fill("#old-password", PASSWORD)
    await page.fill("#new-password", "a brand new passphrase")
    await page.click("#password-form button")
    await expect(page.locator("#notice")).to_have_text("password changed: every other session is signed out")
    await expect(page.locator("#conn-state")).to_have_text("connected: alice")
    second = await page.evaluate("sessionStorage.getItem('chatd.token')")
    assert second != first
    await expect(page.locator("#old-password")).to_have_value("")

    await page.click("#logout-all")
    await expect(page.locator("#notice")).to_have_text("logged out everywhere")
    await expect(page.locator("#auth")).to_be_visible()
    await expect(page.locator("#main")).to_be_hidden()
    await expect(page.locator("#logout")).to_be_hidden()
    await expect(page.locator("#logout-all")).to_be_hidden()
    await expect(page.locator("#whoami")).to_have_text("")
    assert await page.evaluate("sessionStorage.getItem('chatd.token')") is None
    for token in (first, second):
        async with chatd.http.get(chatd.url + "/auth/me", headers={"Authorization": f"Bearer {token}"}) as resp:
            assert (resp.status, await resp.json()) == (401, {"detail": "token revoked"})
    assert tab.console_errors == []
