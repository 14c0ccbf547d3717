"""The operator console at `/`: the gateway serves the built browser app (console/dist, made by `make console`)
from its own origin, with a strict Content-Security-Policy and the usual security headers, and a small public
config document the app reads before sign-in. The app itself talks only to the public HTTP API.

Paths the console owns:
- `GET /` and any client route (`/inbox`, `/contacts/01J...`): index.html, `Cache-Control: no-cache`. A client
  route is a GET asking for HTML whose path is not under an API prefix and whose last segment has no dot; the
  API's routes are matched first, and a miss under `/v1/` stays the API's JSON 404.
- `GET /assets/<name>`: the bundle's files, named by their content hash, so cached for a year as immutable.
- `GET /console/config.json`: where the browser signs in (the Cognito endpoint, region and app client id: the
  same facts any Cognito web app ships in its page), `Cache-Control: no-cache`. Not a data route.

The browser signs in against Cognito's public InitiateAuth API itself (USER_PASSWORD_AUTH with the app client
id, then REFRESH_TOKEN_AUTH), locally the embedded AWS's, in AWS `cognito-idp.<region>.amazonaws.com`: the same
code, the endpoint a setting. So connect-src allows that one origin besides 'self'; img-src and media-src allow
the media bucket's origin, where the pre-signed links of messages point."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from runtime.settings import Settings

log = logging.getLogger("wecare.gateway")
ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# Paths that are never a client route: the API, the gateway's own routes, the console's files.
NOT_CLIENT_ROUTES = ("/v1/", "/console/", "/assets/", "/l/")
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def cognito_endpoint(settings: Settings) -> str:
    """The Cognito API the browser signs in against: the setting, else the issuer's host (AWS's own)."""
    return (settings.cognito_endpoint_url or origin_of(settings.cognito_issuer)).rstrip("/")


def cognito_region(settings: Settings) -> str:
    match = re.match(r"^https://cognito-idp\.([a-z0-9-]+)\.amazonaws\.com", settings.cognito_issuer)
    return match.group(1) if match else settings.region


def media_origins(settings: Settings) -> tuple[str, ...]:
    """Where pre-signed media and report links point: the embedded AWS locally; S3's regional endpoint in AWS
    (a bucket name with dots is addressed by path) and its virtual-hosted form."""
    if settings.aws_endpoint_url:
        return (origin_of(settings.aws_endpoint_url),)
    region, bucket = settings.region, settings.media_bucket
    return (f"https://s3.{region}.amazonaws.com", f"https://{bucket}.s3.{region}.amazonaws.com")


def content_security_policy(settings: Settings) -> str:
    media = " ".join(media_origins(settings))
    cognito = origin_of(cognito_endpoint(settings))
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src 'self' data: {media}",
        f"media-src 'self' {media}",
        f"connect-src 'self' {cognito}".rstrip(),
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "frame-src 'none'",
        "worker-src 'none'",
        "manifest-src 'self'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    ]
    return "; ".join(directives)


def security_headers(settings: Settings) -> dict[str, str]:
    """The headers of every page and file of the console."""
    return {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
        # Browsers take it only over HTTPS (the load balancer's); over plain HTTP it is ignored.
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    }


class Console:
    """The console's routes on the gateway, and its page for client routes (the SPA fallback)."""

    def __init__(self, settings: Settings, dist: Path | None = None):
        self.settings = settings
        self.dist = (dist or settings.console_dir).resolve()
        self.headers = security_headers(settings)
        self._config = json.dumps(self.config(), separators=(",", ":")).encode()
        if not self.index.exists():
            log.warning("the console is not built: `/` answers 503 until `make console` builds it", extra={})

    @property
    def index(self) -> Path:
        return self.dist / "index.html"

    def config(self) -> dict:
        settings = self.settings
        return {
            "cognito": {
                "endpoint": cognito_endpoint(settings),
                "region": cognito_region(settings),
                "clientId": settings.cognito_client_id,
            },
            "api": "/v1",
        }

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get("/", self.page, allow_head=True),
            web.get("/assets/{file}", self._asset, allow_head=True),
            web.get("/console/config.json", self._config_json, allow_head=True),
        ]

    def is_client_route(self, request: web.Request) -> bool:
        if request.method not in ("GET", "HEAD") or "text/html" not in request.headers.get("Accept", ""):
            return False
        path = request.path
        if any(path.startswith(prefix) or path == prefix.rstrip("/") for prefix in NOT_CLIENT_ROUTES):
            return False
        return "." not in path.rsplit("/", 1)[-1]

    async def page(self, request: web.Request) -> web.StreamResponse:
        if not self.index.exists():
            return web.Response(
                status=503,
                text="The console is not built: run `make console` (or `make run`, which builds it).\n",
                headers={**self.headers, "Cache-Control": "no-store"},
            )
        return web.FileResponse(self.index, headers={**self.headers, "Cache-Control": NO_CACHE})

    async def _asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["file"]
        path = self.dist / "assets" / name
        if not ASSET_NAME.match(name) or ".." in name or not path.is_file():
            return web.Response(status=404, text="no such file\n", headers={**self.headers, "Cache-Control": NO_CACHE})
        return web.FileResponse(path, headers={**self.headers, "Cache-Control": IMMUTABLE})

    async def _config_json(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self._config,
            content_type="application/json",
            headers={**self.headers, "Cache-Control": NO_CACHE},
        )
