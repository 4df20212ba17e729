"""/openapi.json describes what chatd serves, and chatd's answers conform to it (schemathesis)."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from chatd.app import ENDPOINTS

# Served, but not REST: the WebSocket upgrade (OpenAPI cannot describe it), the document itself,
# and the debug page with its static files.
NOT_IN_THE_DOCUMENT = {("GET", "/chat/ws"), ("GET", "/openapi.json"), ("GET", "/"), ("GET", "/debug"),
                       ("GET", "/static")}
ST = Path(sys.executable).with_name("st")  # schemathesis' CLI, installed by the `test` extra


async def document(client) -> dict:
    resp = await client.get("/openapi.json")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    return await resp.json()


def operations(doc: dict):
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


async def test_openapi_json_is_an_openapi_3_1_document(client):
    doc = await document(client)
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] == "chatd"
    assert doc["components"]["securitySchemes"] == {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }


async def test_every_route_the_app_serves_is_documented_and_nothing_else(client):
    doc = await document(client)
    documented = {(method, path) for method, path, _ in operations(doc)}
    served = {(route.method, route.resource.canonical) for route in client.app.router.routes()
              if route.method != "HEAD"}
    assert documented == {(e.method, e.path) for e in ENDPOINTS}
    assert served == documented | NOT_IN_THE_DOCUMENT


async def test_every_path_parameter_is_declared_required_and_an_id_unless_the_endpoint_says_otherwise(client):
    doc = await document(client)
    for endpoint in ENDPOINTS:
        declared = [p for p in doc["paths"][endpoint.path][endpoint.method.lower()]["parameters"] if p["in"] == "path"]
        assert [p["name"] for p in declared] == re.findall(r"{(\w+)}", endpoint.path), endpoint.path
        others = {p.name: p.schema for p in endpoint.path_params}
        assert all(p["required"] and p["schema"] == others.get(p["name"], {"type": "string", "format": "uuid"})
                   for p in declared), endpoint.path


async def test_authenticated_operations_declare_the_bearer_scheme_and_401(client):
    doc = await document(client)
    for endpoint in ENDPOINTS:
        operation = doc["paths"][endpoint.path][endpoint.method.lower()]
        if endpoint.auth:
            assert operation["security"] == [{"bearer": []}], endpoint.path
            assert "401" in operation["responses"], endpoint.path
        else:
            assert "security" not in operation, endpoint.path


async def test_every_error_response_is_the_detail_shape(client):
    doc = await document(client)
    problem = doc["components"]["schemas"]["Problem"]
    assert problem["required"] == ["detail"]
    assert problem["properties"]["detail"] == {"type": "string"}
    for method, path, operation in operations(doc):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"] == {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, (method, path, status)


async def test_every_schema_reference_resolves(client):
    doc = await document(client)
    text = str(doc)
    names = set(re.findall(r"#/components/schemas/(\w+)", text))
    assert names
    assert names <= set(doc["components"]["schemas"])


async def test_operation_ids_are_unique(client):
    ids = [operation["operationId"] for _, _, operation in operations(await document(client))]
    assert len(ids) == len(set(ids))


async def test_schemathesis_finds_no_server_error_and_no_response_outside_the_document(
    client, alice, bob, carol, server, add_member, tmp_path
):
    """Fuzz every operation as alice, the ADMIN of a server with a member (bob) and messages
    of hers; the path ids are real, so requests get past the 404s to the handlers' own validation and queries. The
    operations that end sessions run as carol, so alice's token lasts the whole run."""
    await add_member(bob)
    resp = await client.post(f"{server.url}/channels/{server.general}/messages", json={"text": "react to me"},
                             headers=alice.auth)
    reacted = (await resp.json())["id"]  # the reaction routes', which DELETE .../messages/{message_id} spares
    resp = await client.post("/chat/servers", json={"name": "Doomed"}, headers=alice.auth)
    doomed = (await resp.json())["id"]  # the one DELETE /chat/servers/{server_id} may delete
    resp = await client.post(f"{server.url}/channels/{server.general}/messages", json={"text": "fuzz me"},
                             headers=alice.auth)
    message = (await resp.json())["id"]  # alice's: she may edit and delete it
    await add_member(carol)
    resp = await client.post("/chat/dms", json={"recipient_ids": [str(bob.id), str(carol.id)]}, headers=alice.auth)
    group = (await resp.json())["id"]  # alice's group: the /chat/dms/{dm_id} routes reach their handlers
    resp = await client.post(f"{server.url}/categories", json={"name": "fuzzed"}, headers=alice.auth)
    category = (await resp.json())["id"]  # the category routes reach their statements
    resp = await client.post(f"{server.url}/channels", json={"name": "doomed"}, headers=alice.auth)
    doomed_channel = (await resp.json())["id"]  # the one DELETE .../channels/{channel_id} may delete, not #general
    resp = await client.post(f"{server.url}/channels/{server.general}/messages/{reacted}/threads",
                             json={"name": "fuzz"}, headers=alice.auth)
    thread = (await resp.json())["id"]  # alice's: the /chat/threads/{thread_id} routes reach their handlers
    config = tmp_path / "schemathesis.toml"
    config.write_text(f"""
headers = {{ Authorization = "Bearer {alice.token}" }}

[parameters]
"path.server_id" = "{server.id}"
"path.channel_id" = "{server.general}"
"path.user_id" = "{bob.id}"
"path.message_id" = "{message}"
"path.dm_id" = "{group}"
"path.category_id" = "{category}"
"path.thread_id" = "{thread}"

[[operations]]
include-name = "DELETE /chat/servers/{{server_id}}/channels/{{channel_id}}"
parameters = {{ "path.channel_id" = "{doomed_channel}" }}

[[operations]]
include-name = "DELETE /chat/servers/{{server_id}}"
parameters = {{ "path.server_id" = "{doomed}" }}

[[operations]]
include-tag = "reactions"
parameters = {{ "path.message_id" = "{reacted}" }}

[[operations]]
include-name = ["POST /auth/logout", "POST /auth/logout-all", "PUT /auth/password", "DELETE /auth/me"]
headers = {{ Authorization = "Bearer {carol.token}" }}
""")
    process = await asyncio.create_subprocess_exec(
        str(ST), "--config-file", str(config), "--no-color", "run", str(client.make_url("/openapi.json")),
        "--checks", "not_a_server_error,status_code_conformance,response_schema_conformance",
        "--max-examples", "15", "--generation-database", "none",
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    # Each operation adds examples (the upload route its multipart bodies): minutes on a loaded machine.
    output, _ = await asyncio.wait_for(process.communicate(), timeout=400)
    report = output.decode(errors="replace")
    assert process.returncode == 0, report[-8000:]
    assert f"Tested: {len(ENDPOINTS)}\n" in report
    generated, passed = re.search(r"(\d+) generated, (\d+) passed", report).groups()
    assert generated == passed
    # The fixed ids took the requests past the 404s: schemathesis' messages are in #general.
    resp = await client.get(f"{server.url}/channels/{server.general}/messages", headers=alice.auth)
    assert resp.status == 200
    assert len(await resp.json()) > 0
    # The emoji's examples took the reaction routes past its validation to their statements.
    resp = await client.get(f"{server.url}/channels/{server.general}/changes?limit=500", headers=alice.auth)
    assert "reaction_added" in {event["type"] for event in await resp.json()}
    # carol's token ended, alice's did not.
    assert (await client.get("/auth/me", headers=carol.auth)).status == 401


# Found by the schemathesis run above; pinned here so they stay fixed whatever it generates.


async def test_a_nul_character_in_a_name_is_a_400_naming_the_field(client, alice):
    resp = await client.post("/chat/servers", json={"name": "a\x00b"}, headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": "Expected `str` matching regex '^[^\\\\x00]*$' - at `$.name`"}


async def test_a_nul_character_in_a_message_is_a_400_naming_the_field(client, alice, server):
    resp = await client.post(f"{server.url}/channels/{server.general}/messages", json={"text": "hi\x00"},
                             headers=alice.auth)
    assert resp.status == 400
    assert await resp.json() == {"detail": "Expected `str` matching regex '^[^\\\\x00]*$' - at `$.text`"}


async def test_a_multipart_login_without_its_boundary_is_a_400(client):
    resp = await client.post("/auth/login", data=b"username=alice", headers={"Content-Type": "multipart/form-data"})
    assert resp.status == 400
    assert await resp.json() == {"detail": "the form body is malformed"}
