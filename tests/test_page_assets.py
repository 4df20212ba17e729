"""The debug page over plain HTTP: its security headers, its size, and what its scripts never do."""

from __future__ import annotations

from pathlib import Path

from chatd.web.page import content_security_policy

STATIC = Path(__file__).resolve().parent.parent / "static"


async def test_the_page_is_served_at_root_and_debug_with_a_strict_csp(client):
    host = f"{client.server.host}:{client.server.port}"
    for path in ("/", "/debug"):
        resp = await client.get(path)
        assert resp.status == 200
        assert resp.content_type == "text/html"
        assert resp.headers["Content-Security-Policy"] == (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            f"connect-src 'self' ws://{host} wss://{host}; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'"
        )
        assert '<script type="module" src="/static/app.js"></script>' in await resp.text()


def test_a_host_header_that_is_not_a_plain_host_is_left_out_of_the_policy():
    assert "connect-src 'self';" in content_security_policy("evil.example; script-src *")


async def test_the_page_and_all_its_assets_weigh_under_100_kb(client):
    total = len(await (await client.get("/")).read())
    for asset in sorted(STATIC.iterdir()):
        resp = await client.get(f"/static/{asset.name}")
        assert resp.status == 200, asset.name
        total += len(await resp.read())
    assert total < 100_000


def test_the_scripts_never_turn_strings_into_html_or_code():
    for script in STATIC.glob("*.js"):
        source = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in source, f"{script.name} uses {sink}"
