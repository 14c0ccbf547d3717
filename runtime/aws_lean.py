"""One AWS operation called without the SDK's per-call machinery, for the few calls a process makes at a high rate
(the dispatcher's sends). botocore builds a request anew for every call: parameter validation, hooks, endpoint
rules, a request object, signing from scratch (three-quarters of a send's CPU in the SDK, measured; issue 13).
Here what does not change per call is taken from botocore once, from the very client the rest of the process uses:
the operation's HTTP shape and JSON encoding from the service model, the endpoint the client's rules resolve to,
the signing name and region, the User-Agent, and the credentials (refreshable ones refresh as the SDK's do). A call
then only encodes its JSON body, signs it (SigV4, with the derived signing key kept for the day and the secret),
and POSTs it over one long-lived aiohttp session; the answer is parsed as botocore parses it and errors are raised
as the client's own exception classes, so callers classify outcomes exactly as for an SDK call.

The request is botocore's own, header for header and byte for byte (tests/runtime/test_aws_lean.py compares them
with a frozen clock). Only JSON operations whose input lives wholly in the body are taken (rest-json and json
protocols: EUM Social SendWhatsAppMessage, EUM SMS SendTextMessage, SES v2 SendEmail); anything else raises
Unsupported when prepared, and the caller keeps the SDK client for it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
from botocore.auth import _host_from_url
from botocore.awsrequest import _urljoin
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.httpsession import ProxyConfiguration, create_urllib3_context, get_cert_path
from botocore.utils import get_environ_proxies, normalize_url_path
from opentelemetry import context as otel_context
from opentelemetry import trace

Encoder = Callable[[Any], Any]
_tracer = trace.get_tracer("wecare.aws")
_SCALARS = {"string", "integer", "long", "boolean"}


class Unsupported(Exception):
    """The operation needs more than this client does (a URI or header parameter, a timestamp, a checksum...)."""


class SigV4:
    """AWS Signature Version 4 of a request whose method, path, query (none) and signed headers are fixed: per call
    only the time, the body's hash and the credentials vary. The derived signing key is kept for the day and the
    secret it was made from (AWS derives it from both), so a call makes two HMACs, not six."""

    def __init__(self, region: str, service: str, method: str, path: str, host: str, fixed: dict[str, str]):
        self.region, self.service = region, service
        self._head = f"{method}\n{quote(normalize_url_path(path), safe='/~')}\n\n"
        self._host = host
        self._fixed = {k.lower(): " ".join(v.split()) for k, v in fixed.items()}  # e.g. content-type, x-amz-target
        self._key: tuple[str, str, bytes] = ("", "", b"")  # (secret, yyyymmdd, derived key)

    def _signing_key(self, secret: str, day: str) -> bytes:
        if self._key[0] != secret or self._key[1] != day:
            k = hmac.digest(f"AWS4{secret}".encode(), day.encode(), "sha256")
            for part in (self.region, self.service, "aws4_request"):
                k = hmac.digest(k, part.encode(), "sha256")
            self._key = (secret, day, k)
        return self._key[2]

    def sign(self, body: bytes, amz_date: str, access_key: str, secret: str, token: str | None) -> dict[str, str]:
        """The headers that sign this body at `amz_date` (YYYYMMDDTHHMMSSZ): X-Amz-Date, the token when there is
        one, and Authorization."""
        signed = {**self._fixed, "host": self._host, "x-amz-date": amz_date}
        if token:
            signed["x-amz-security-token"] = token
        names = sorted(signed)
        canonical = "".join(
            (
                self._head,
                "".join(f"{n}:{signed[n]}\n" for n in names),
                "\n",
                ";".join(names),
                "\n",
                hashlib.sha256(body).hexdigest(),
            )
        )
        day = amz_date[:8]
        scope = f"{day}/{self.region}/{self.service}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(self._signing_key(secret, day), to_sign.encode(), hashlib.sha256).hexdigest()
        out = {"X-Amz-Date": amz_date}
        if token:
            out["X-Amz-Security-Token"] = token
        out["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
        )
        return out


class LeanOperation:
    """One operation of one client, ready to call: `await op.call(params)` returns what the SDK's method returns
    (the parsed answer, without ResponseMetadata) or raises what it raises (the client's ClientError subclasses,
    EndpointConnectionError / ConnectTimeoutError before anything was sent, ReadTimeoutError /
    ConnectionClosedError after). Timeouts are the client's: a connection (a pooled one or a new one) within its
    connect_timeout, else the call is not made; then the answer within its read_timeout between reads."""

    def __init__(
        self,
        client,
        operation: str,
        credentials,
        url: str,
        signing: tuple[str, str],
        user_agent: str,
        max_pool: int,
        client_span: bool = True,
        record: Callable[[dict[str, Any]], None] | None = None,
        wall: Callable[[], float] = time.time,
    ):
        model = client.meta.service_model.operation_model(operation)
        self.operation = operation
        self._model = model
        self._exceptions = client.exceptions
        self._credentials = credentials
        self._encode = _body_encoder(model)
        self._required = tuple(model.input_shape.required_members) if model.input_shape else ()
        self._parse_ok = _output_check(model)
        self._rest = model.metadata["protocol"] == "rest-json"
        if not self._rest:
            headers = {
                "X-Amz-Target": f"{model.metadata['targetPrefix']}.{model.name}",
                "Content-Type": f"application/x-amz-json-{model.metadata['jsonVersion']}",
            }
        else:
            headers = {"Content-Type": "application/json"}
        self.url = _urljoin(url, model.http["requestUri"], None)
        proxies = client.meta.config.proxies or get_environ_proxies(self.url)
        if ProxyConfiguration(proxies).proxy_url_for(self.url):
            raise Unsupported(f"{operation}: a proxy for {self.url}")
        self._host = _host_from_url(self.url)
        name, region = signing
        self._signer = SigV4(region, name, model.http["method"], urlsplit(self.url).path, self._host, headers)
        self._headers = {**headers, "User-Agent": user_agent}
        self._max_pool = max_pool
        config = client.meta.config
        self._timeout = aiohttp.ClientTimeout(connect=config.connect_timeout, sock_read=config.read_timeout)
        self._client_span = client_span
        self._record = record
        self._wall = wall
        self._second = (-1, "")  # (unix second, its X-Amz-Date)
        self._session: aiohttp.ClientSession | None = None
        self._opening = asyncio.Lock()

    async def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            async with self._opening:
                if self._session is None:
                    ssl_context = await asyncio.to_thread(_ssl_context) if self.url.startswith("https") else None
                    connector = aiohttp.TCPConnector(limit=self._max_pool, ssl=ssl_context or True)
                    # No trust_env: aiohttp would look for a proxy and a netrc entry on a thread for every request
                    # (two thread hops a call); a proxy is looked for once, when the operation is made.
                    self._session = aiohttp.ClientSession(
                        connector=connector,
                        timeout=self._timeout,
                        skip_auto_headers={"Content-Type"},
                        auto_decompress=False,
                    )
        return self._session

    def _amz_date(self) -> str:
        now = int(self._wall())
        if self._second[0] != now:
            self._second = (now, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now)))
        return self._second[1]

    def request(self, params: dict[str, Any], frozen) -> tuple[bytes, dict[str, str]]:
        """The body and headers of a call with these parameters, signed with these (frozen) credentials."""
        missing = [name for name in self._required if params.get(name) is None]
        if missing:
            raise ParamValidationError(report=f"Missing required parameter in input: {missing[0]!r}")
        try:
            body = json.dumps(self._encode(params)).encode()
        except KeyError as exc:
            raise ParamValidationError(report=f"Unknown parameter in input: {exc.args[0]!r}") from None
        headers = {
            **self._headers,
            **self._signer.sign(body, self._amz_date(), frozen.access_key, frozen.secret_key, frozen.token),
            "amz-sdk-invocation-id": invocation_id(),
            "amz-sdk-request": "attempt=1",
            "Content-Length": str(len(body)),
            "Host": self._host,
            "Accept-Encoding": "identity",
        }
        return body, headers

    async def call(self, params: dict[str, Any]) -> dict[str, Any]:
        if self._record is not None:
            self._record(params)
        if not self._client_span or otel_context.get_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY):
            return await self._call(params)
        with _tracer.start_as_current_span(
            f"{self._model.service_model.service_id} {self.operation}",
            kind=trace.SpanKind.CLIENT,
            attributes={
                "rpc.system": "aws-api",
                "rpc.service": str(self._model.service_model.service_id),
                "rpc.method": self.operation,
                "aws.signing_name": self._signer.service,
            },
        ):
            return await self._call(params)

    async def _call(self, params: dict[str, Any]) -> dict[str, Any]:
        frozen = await self._credentials.get_frozen_credentials()
        body, headers = self.request(params, frozen)
        http = await self._http()
        try:
            async with http.post(self.url, data=body, headers=headers) as reply:
                raw = await reply.read()
                status, reply_headers = reply.status, reply.headers
        except aiohttp.ClientConnectorError as exc:  # refused, unreachable: nothing was sent
            raise EndpointConnectionError(endpoint_url=self.url, error=exc) from exc
        except aiohttp.ConnectionTimeoutError as exc:  # no connection within the connect timeout: nothing was sent
            raise ConnectTimeoutError(endpoint_url=self.url, error=exc) from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:  # sent, maybe taken: no answer in time
            raise ReadTimeoutError(endpoint_url=self.url, error=exc) from exc
        except aiohttp.ClientError as exc:  # dropped mid-way
            raise ConnectionClosedError(endpoint_url=self.url, error=exc) from exc
        if status < 300:
            parsed = json.loads(raw) if raw else {}
            self._parse_ok(parsed)
            return parsed
        raise self._error(status, reply_headers, raw)

    def _error(self, status: int, headers, raw: bytes) -> Exception:
        """An error answer as botocore's JSON parsers read it: the message from the body's message / Message (the
        body itself when it is not JSON); the code from the body's __type, else the status, and for rest-json
        from the x-amzn-ErrorType header or the body's code first; namespaces and URL parts dropped."""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"message": raw.decode("utf-8", "replace")}
        if not isinstance(body, dict):
            body = {}
        code = str(body.get("__type", status))
        if self._rest:
            if "x-amzn-ErrorType" in headers:
                code = headers["x-amzn-ErrorType"]
            elif "code" in body or "Code" in body:
                code = str(body.get("code", body.get("Code", "")))
        code = code.split(":", 1)[0].rsplit("#", 1)[-1]
        meta: dict[str, Any] = {"HTTPStatusCode": status, "HTTPHeaders": {k.lower(): v for k, v in headers.items()}}
        if "x-amzn-RequestId" in headers:
            meta["RequestId"] = headers["x-amzn-RequestId"]
        parsed = {"Error": {"Code": code, "Message": body.get("message", body.get("Message", ""))}}
        parsed["ResponseMetadata"] = meta
        return self._exceptions.from_code(code)(parsed, self.operation)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


_ids = random.Random()


def invocation_id() -> str:
    """A version-4 UUID for amz-sdk-invocation-id, as botocore sends (it only tells one call from another in AWS's
    logs): from a pseudo-random generator, not os.urandom's system call for every request as uuid.uuid4 makes."""
    return str(uuid.UUID(int=_ids.getrandbits(128), version=4))


def _ssl_context():
    """Verified as botocore verifies (its CA bundle, or AWS_CA_BUNDLE)."""
    context = create_urllib3_context()
    context.load_verify_locations(get_cert_path(os.environ.get("AWS_CA_BUNDLE") or True))
    return context


def _body_encoder(model) -> Encoder:
    """The operation's input as botocore's JSON serialisers write it (members in the caller's order, None left
    out, blobs base64, a member's wire name where it has one); Unsupported for anything outside the body or any
    type this does not encode exactly as botocore does."""
    protocol = model.metadata.get("protocol")
    if protocol not in ("rest-json", "json"):
        raise Unsupported(f"{model.name}: protocol {protocol}")
    if protocol == "rest-json" and ("{" in model.http["requestUri"] or "?" in model.http["requestUri"]):
        raise Unsupported(f"{model.name}: parameters in the URI")
    special = {
        "a host prefix": model.endpoint,
        "a checksum": model.http_checksum or model.http_checksum_required,
        "streaming input": model.has_streaming_input,
        "compression": model.request_compression,
        "an unsigned payload": model.unsigned_payload,
        "endpoint parameters": model.context_parameters
        or model.static_context_parameters
        or model.operation_context_parameters,
        "another signature": model.resolved_auth_type not in (None, "v4")
        or model.service_model.signature_version != "v4",
    }
    if needs := [what for what, present in special.items() if present]:
        raise Unsupported(f"{model.name}: {', '.join(needs)}")
    shape = model.input_shape
    if shape is None:
        return lambda params: {}
    for member in shape.members.values():
        if member.serialization.get("location") or member.metadata.get("idempotencyToken"):
            raise Unsupported(f"{model.name}: a header, URI or query parameter, or an idempotency token")
    return _encoder(shape, {})


def _encoder(shape, made: dict[str, Encoder]) -> Encoder:
    kind = shape.type_name
    if kind in _SCALARS and not shape.serialization.get("jsonvalue"):
        return _same
    if kind == "blob":
        return _base64
    if kind == "list":
        item = _encoder(shape.member, made)
        return (lambda value: list(value)) if item is _same else (lambda value: [item(v) for v in value])
    if kind == "map":
        each = _encoder(shape.value, made)
        return lambda value: {k: each(v) for k, v in value.items()}
    if kind != "structure" or shape.is_document_type:
        raise Unsupported(f"shape {shape.name} ({kind})")
    if shape.name in made:  # a recursive shape: the encoder that is being made
        return lambda value: made[shape.name](value)
    members: dict[str, tuple[str, Encoder]] = {}

    def encode(value: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for key, v in value.items():
            if v is not None:
                name, enc = members[key]  # KeyError: not a member (reported as an unknown parameter)
                out[name] = enc(v)
        return out

    made[shape.name] = encode
    for name, member in shape.members.items():
        members[name] = (member.serialization.get("name", name), _encoder(member, made))
    return encode


def _same(value: Any) -> Any:
    return value


def _base64(value: bytes | str) -> str:
    return base64.b64encode(value.encode() if isinstance(value, str) else value).strip().decode("ascii")


def _output_check(model) -> Callable[[Any], None]:
    """Answers are returned as parsed JSON: right for outputs made of body members of JSON types only (no header
    members, blobs or timestamps to convert)."""
    shape = model.output_shape
    if shape is not None:
        for member in shape.members.values():
            if member.serialization.get("location"):
                raise Unsupported(
                    f"{model.name}: output member {member.name} in the {member.serialization['location']}"
                )
        _plain_json(shape, set())

    def check(parsed: Any) -> None:
        if not isinstance(parsed, dict):
            raise ValueError(f"{model.name}: the answer is not a JSON object")

    return check


def _plain_json(shape, seen: set[str]) -> None:
    if shape.name in seen:
        return
    seen.add(shape.name)
    kind = shape.type_name
    if kind == "structure":
        for member in shape.members.values():
            _plain_json(member, seen)
    elif kind == "list":
        _plain_json(shape.member, seen)
    elif kind == "map":
        _plain_json(shape.value, seen)
    elif kind not in _SCALARS:
        raise Unsupported(f"output shape {shape.name} ({kind})")
