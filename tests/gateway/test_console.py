"""The console as the gateway serves it: its page at `/` and at every client route (never in place of an API
route or an API 404), hashed assets cached as immutable, the public config document, and the security headers
(a strict Content-Security-Policy among them) on all of it. The browser tests (tests/console) use the real bundle;
here a stand-in dist folder is enough."""

from __future__ import annotations

import pytest

from gateway.app import Gateway
from gateway.console import Console, content_security_policy
from runtime.settings import Settings

from .conftest import CONTACTS_BACKENDS

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
INDEX = "<!doctype html><title>WECARE console</title><script type=module src=/assets/app-ABC123.js></script>"


@pytest.fixture
def dist(tmp_path):
    folder = tmp_path / "dist"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text(INDEX)
    (folder / "assets" / "app-ABC123.js").write_text("console.log('app')")
    (folder / "assets" / "app-DEF456.css").write_text("body{}")
    (tmp_path / "secret.txt").write_text("outside the dist folder")
    return folder


@pytest.fixture
async def served(contacts_backend, make_client, settings_for, verifier, dist):
    settings = settings_for(
        contacts_backend.address,
        cognito_endpoint_url="http://127.0.0.1:4566",
        aws_endpoint_url="http://127.0.0.1:4566",
    )
    gateway = Gateway(settings, verifier(settings), backends=CONTACTS_BACKENDS, console=Console(settings, dist))
    client = await make_client(gateway)
    client.settings = settings
    return client


def assert_security_headers(response) -> None:
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"  # nothing inline
    assert directives["connect-src"] == "'self' http://127.0.0.1:4566"  # the API, and Cognito to sign in
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert "unsafe" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"


async def test_the_page_at_the_root_and_at_client_routes(served):
    for path in ("/", "/inbox", "/inbox/whatsapp-919812345678", "/contacts/01JABCDEF", "/campaigns/new"):
        response = await served.get(path, headers=HTML)
        assert response.status == 200, path
        assert response.headers["Content-Type"].startswith("text/html")
        assert await response.text() == INDEX
        assert response.headers["Cache-Control"] == "no-cache"  # always asks, so a new build is seen at once
        assert_security_headers(response)


async def test_api_routes_and_api_misses_are_never_the_page(served, user_pool):
    listed = await served.get("/v1/contacts", headers={**HTML, **user_pool.auth("viewer")})
    assert listed.status == 200 and listed.headers["Content-Type"].startswith("application/json")
    assert listed.headers["X-Content-Type-Options"] == "nosniff"
    for path in ("/v1/nothing/here", "/v1", "/console/nothing", "/favicon.ico", "/inbox/photo.png"):
        missing = await served.get(path, headers=HTML)
        assert missing.status == 404, path
        assert missing.headers["Content-Type"].startswith("application/json"), path
    # A script or a fetch asking for JSON at a client path gets the API's 404, not HTML to parse
    asked_json = await served.get("/inbox", headers={"Accept": "application/json"})
    assert asked_json.status == 404 and (await asked_json.json())["code"] == 5
    # Only GET and HEAD: a POST to a client path is the API's answer
    posted = await served.post("/inbox", headers=HTML, json={})
    assert posted.status == 404


async def test_hashed_assets_are_immutable_and_confined_to_the_assets_folder(served):
    script = await served.get("/assets/app-ABC123.js")
    assert script.status == 200 and await script.text() == "console.log('app')"
    assert script.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "javascript" in script.headers["Content-Type"]
    assert_security_headers(script)
    style = await served.get("/assets/app-DEF456.css")
    assert style.status == 200 and style.headers["Content-Type"].startswith("text/css")
    for path in (
        "/assets/missing.js",
        "/assets/..%2Fsecret.txt",
        "/assets/%2E%2E%2F%2E%2E%2Fsecret.txt",
        "/assets/.hidden",
    ):
        response = await served.get(path)
        assert response.status == 404, path
        assert "outside the dist folder" not in await response.text()


async def test_the_public_config_names_where_the_browser_signs_in(served):
    response = await served.get("/console/config.json")  # no token: the page reads it before sign-in
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-cache"
    settings = served.settings
    assert await response.json() == {
        "cognito": {"endpoint": "http://127.0.0.1:4566", "region": "us-east-1", "clientId": settings.cognito_client_id},
        "api": "/v1",
    }


async def test_an_unbuilt_console_says_how_to_build_it(contacts_backend, make_client, settings_for, verifier, tmp_path):
    settings = settings_for(contacts_backend.address)
    gateway = Gateway(
        settings, verifier(settings), backends=CONTACTS_BACKENDS, console=Console(settings, tmp_path / "nothing")
    )
    client = await make_client(gateway)
    response = await client.get("/", headers=HTML)
    assert response.status == 503
    assert "make console" in await response.text()
    assert (await client.get("/healthz")).status == 200  # the gateway itself is fine


def test_in_aws_the_policy_names_cognito_and_the_media_bucket_of_the_region():
    settings = Settings(
        cognito_issuer="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc",
        cognito_client_id="abc",
        region="eu-west-1",
    )
    directives = dict(d.strip().split(" ", 1) for d in content_security_policy(settings).split(";"))
    assert directives["connect-src"] == "'self' https://cognito-idp.eu-west-1.amazonaws.com"
    assert "https://s3.eu-west-1.amazonaws.com" in directives["img-src"].split()
    config = Console(settings).config()
    assert config["cognito"]["endpoint"] == "https://cognito-idp.eu-west-1.amazonaws.com"
    assert config["cognito"]["region"] == "eu-west-1"
