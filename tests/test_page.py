"""The debug page at / in a real browser: Debian's chromium driven by Playwright, against a real
chatd app and PostgreSQL. One browser for the module; each person is a browser context."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import quote
from uuid import UUID

import aiohttp
import aiosql
import asyncpg
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright, expect

from aiohttp import web

from chatd.app import create_app
from chatd.domain.tokens import issue_token
from chatd.config import Config
from chatd.domain.schemas import User
from chatd.ops.sweeps import sweep_changes
from tests.conftest import PASSWORD, TEST_SQL

# The browser and the app live for the whole module, so every test shares the module's loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

CHROMIUM = "/usr/bin/chromium"
# No sandbox (CI runs as root in a container); nothing that would reach for the network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
MARKUP = "<img src=x onerror=alert(1)>"
EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢"]
change_queries = aiosql.from_path(TEST_SQL / "changes.sql", "asyncpg")


@dataclass
class Chatd:
    url: str
    config: Config
    http: aiohttp.ClientSession
    app: web.Application


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
async def chatd(database_url, tmp_path_factory) -> AsyncIterator[Chatd]:
    config = Config(secret_key="test-secret-key-that-is-long-enough", database_url=database_url, rate_limit=None,
                    upload_dir=tmp_path_factory.mktemp("uploads"))
    server = TestServer(create_app(config), host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        yield Chatd(str(server.make_url("")).rstrip("/"), config, http, server.app)
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

    def reactions(self, message_id: str, emoji: str | None = None) -> str:
        path = f"{self.messages}/{message_id}/reactions"
        return path if emoji is None else f"{path}/{quote(emoji)}/@me"


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

    async def open_tab(person: Person | None = None, path: str = "/", before_sign_in=None) -> Tab:
        """`before_sign_in(page)`, when given, runs once the page is loaded (to route requests)."""
        context = await browser.new_context()
        contexts.append(context)
        page = await context.new_page()
        tab = Tab(page)
        page.on("console", lambda m: _console_error(tab, m))
        page.on("pageerror", lambda error: tab.console_errors.append(str(error)))
        page.on("dialog", lambda dialog: _dismiss(tab, dialog))
        page.on("websocket", lambda ws: tab.socket_urls.append(ws.url))
        await page.goto(chatd.url + path)
        if before_sign_in is not None:
            await before_sign_in(page)
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


def message(page: Page, text: str):
    """The message shown with exactly this text."""
    return page.locator("#messages li.message").filter(
        has=page.locator(".text", has_text=re.compile(f"^{re.escape(text)}$")))


def chips(page: Page, text: str):
    return message(page, text).locator(".reactions .chip")


async def shown(page: Page) -> list[dict]:
    """Each message as the page shows it: text, edited marker, reply preview, reaction chips."""
    return await page.locator("#messages li.message").evaluate_all("""items => items.map((li) => ({
        text: li.querySelector(".text").textContent,
        edited: li.querySelector(".edited") !== null,
        reply: li.querySelector(".reply")?.textContent ?? null,
        chips: [...li.querySelectorAll(".chip")].map((c) => c.textContent + (c.classList.contains("mine") ? " mine" : "")),
    }))""")


async def post(chatd: Chatd, guild: Guild, person: Person, text: str, channel: str | None = None, **extra) -> dict:
    path = guild.messages if channel is None else f"/chat/servers/{guild.id}/channels/{channel}/messages"
    return await rest(chatd, "POST", path, person, {"text": text, **extra}, status=201)


async def last_event_seq(chatd: Chatd, guild: Guild, person: Person, channel: str) -> int:
    changes = await rest(chatd, "GET", f"/chat/servers/{guild.id}/channels/{channel}/changes?limit=500", person)
    return changes[-1]["eventSeq"]


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
    # Replies show the text they reply to as text too, above the composer and on the message.
    await message(tab.page, MARKUP).locator(".reply-button").click()
    await expect(tab.page.locator("#replying-text")).to_have_text(MARKUP)
    await tab.page.fill("#composer-text", "a reply")
    await tab.page.press("#composer-text", "Enter")
    await expect(message(tab.page, "a reply").locator(".reply-text")).to_have_text(MARKUP)
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
    assert messages[:2] == ["invalid send_message frame: Object missing required field `channelId`",
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
    assert json.loads(await resume.text_content()) == {"type": "resume", "channels": {guild.general: 1}}
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


async def test_the_author_edits_inline_and_the_other_user_sees_the_text_and_edited_marker_live(
        open_tab, chatd, alice, bob, guild):
    first = await post(chatd, guild, alice, "first draft")
    await post(chatd, guild, bob, "bob's line")
    alice_tab, bob_tab = await open_tab(alice), await open_tab(bob)
    a, b = alice_tab.page, bob_tab.page
    await expect(texts(b)).to_have_text(["first draft", "bob's line"])
    # Only the author's own messages have an Edit button, for ADMINs too.
    await expect(message(a, "first draft").locator(".edit-button")).to_have_count(1)
    await expect(message(a, "bob's line").locator(".edit-button")).to_have_count(0)
    await expect(message(b, "first draft").locator(".edit-button")).to_have_count(0)
    # Escape and Cancel put the text back and save nothing.
    await message(a, "first draft").locator(".edit-button").click()
    await expect(a.locator(".edit-text")).to_have_value("first draft")
    await a.fill(".edit-text", "never saved")
    await a.press(".edit-text", "Escape")
    await message(a, "first draft").locator(".edit-button").click()
    await a.fill(".edit-text", "never saved either")
    await a.click(".edit-cancel")
    await expect(texts(a)).to_have_text(["first draft", "bob's line"])
    # A refused edit keeps the field open and says why.
    await message(a, "first draft").locator(".edit-button").click()
    await a.fill(".edit-text", "   ")
    await a.press(".edit-text", "Enter")
    await expect(a.locator("#notice")).to_have_text("text must not be blank")
    await expect(a.locator(".edit-text")).to_have_count(1)
    await a.fill(".edit-text", "second draft")
    await a.press(".edit-text", "Enter")
    for page in (a, b):
        await expect(texts(page)).to_have_text(["second draft", "bob's line"])
        await expect(message(page, "second draft").locator(".edited")).to_have_text("(edited)")
        await expect(message(page, "bob's line").locator(".edited")).to_have_count(0)
    await expect(b.locator("#event-log li.in[data-type='message_updated']")).to_have_count(1)
    history = await rest(chatd, "GET", guild.messages, bob)
    assert history[0]["text"] == "second draft" and history[0]["edited_at"] is not None
    # The same over the socket, an edit_message frame from the raw composer: both pages follow.
    await a.fill("#raw-frame", json.dumps({"type": "edit_message", "serverId": guild.id, "channelId": guild.general,
                                           "messageId": first["id"], "text": "third draft"}))
    await a.click("#raw-send")
    for page in (a, b):
        await expect(texts(page)).to_have_text(["third draft", "bob's line"])
        await expect(message(page, "third draft").locator(".edited")).to_have_text("(edited)")
    # Chromium logs the refused request itself; the page logs nothing.
    assert alice_tab.console_errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
    assert bob_tab.console_errors == []


async def test_deleting_removes_messages_live_and_a_member_may_delete_only_their_own(open_tab, chatd, alice, bob, guild):
    await post(chatd, guild, alice, "alice's")
    bulk = [await post(chatd, guild, bob, f"bob's {i}") for i in range(1, 5)][2:]
    alice_tab, bob_tab = await open_tab(alice), await open_tab(bob)
    a, b = alice_tab.page, bob_tab.page
    await expect(texts(b)).to_have_text(["alice's", "bob's 1", "bob's 2", "bob's 3", "bob's 4"])
    await expect(a.locator("#messages .delete-button")).to_have_count(5)  # an ADMIN deletes any
    await expect(b.locator("#messages .delete-button")).to_have_count(4)  # a MEMBER their own
    await expect(message(b, "alice's").locator(".delete-button")).to_have_count(0)
    await message(b, "bob's 1").locator(".delete-button").click()
    await message(a, "bob's 2").locator(".delete-button").click()
    for page in (a, b):
        await expect(texts(page)).to_have_text(["alice's", "bob's 3", "bob's 4"])
    await rest(chatd, "POST", f"{guild.messages}/bulk-delete", alice, {"ids": [m["id"] for m in bulk]}, status=204)
    for page in (a, b):
        await expect(texts(page)).to_have_text(["alice's"])
        await expect(page.locator("#event-log li.in[data-type='message_deleted']")).to_have_count(2)
        await expect(page.locator("#event-log li.in[data-type='messages_deleted']")).to_have_count(1)
    assert [m["text"] for m in await rest(chatd, "GET", guild.messages, bob)] == ["alice's"]
    assert alice_tab.console_errors == [] and bob_tab.console_errors == []


async def test_a_reply_shows_what_it_replies_to_and_the_preview_follows_edits_and_the_deletion(
        open_tab, chatd, alice, bob, guild):
    question = await post(chatd, guild, alice, "question?")
    alice_tab, bob_tab = await open_tab(alice), await open_tab(bob)
    a, b = alice_tab.page, bob_tab.page
    await message(b, "question?").locator(".reply-button").click()
    await expect(b.locator("#replying")).to_be_visible()
    await expect(b.locator("#replying-to")).to_have_text("alice")
    await expect(b.locator("#replying-text")).to_have_text("question?")
    await b.click("#reply-cancel")
    await expect(b.locator("#replying")).to_be_hidden()
    await message(b, "question?").locator(".reply-button").click()
    await b.fill("#composer-text", "answer")
    await b.press("#composer-text", "Enter")
    await expect(b.locator("#replying")).to_be_hidden()
    sent = json.loads(await b.locator("#event-log li.out[data-type='send_message'] pre").text_content())
    assert sent["replyTo"] == question["id"]
    for page in (a, b):
        await expect(message(page, "answer").locator(".reply")).to_have_text("↪ alice question?")
    await message(a, "question?").locator(".edit-button").click()
    await a.fill(".edit-text", "question, reworded?")
    await a.press(".edit-text", "Enter")
    for page in (a, b):
        await expect(message(page, "answer").locator(".reply-text")).to_have_text("question, reworded?")
    await message(a, "question, reworded?").locator(".delete-button").click()
    for page in (a, b):
        await expect(texts(page)).to_have_text(["answer"])
        await expect(message(page, "answer").locator(".reply.deleted")).to_have_text("↪ deleted message")
    # History says the same to a page opened now.
    fresh = (await open_tab(bob)).page
    await expect(message(fresh, "answer").locator(".reply.deleted")).to_have_text("↪ deleted message")
    # A reply being written to a message that is then deleted is given up, with a word why.
    doomed = await post(chatd, guild, alice, "doomed")
    await message(b, "doomed").locator(".reply-button").click()
    await expect(b.locator("#replying-text")).to_have_text("doomed")
    await rest(chatd, "DELETE", f"{guild.messages}/{doomed['id']}", alice, status=204)
    await expect(b.locator("#replying")).to_be_hidden()
    await expect(b.locator("#notice")).to_have_text("the message you were replying to was deleted")
    assert alice_tab.console_errors == [] and bob_tab.console_errors == []


async def test_reactions_from_the_palette_show_as_chips_with_counts_and_clicking_yours_takes_it_back(
        open_tab, chatd, alice, bob, guild):
    target = await post(chatd, guild, bob, "react to me")
    await post(chatd, guild, bob, "every emoji")
    alice_tab, bob_tab = await open_tab(alice), await open_tab(bob)
    a, b = alice_tab.page, bob_tab.page
    palette = message(a, "react to me").locator(".palette")
    await expect(palette).to_be_hidden()
    await message(a, "react to me").locator(".react-button").click()
    await expect(palette.locator("button")).to_have_text(EMOJI)
    await palette.locator("button", has_text="👍").click()
    await expect(palette).to_be_hidden()
    for page in (a, b):
        await expect(chips(page, "react to me")).to_have_text(["👍 1"])
    await expect(chips(a, "react to me")).to_have_class("chip mine")
    await expect(chips(b, "react to me")).to_have_class("chip")
    await chips(b, "react to me").click()  # someone else's chip: bob reacts too
    for page in (a, b):
        await expect(chips(page, "react to me")).to_have_text(["👍 2"])
    await expect(chips(b, "react to me")).to_have_class("chip mine")
    await message(b, "react to me").locator(".react-button").click()
    await message(b, "react to me").locator(".palette button", has_text="❤️").click()
    await chips(a, "react to me").filter(has_text="👍").click()  # alice's own: taken back
    for page in (a, b):
        await expect(chips(page, "react to me")).to_have_text(["👍 1", "❤️ 1"])
    await expect(chips(a, "react to me")).to_have_class(["chip", "chip"])
    await expect(chips(b, "react to me")).to_have_class(["chip mine", "chip mine"])
    # Every emoji of the palette is one the server takes, shown as it answers.
    for emoji in EMOJI:
        await message(a, "every emoji").locator(".react-button").click()
        await message(a, "every emoji").locator(".palette button", has_text=emoji).click()
    await expect(chips(b, "every emoji")).to_have_text([f"{emoji} 1" for emoji in EMOJI])
    history = await rest(chatd, "GET", guild.messages, bob)
    assert history[0]["reactions"] == [{"emoji": "👍", "count": 1, "me": True}, {"emoji": "❤️", "count": 1, "me": True}]
    await rest(chatd, "DELETE", guild.reactions(target["id"]), alice, status=204)
    for page in (a, b):
        await expect(chips(page, "react to me")).to_have_count(0)
        await expect(page.locator("#event-log li.in[data-type='reactions_cleared']")).to_have_count(1)
    assert alice_tab.console_errors == [] and bob_tab.console_errors == []


async def test_a_reconnect_resumes_every_known_channel_in_one_frame_and_ends_as_a_page_opened_afresh(
        open_tab, chatd, alice, bob, guild):
    news = (await rest(chatd, "POST", f"/chat/servers/{guild.id}/channels", alice,
                       {"name": "news", "type": "TEXT"}, status=201))["id"]
    edited = await post(chatd, guild, bob, "edit me")
    doomed = await post(chatd, guild, bob, "delete me")
    kept = await post(chatd, guild, bob, "keep")
    # Reactions after the newest message: the page is past that message's event_seq, and a
    # resume from there would count them twice.
    await rest(chatd, "PUT", guild.reactions(kept["id"], "🎉"), alice, status=204)
    await rest(chatd, "PUT", guild.reactions(edited["id"], "👍"), bob, status=204)
    tab = await open_tab(alice)
    page = tab.page
    await expect(chips(page, "edit me")).to_have_text(["👍 1"])
    await expect(chips(page, "keep")).to_have_text(["🎉 1"])
    await post(chatd, guild, bob, "in news", channel=news)
    await expect(page.locator("#channels li.unread button")).to_have_text(["# news"])
    general_at = await last_event_seq(chatd, guild, alice, guild.general)
    news_at = await last_event_seq(chatd, guild, alice, news)

    await page.click("#disconnect")
    await expect(page.locator("#conn-state")).to_have_text("closed: 1000 normal")
    await rest(chatd, "PATCH", f"{guild.messages}/{edited['id']}", bob, {"text": "edited while away"})
    await rest(chatd, "DELETE", guild.reactions(edited["id"], "👍"), bob, status=204)
    await rest(chatd, "PUT", guild.reactions(edited["id"], "❤️"), bob, status=204)
    await rest(chatd, "PUT", guild.reactions(edited["id"], "😮"), alice, status=204)
    await rest(chatd, "DELETE", f"{guild.messages}/{doomed['id']}", bob, status=204)
    await post(chatd, guild, bob, "sent while away", reply_to=edited["id"])
    await post(chatd, guild, bob, "news while away", channel=news)
    await page.click("#reconnect-resume")

    await expect(page.locator("#event-log li.in[data-type='resumed']")).to_have_count(1)
    resumes = await page.locator("#event-log li.out[data-type='resume'] pre").all_text_contents()
    assert [json.loads(text) for text in resumes] == [
        {"type": "resume", "channels": {guild.general: general_at, news: news_at}}]
    resumed = json.loads(await page.locator("#event-log li.in[data-type='resumed'] pre").text_content())
    assert resumed == {"type": "resumed", "channels": {
        guild.general: await last_event_seq(chatd, guild, alice, guild.general),
        news: await last_event_seq(chatd, guild, alice, news)}}
    expected = [
        {"text": "edited while away", "edited": True, "reply": None, "chips": ["❤️ 1", "😮 1 mine"]},
        {"text": "keep", "edited": False, "reply": None, "chips": ["🎉 1 mine"]},
        {"text": "sent while away", "edited": False, "reply": "↪ bob edited while away", "chips": []},
    ]
    await expect(texts(page)).to_have_text([m["text"] for m in expected])
    assert await shown(page) == expected
    fresh = (await open_tab(alice)).page
    await expect(texts(fresh)).to_have_text([m["text"] for m in expected])
    assert await shown(fresh) == expected
    await expect(page.locator("#conn-state")).to_have_text("connected: alice")
    assert tab.console_errors == []


async def test_a_resume_from_past_the_retention_reloads_the_channel(open_tab, chatd, alice, bob, guild, db):
    await post(chatd, guild, bob, "kept")
    tab = await open_tab(alice)
    page = tab.page
    await expect(texts(page)).to_have_text(["kept"])
    await page.click("#disconnect")
    await change_queries.add_old_change(db, channel_id=guild.general, days=31)
    await post(chatd, guild, bob, "after the gap")
    await sweep_changes(chatd.app)
    await page.click("#reconnect-resume")
    await expect(page.locator("#event-log li.in[data-type='resync_required']")).to_have_count(1)
    await expect(texts(page)).to_have_text(["kept", "after the gap"])
    assert tab.console_errors == []


async def test_a_resume_that_names_a_channel_of_a_server_the_user_left_is_answered_quietly(
        open_tab, chatd, alice, bob, guild):
    await post(chatd, guild, alice, "hello")
    tab = await open_tab(bob)
    page = tab.page
    await expect(texts(page)).to_have_text(["hello"])
    await page.click("#disconnect")
    await rest(chatd, "DELETE", f"/chat/servers/{guild.id}/members/{bob.id}", alice, status=204)
    await page.click("#reconnect-resume")
    await expect(page.locator("#event-log li.in[data-type='resumed']")).to_have_count(1)
    refused = json.loads(await page.locator("#event-log li.in[data-type='error'] pre").text_content())
    assert refused["channelId"] == guild.general
    await expect(page.locator("#notice")).to_have_text("you are no longer a member")
    # The channel is forgotten: the next reconnect has nothing to resume.
    await page.click("#reconnect-resume")
    await expect(page.locator("#event-log li.in[data-type='connected']")).to_have_count(3)
    resumes = await page.locator("#event-log li.out[data-type='resume'] pre").all_text_contents()
    assert [json.loads(text) for text in resumes] == [{"type": "resume", "channels": {guild.general: 1}}]
    assert tab.console_errors == []


async def test_an_admin_invites_a_user_who_previews_and_joins_then_is_banned_and_let_back(open_tab, chatd, alice, bob):
    """Two users: alice creates and copies an invite, bob opens the code, sees the server and
    joins; alice bans him (he is dropped live, and refused on his way back), then lifts it."""
    created = await rest(chatd, "POST", "/chat/servers", alice, {"name": "Club"}, status=201)
    alice_tab, bob_tab = await open_tab(alice), await open_tab(bob)
    alice_page, bob_page = alice_tab.page, bob_tab.page
    await alice_page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=chatd.url)
    await expect(alice_page.locator("#servers li.selected button")).to_have_text("Club")
    await alice_page.fill("#invite-max-uses", "5")
    await alice_page.click("#invite-form button")
    await expect(alice_page.locator("#invites li .uses")).to_have_text(["0/5 uses"])
    code = await alice_page.locator("#invites li code").text_content()
    await alice_page.click("#invites li .copy")
    await expect(alice_page.locator("#notice")).to_have_text(f"invite code {code} copied")
    assert await alice_page.evaluate("navigator.clipboard.readText()") == code

    await bob_page.fill("#invite-code", code)
    await bob_page.click("#invite-open-form button")
    await expect(bob_page.locator("#invite-preview-text")).to_have_text(re.compile(r"^Club: 1 member, expires "))
    await bob_page.click("#invite-join")
    await expect(bob_page.locator("#servers li.selected button")).to_have_text("Club")
    await expect(bob_page.locator("#channel-title")).to_have_text("# general")
    await expect(bob_page.locator("#staff")).to_be_hidden()  # a MEMBER manages no invites
    await expect(alice_page.locator("#members .name")).to_have_text(["alice", "bob"])

    await alice_page.click("#members li:has-text('bob') .ban")
    await expect(bob_page.locator("#servers li")).to_have_count(0)
    await expect(alice_page.locator("#bans .name")).to_have_text(["bob"])
    await expect(alice_page.locator("#members .name")).to_have_text(["alice"])
    await bob_page.fill("#invite-code", code)
    await bob_page.click("#invite-open-form button")
    await bob_page.click("#invite-join")
    await expect(bob_page.locator("#notice")).to_have_text("you are banned from this server")

    await alice_page.click("#bans li .unban")
    await expect(alice_page.locator("#bans li")).to_have_count(0)
    await bob_page.click("#invite-join")
    await expect(bob_page.locator("#servers li.selected button")).to_have_text("Club")
    await alice_page.click("#invites li .revoke")
    await expect(alice_page.locator("#invites li")).to_have_count(0)
    await bob_page.fill("#invite-code", code)
    await bob_page.click("#invite-open-form button")
    await expect(bob_page.locator("#notice")).to_have_text("invite not found")
    await expect(bob_page.locator("#invite-preview")).to_be_hidden()
    members = await rest(chatd, "GET", f"/chat/servers/{created['id']}/members", alice)
    assert [m["username"] for m in members] == ["alice", "bob"]
    assert alice_tab.console_errors == []
    assert bob_tab.console_errors == [  # the browser's own lines about the two refusals shown
        f"Failed to load resource: the server responded with a status of {status}" for status in
        ("403 (Forbidden)", "404 (Not Found)")]


async def test_presence_dots_follow_each_users_status_picker_live(chatd, db, open_tab, alice, bob, guild):
    alice_tab, bob_tab = await open_tab(alice), await open_tab(bob)
    alice_page, bob_page = alice_tab.page, bob_tab.page
    await alice_page.click("#servers li button")
    await bob_page.click("#servers li button")
    bob_dot = alice_page.locator(f"#members .presence[data-user='{bob.id}']")
    alice_dot = bob_page.locator(f"#members .presence[data-user='{alice.id}']")
    await expect(bob_dot).to_have_attribute("data-status", "online")
    await expect(alice_dot).to_have_attribute("data-status", "online")
    await expect(bob_page.locator("#status-picker")).to_have_value("online")

    await bob_page.select_option("#status-picker", "dnd")
    await expect(bob_dot).to_have_attribute("data-status", "dnd")
    await expect(bob_dot).to_have_attribute("title", "do not disturb")
    await bob_page.select_option("#status-picker", "invisible")
    await expect(bob_dot).to_have_attribute("data-status", "offline")
    await expect(bob_page.locator(f"#members .presence[data-user='{bob.id}']")).to_have_attribute(
        "data-status", "invisible")  # bob sees what he set
    await alice_page.select_option("#status-picker", "idle")
    await expect(alice_dot).to_have_attribute("data-status", "idle")

    again = await open_tab(bob)  # the status is kept: a new tab of bob's starts with it
    await expect(again.page.locator("#status-picker")).to_have_value("invisible")
    await bob_page.select_option("#status-picker", "online")
    await expect(again.page.locator("#status-picker")).to_have_value("online")
    await expect(bob_dot).to_have_attribute("data-status", "online")

    await alice_page.click("#members li:has-text('bob') .dm")  # a conversation's people have dots too
    in_dm = alice_page.locator(f"#dm-recipients .presence[data-user='{bob.id}']")
    await expect(in_dm).to_have_attribute("data-status", "online")
    await expect(alice_page.locator(f"#dms .presence[data-user='{bob.id}']")).to_have_attribute("data-status", "online")
    await bob_page.select_option("#status-picker", "idle")
    await expect(in_dm).to_have_attribute("data-status", "idle")
    assert alice_tab.console_errors == bob_tab.console_errors == again.console_errors == []


# Direct messages and blocks.

@pytest_asyncio.fixture(loop_scope="module")
async def carol(db, chatd, app_queries, password_hash, alice, guild) -> Person:
    """carol, a MEMBER of alice's Guild too."""
    row = await app_queries.create_user(db, username="carol", password_hash=password_hash, email=None)
    token, _ = issue_token(chatd.config, User(row["user_id"], "carol"))
    await rest(chatd, "POST", f"/chat/servers/{guild.id}/members", alice, {"username": "carol"}, status=201)
    return Person(str(row["user_id"]), "carol", token)


async def test_two_users_chat_in_a_1_1_and_a_block_stops_it_until_lifted(open_tab, alice, bob, guild):
    alice_tab, bob_tab = await open_tab(alice), await open_tab(bob)
    alice_page, bob_page = alice_tab.page, bob_tab.page
    await alice_page.click("#members li:has-text('bob') .dm")
    await expect(alice_page.locator("#channel-title")).to_have_text("@ bob")
    await expect(bob_page.locator("#dms li button")).to_have_text(["@ alice"])  # dm_created, live
    await alice_page.fill("#composer-text", "hi bob, privately")
    await alice_page.press("#composer-text", "Enter")
    await expect(bob_page.locator("#dms li.unread button")).to_have_text(["@ alice"])
    await expect(texts(bob_page)).to_have_count(0)  # bob still shows #general, where nothing was said
    await bob_page.click("#dms li button")
    await expect(bob_page.locator("#channel-title")).to_have_text("@ alice")
    await expect(texts(bob_page)).to_have_text(["hi bob, privately"])
    await bob_page.fill("#composer-text", "hi alice")
    await bob_page.press("#composer-text", "Enter")
    await expect(texts(alice_page)).to_have_text(["hi bob, privately", "hi alice"])
    await expect(bob_page.locator("#dm-leave")).to_be_hidden()  # nobody leaves a 1:1

    await bob_page.click("#members li:has-text('alice') .block")
    await expect(bob_page.locator("#blocks .name")).to_have_text(["alice"])
    await alice_page.fill("#composer-text", "are you there?")
    await alice_page.press("#composer-text", "Enter")
    await expect(alice_page.locator("#notice")).to_have_text("error: you cannot message this user")
    await bob_page.click("#blocks li .unblock")
    await expect(bob_page.locator("#blocks li")).to_have_count(0)
    await alice_page.fill("#composer-text", "back again")
    await alice_page.press("#composer-text", "Enter")
    await expect(texts(bob_page)).to_have_text(["hi bob, privately", "hi alice", "back again"])
    assert bob_tab.console_errors == []


async def test_three_users_in_a_group_chat_and_the_owner_removes_one_live(open_tab, alice, bob, carol, guild):
    alice_tab, bob_tab, carol_tab = await open_tab(alice), await open_tab(bob), await open_tab(carol)
    alice_page, bob_page, carol_page = alice_tab.page, bob_tab.page, carol_tab.page
    await expect(alice_page.locator("#members .name")).to_have_text(["alice", "bob", "carol"])
    await alice_page.fill("#dm-names", "bob, carol")
    await alice_page.click("#dm-form button")
    await expect(alice_page.locator("#channel-title")).to_have_text(re.compile(r"^👥 (bob, carol|carol, bob)$"))
    await expect(alice_page.locator("#dm-recipients .name")).to_have_count(3)
    for page in (bob_page, carol_page):
        await expect(page.locator("#dms li button")).to_have_count(1)
        await page.click("#dms li button")
        await expect(page.locator("#dm-add-form")).to_be_hidden()  # only the owner adds
    await carol_page.fill("#composer-text", "hello group")
    await carol_page.press("#composer-text", "Enter")
    for page in (alice_page, bob_page, carol_page):
        await expect(texts(page)).to_have_text(["hello group"])
        await expect(page.locator("#messages li.message .author")).to_have_text(["carol"])

    await alice_page.click("#dm-recipients li:has-text('carol') .remove")
    await expect(carol_page.locator("#dms li")).to_have_count(0)
    await expect(carol_page.locator("#channel-title")).to_have_text("No channel selected")
    await expect(bob_page.locator("#dm-recipients .name")).to_have_count(2)
    await bob_page.fill("#composer-text", "just us now")
    await bob_page.press("#composer-text", "Enter")
    await expect(texts(alice_page)).to_have_text(["hello group", "just us now"])
    await bob_page.click("#dm-leave")
    await expect(alice_page.locator("#dm-recipients .name")).to_have_text(["alice"])
    await expect(bob_page.locator("#dms li")).to_have_count(0)
    assert alice_tab.console_errors == bob_tab.console_errors == carol_tab.console_errors == []


async def test_search_shows_marked_snippets_pages_on_and_jumps_to_an_old_message(
        open_tab, chatd, alice, bob, guild, db, test_queries):
    await test_queries.insert_messages(db, channel_id=guild.general, user_id=alice.id, n=120,
                                       newest=datetime.now(timezone.utc))
    await post(chatd, guild, bob, f"{MARKUP} needle in markup")
    for n in range(25):
        await post(chatd, guild, bob, f"needle number {n}")
    tab = await open_tab(alice)
    page = tab.page
    await page.fill("#search-q", "needle")
    await page.click("#search-form button[type=submit]")
    hits = page.locator("#search-results li .snippet")
    await expect(hits).to_have_count(20)
    await expect(hits.first).to_have_text("needle number 24")
    await expect(hits.first.locator("mark")).to_have_text(["needle"])
    await page.click("#search-more")
    await expect(hits).to_have_count(26)
    await expect(hits.last).to_have_text(f"{MARKUP} needle in markup")  # markup as text, nothing run
    # A message far back in history: older pages are read until it shows, and it is marked.
    await page.fill("#search-q", '"message 3"')
    await page.select_option("#search-scope", "channel")
    await page.click("#search-form button[type=submit]")
    await expect(hits).to_have_text(["message 3"])
    await hits.first.click()
    await expect(page.locator("#messages li.found .text")).to_have_text("message 3")
    await expect(page.locator("#messages li.found")).to_be_in_viewport()
    assert await page.locator("img").count() == 0
    assert tab.dialogs == [] and tab.console_errors == []


async def test_unread_badges_stay_in_step_across_two_tabs_of_one_user_with_mark_read_and_unread(
        open_tab, chatd, alice, bob, guild):
    news = (await rest(chatd, "POST", f"/chat/servers/{guild.id}/channels", alice,
                       {"name": "news", "type": "TEXT"}, status=201))["id"]
    await post(chatd, guild, alice, "before the tabs", channel=news)
    first, second = await open_tab(bob), await open_tab(bob)
    badges = [tab.page.locator(f'#channels li[data-id="{news}"] .badge') for tab in (first, second)]
    for badge in badges:
        await expect(badge).to_have_text("1")  # from GET /chat/unreads
    await post(chatd, guild, alice, "two", channel=news)
    await post(chatd, guild, alice, "three", channel=news)
    for badge in badges:
        await expect(badge).to_have_text("3")  # counted live
    # Opening the channel in one tab reads it there, and the other tab's badge goes too.
    await second.page.click(f'#channels li[data-id="{news}"] button')
    await expect(message(second.page, "three")).to_be_visible()
    await expect(second.page.locator("#read-state")).to_have_text("all read")
    await expect(badges[1]).to_have_count(0)
    await expect(badges[0]).to_have_count(0)
    # Mark unread: the newest message is unread again, in both tabs.
    await second.page.click("#mark-unread")
    await expect(second.page.locator("#read-state")).to_have_text("1 unread")
    await expect(badges[0]).to_have_text("1")
    await expect(badges[1]).to_have_text("1")
    unreads = await rest(chatd, "GET", "/chat/unreads", bob)
    assert [(u["last_read_seq"], u["unread_count"]) for u in unreads if u["channel_id"] == news] == [(2, 1)]
    # Mark read there again; a message bob sends himself never counts.
    await second.page.click("#mark-read")
    await expect(badges[0]).to_have_count(0)
    await post(chatd, guild, bob, "from bob", channel=news)
    await expect(message(second.page, "from bob")).to_be_visible()
    await expect(badges[0]).to_have_count(0)
    assert first.console_errors == [] and second.console_errors == []


async def test_the_open_channel_stays_read_when_get_unreads_answers_after_its_page_shows(
        open_tab, chatd, alice, bob, guild):
    """GET /chat/unreads answered first, and its answer held back until #general's page shows
    and is acked: the answer predates the ack, and must not show the page the user is looking at
    unread, on the page or on the server."""
    for text in ("one", "two", "three"):
        await post(chatd, guild, bob, text)
    unreads_answered, page_acked = asyncio.Event(), asyncio.Event()
    answers = []

    async def hold_the_answer(route):
        if answers:
            return await route.continue_()
        answers.append(await rest(chatd, "GET", "/chat/unreads", alice))
        unreads_answered.set()
        await page_acked.wait()
        await route.fulfill(json=answers[0])

    async def hold_the_page(route):
        await unreads_answered.wait()
        await route.continue_()

    async def route_unreads(page: Page):
        # Routes kept to the end: once a page has none, Playwright lets held requests go.
        await page.route("**/chat/unreads", hold_the_answer)
        await page.route(re.compile(r".*/messages\?limit=.*"), hold_the_page)

    tab = await open_tab(alice, before_sign_in=route_unreads)
    await expect(message(tab.page, "three")).to_be_visible()
    await expect(tab.page.locator("#event-log li.out[data-type='ack']")).to_have_count(1)
    page_acked.set()
    held = [(u["last_read_seq"], u["unread_count"]) for u in answers[0] if u["channel_id"] == guild.general]
    assert held == [(0, 3)]  # computed before the ack
    await expect(tab.page.locator("#event-log li.out[data-type='ack']")).to_have_count(2)  # acked again
    await expect(tab.page.locator("#read-state")).to_have_text("all read")
    await expect(tab.page.locator("#channels li.unread")).to_have_count(0)
    unreads = await rest(chatd, "GET", "/chat/unreads", alice)
    assert [(u["last_read_seq"], u["unread_count"]) for u in unreads if u["channel_id"] == guild.general] == [(3, 0)]
    assert tab.console_errors == []


async def test_an_admin_arranges_categories_renames_and_deletes_and_the_member_sees_each_change_live(
        open_tab, chatd, alice, bob, guild):
    alice_tab, bob_tab = await open_tab(alice), await open_tab(bob)
    alice_page, bob_page = alice_tab.page, bob_tab.page
    await expect(bob_page.locator("#manage")).to_be_hidden()
    await alice_page.fill("#channel-name", "news")
    await alice_page.click("#channel-form button")
    await alice_page.fill("#category-name", "Talk")
    await alice_page.click("#category-form button")
    for page in (alice_page, bob_page):
        await expect(page.locator("#channels summary")).to_have_text(["Talk"])
    # Move #news into Talk: a collapsible group holding it, for both.
    await alice_page.select_option("#manage-channel", label="news")
    await alice_page.select_option("#manage-category", label="Talk")
    await alice_page.click("#manage-move")
    for page in (alice_page, bob_page):
        await expect(page.locator("#channels li.category details li")).to_have_text(["# newsTEXT"])
        await expect(page.locator("#channels > li:not(.category)")).to_have_text(["# generalTEXT"])
    await bob_page.click("#channels summary")  # collapsed: its channels hidden, the group kept
    await expect(bob_page.locator("#channels li.category details li")).to_be_hidden()
    await bob_page.click("#channels summary")
    # Rename the server, rename #general and give it a topic.
    await alice_page.fill("#server-rename", "Renamed")
    await alice_page.click("#server-rename-form button")
    await alice_page.select_option("#manage-channel", label="general")
    await alice_page.fill("#manage-name", "lobby")
    await alice_page.fill("#manage-topic", "say hello")
    await alice_page.click("#manage-save")
    for page in (alice_page, bob_page):
        await expect(page.locator("#servers li button")).to_have_text(["Renamed"])
        await expect(page.locator("#server-title")).to_have_text("Renamed")
        await expect(page.locator("#channel-title")).to_have_text("# lobby")
        await expect(page.locator("#channel-topic")).to_have_text("say hello")
    # Delete #news: gone from both lists; the group stays, empty.
    await alice_page.select_option("#manage-channel", label="news")
    await alice_page.click("#manage-delete")
    for page in (alice_page, bob_page):
        await expect(page.locator("#channels li.category details li")).to_have_count(0)
        await expect(page.locator("#channels > li:not(.category)")).to_have_text(["# lobbyTEXT"])
    assert alice_tab.console_errors == [] and bob_tab.console_errors == []


async def test_a_thread_opens_from_a_message_and_a_moderator_archives_and_locks_it_live(
        open_tab, chatd, alice, bob, guild):
    """bob (a MODERATOR here) starts a thread on alice's message; both reply and see each other's
    replies and the count on the root; alice unfollows and follows; bob archives and locks it,
    and alice's bar follows live."""
    await rest(chatd, "PATCH", f"/chat/servers/{guild.id}/members/{bob.id}", alice, {"role": "MODERATOR"})
    await post(chatd, guild, alice, "shall we plan?")
    alice_tab, bob_tab = await open_tab(alice), await open_tab(bob)
    a, b = alice_tab.page, bob_tab.page
    await expect(message(b, "shall we plan?").locator(".thread-button")).to_have_text("Thread")
    await message(b, "shall we plan?").locator(".thread-button").click()
    await expect(b.locator("#channel-title")).to_have_text("🧵 shall we plan?")
    await expect(b.locator("#thread-state")).to_have_text("🧵 shall we plan?: 0 messages")
    await expect(b.locator("#thread-lock")).to_be_visible()
    # alice sees it started, on the root, and opens it from there.
    await expect(message(a, "shall we plan?").locator(".thread-button")).to_have_text("🧵 shall we plan? (0)")
    await b.fill("#composer-text", "yes, friday")
    await b.press("#composer-text", "Enter")
    await expect(message(a, "shall we plan?").locator(".thread-button")).to_have_text("🧵 shall we plan? (1)")
    await message(a, "shall we plan?").locator(".thread-button").click()
    await expect(texts(a)).to_have_text(["yes, friday"])
    await expect(a.locator("#messages .thread-button")).to_have_count(0)  # no threads in threads
    await a.fill("#composer-text", "friday works")
    await a.press("#composer-text", "Enter")
    await expect(texts(b)).to_have_text(["yes, friday", "friday works"])
    # Following: the root's author follows from the start.
    await expect(a.locator("#thread-follow")).to_have_text("Unfollow")
    await a.click("#thread-follow")
    await expect(a.locator("#thread-follow")).to_have_text("Follow")
    thread_id = (await rest(chatd, "GET", guild.messages, alice))[0]["thread"]["id"]
    assert (await rest(chatd, "GET", f"/chat/threads/{thread_id}", alice))["following"] is False
    await a.click("#thread-follow")
    await expect(a.locator("#thread-follow")).to_have_text("Unfollow")
    # The MODERATOR archives and locks it; alice's bar follows.
    await b.click("#thread-archive")
    await expect(a.locator("#thread-state")).to_have_text("🧵 shall we plan?: 2 messages, archived")
    await b.click("#thread-lock")
    await expect(a.locator("#thread-state")).to_have_text("🧵 shall we plan?: 2 messages, archived, locked")
    await expect(b.locator("#thread-lock")).to_have_text("Unlock")
    await b.click("#thread-back")
    await expect(b.locator("#channel-title")).to_have_text("# general")
    assert alice_tab.console_errors == [] and bob_tab.console_errors == []

async def test_mentions_autocomplete_badges_inbox_settings_and_an_in_page_notification(open_tab, chatd, alice, bob,
                                                                                       guild):
    news = await rest(chatd, "POST", f"/chat/servers/{guild.id}/channels", alice, {"name": "news"}, status=201)
    alice_tab = await open_tab(alice)
    page = alice_tab.page
    await expect(page.locator("#channel-title")).to_have_text("# general")
    await expect(page.locator("#read-state")).to_have_text("all read")  # GET /chat/unreads answered
    # A mention in a channel that is not open: an in-page notification and a mention badge.
    await post(chatd, guild, bob, "@alice have a look", news["id"])
    await expect(page.locator("#notifications li")).to_have_text("bob mentioned you in #news: @alice have a look")
    await expect(page.locator("#channels li", has_text="news").locator(".badge")).to_have_text("1 @1")
    await post(chatd, guild, bob, "plain news", news["id"])  # no notification: mentions only by default
    await expect(page.locator("#channels li", has_text="news").locator(".badge")).to_have_text("2 @1")
    await expect(page.locator("#notifications li")).to_have_count(1)
    # `@` autocomplete of the channel's members inserts @username.
    await page.type("#composer-text", "thanks @b")
    await expect(page.locator("#mention-suggest li")).to_have_text(["@bob"])
    await page.press("#composer-text", "Tab")
    await expect(page.locator("#composer-text")).to_have_value("thanks @bob ")
    await page.press("#composer-text", "Enter")
    await expect(texts(page)).to_have_text(["thanks @bob"])
    await expect(page.locator("#messages li.pending")).to_have_count(0)
    mentioned = (await rest(chatd, "GET", guild.messages, bob))[-1]
    assert mentioned["mentions"] == [bob.id]
    # The inbox lists what mentions alice; a click shows it in its channel.
    await page.click("#mentions-load")
    await expect(page.locator("#mentions-list li")).to_have_count(1)
    await expect(page.locator("#mentions-list li .snippet")).to_have_text("@alice have a look")
    await page.click("#mentions-list li button")
    await expect(page.locator("#channel-title")).to_have_text("# news")
    await expect(message(page, "@alice have a look")).to_have_class(re.compile("found"))
    # The open channel's setting: `none` is stored, and a second tab shows it live.
    other_tab = await open_tab(alice)
    await other_tab.page.click("#channels li:has-text('news')")
    await page.select_option("#notify-level", "none")
    await expect(other_tab.page.locator("#notify-level")).to_have_value("none")
    settings = await rest(chatd, "GET", "/chat/users/@me/notification-settings", alice)
    assert settings == [{"scope": "channel", "id": news["id"], "level": "none", "muted_until": None}]
    for tab in (alice_tab, other_tab):  # news open in neither: it counts as unread
        await tab.page.click("#channels li:has-text('general')")
        await expect(tab.page.locator("#channel-title")).to_have_text("# general")
    await post(chatd, guild, bob, "@alice not heard", news["id"])
    await expect(page.locator("#channels li", has_text="news").locator(".badge")).to_have_text("1 @1")
    await expect(page.locator("#notifications li", has_text="not heard")).to_have_count(0)  # muted: level none
    assert alice_tab.console_errors == [] and other_tab.console_errors == []


async def test_an_at_here_and_replies_show_on_the_live_mention_badge_as_get_unreads_counts_them(
        open_tab, chatd, alice, bob, guild, db, test_queries):
    news = await rest(chatd, "POST", f"/chat/servers/{guild.id}/channels", alice, {"name": "news"}, status=201)
    bob_tab = await open_tab(bob)
    page = bob_tab.page
    await expect(page.locator("#read-state")).to_have_text("all read")  # GET /chat/unreads answered
    async with asyncio.timeout(10):  # @here mentions whoever presence has written as online
        while not await test_queries.has_open_socket(db, user_id=UUID(bob.id)):
            await asyncio.sleep(0.05)
    plain = await post(chatd, guild, bob, "@here from a MEMBER is plain text", news["id"])
    await post(chatd, guild, alice, "@here standup", news["id"])
    badge = page.locator("#channels li", has_text="news").locator(".badge")
    await expect(badge).to_have_text("1 @1")  # counted live: bob's own message is no unread
    # A reply mentions bob, unless its author said not to (`mentionReply` false).
    await post(chatd, guild, alice, "by the way", news["id"], reply_to=plain["id"], mention_reply=False)
    await post(chatd, guild, alice, "did you mean it?", news["id"], reply_to=plain["id"])
    await expect(badge).to_have_text("3 @2")
    unreads = await rest(chatd, "GET", "/chat/unreads", bob)
    assert [(u["unread_count"], u["mention_count"]) for u in unreads if u["channel_id"] == news["id"]] == [(3, 2)]
    await page.reload()  # and the page loaded afresh agrees
    await expect(page.locator("#conn-state")).to_have_text("connected: bob")
    await expect(badge).to_have_text("3 @2")
    assert bob_tab.console_errors == []


async def test_a_conversations_notification_setting_is_set_from_the_page_and_silences_it(open_tab, chatd, alice, bob,
                                                                                        guild):
    dm = await rest(chatd, "POST", "/chat/dms", alice, {"recipient_ids": [bob.id]}, status=201)
    messages = f"/chat/dms/{dm['id']}/messages"
    bob_tab, other_tab = await open_tab(bob), await open_tab(bob)
    page = bob_tab.page
    await expect(page.locator("#channel-title")).to_have_text("# general")
    await rest(chatd, "POST", messages, alice, {"text": "first"}, status=201)
    # A conversation is `all` by default: a notification for bob, who has #general open.
    await expect(page.locator("#notifications li")).to_have_text("alice wrote to you in @ alice: first")
    await page.click("#dms li button")
    await expect(page.locator("#channel-title")).to_have_text("@ alice")
    await expect(page.locator("#read-state")).to_have_text("all read")  # opening it read it
    await expect(page.locator("#notify-level")).to_have_value("default")
    await page.select_option("#notify-level", "none")
    await other_tab.page.click("#dms li button")  # the other tab shows the setting, stored and heard live
    await expect(other_tab.page.locator("#notify-level")).to_have_value("none")
    settings = await rest(chatd, "GET", "/chat/users/@me/notification-settings", bob)
    assert settings == [{"scope": "dm", "id": dm["id"], "level": "none", "muted_until": None}]
    for tab in (bob_tab, other_tab):  # the conversation open in neither: it counts as unread
        await tab.page.click("#channels li:has-text('general') button")
        await expect(tab.page.locator("#channel-title")).to_have_text("# general")
    await rest(chatd, "POST", messages, alice, {"text": "second"}, status=201)
    await expect(page.locator("#dms li.unread .badge")).to_have_text("1")
    await expect(page.locator("#notifications li", has_text="second")).to_have_count(0)  # level none
    # Mark unread in the conversation moves its pointer back, as in a channel.
    await page.click("#dms li button")
    await expect(page.locator("#read-state")).to_have_text("all read")
    await page.click("#mark-unread")
    await expect(page.locator("#read-state")).to_have_text("1 unread")
    unreads = await rest(chatd, "GET", "/chat/unreads", bob)
    assert [(u["server_id"], u["unread_count"]) for u in unreads if u["channel_id"] == dm["id"]] == [(None, 1)]
    assert bob_tab.console_errors == [] and other_tab.console_errors == []


async def test_files_attach_from_the_page_images_inline_others_as_links_and_an_html_file_runs_nothing(
        open_tab, chatd, alice, bob, guild, tmp_path):
    from PIL import Image

    image, html = tmp_path / "dot.png", tmp_path / "evil.html"
    Image.new("RGB", (4, 3), "blue").save(image)
    html.write_text("<script>document.title = 'ran'; parent.postMessage('ran', '*')</script><h1>hi</h1>")
    alice_tab, bob_tab = await open_tab(alice), await open_tab(bob)
    await alice_tab.page.fill("#composer-text", "two files")
    await alice_tab.page.set_input_files("#composer-files", [str(image), str(html)])
    await alice_tab.page.press("#composer-text", "Enter")
    shown_to_bob = message(bob_tab.page, "two files")
    await expect(shown_to_bob.locator("img.attachment-image")).to_have_js_property("naturalWidth", 4)  # loaded
    link = shown_to_bob.locator("a.attachment-file")
    await expect(link).to_have_text(re.compile(r"evil\.html"))
    url = chatd.url + await link.get_attribute("href")
    # Opened in the browser, the HTML file is a download, never a page of chatd's origin.
    opened = await bob_tab.page.context.new_page()
    async with opened.expect_download() as download:
        try:
            await opened.goto(url)
        except Exception:  # "Download is starting": the navigation ends there
            pass
    assert (await download.value).suggested_filename == "evil.html"
    assert await opened.title() != "ran"
    # Fetched, it is plain text that may not run as a page of any origin (sandbox), nor be
    # taken for another type (nosniff).
    resp = await bob_tab.page.request.get(url)
    assert (resp.headers["content-type"], resp.headers["content-security-policy"],
            resp.headers["x-content-type-options"]) == ("text/plain; charset=utf-8", "sandbox", "nosniff")
    # The search's `has` filter finds the message by its files.
    await post(chatd, guild, bob, "two words, no files")
    await bob_tab.page.fill("#search-q", "two")
    await bob_tab.page.select_option("#search-has", "attachment")
    await bob_tab.page.click("#search-form button[type=submit]")
    await expect(bob_tab.page.locator("#search-results li .snippet")).to_have_text(["two files"])
    assert alice_tab.dialogs == [] and bob_tab.dialogs == []
    assert alice_tab.console_errors == [] and bob_tab.console_errors == []
