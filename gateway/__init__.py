"""The HTTP/JSON gateway: it owns nothing; it authenticates, transcodes HTTP to gRPC and back, and streams.

Run it with `python -m gateway` (listens on WECARE_GATEWAY_ADDRESS, default 127.0.0.1:8080).

Transcoding rules (those of google/api/http.proto, as Envoy's gRPC-JSON transcoder and grpc-gateway apply them)
-------------------------------------------------------------------------------------------------------------
Routes. Every RPC with a `google.api.http` option, of every service in gateway/backends.py, is a route; its
`additional_bindings` are routes too. No route has code of its own: adding a backend is one line there.

Paths. A template such as `/v1/{name=contacts/*}` or `/v1/{contact.name=contacts/*}:start` matches the raw path;
a variable binds the (percent-decoded) text it matches to its request field, nested fields by dots. `*` is one
segment, `**` any number. A custom verb (`:search`, `:start`) is matched before a `*` that could swallow it, so
`/v1/bulkJobs/1:start` is never the id `1:start`. No template matching the path: 404. Templates matching the
path but not for this method: 405 with `Allow`.

Bodies. `body: "*"`: the JSON body is the whole request (the path still wins for the fields it binds) and no
query parameter is taken. `body: "contact"`: the JSON body is that one field. No `body`: a body is refused.
Bodies are proto3 JSON, parsed by google.protobuf.json_format with unknown fields refused; lowerCamel and
original snake names are both accepted. A body over WECARE_MAX_BODY_BYTES is refused with 413 before it is
parsed (Content-Length first, then a capped read).

Query parameters. Every request field the path and the body leave free may be a query parameter, named in
lowerCamel or snake form, dots for nested fields (`contact.displayName`), repeated parameters for a repeated
field (`tags=a&tags=b`). Values convert by field type: integers, `true`/`false` (or 1/0), enums by name (or
number), Timestamps in RFC 3339, Durations like `1.5s`, FieldMasks as comma-separated lowerCamel paths
(`updateMask=displayName,email`). Unknown parameters, parameters for fields the path or body already set, and
values of the wrong type are refused.

Bad input. Malformed JSON, wrong types, unknown fields and bad query values get 400 with a google.rpc.Status
whose message and BadRequest field violation name the field by its proto path (`contact.display_name`,
`page_size`); nothing reaches the backend.

Responses. 200 with the response message in proto3 JSON (lowerCamel names, defaults omitted), or its
`response_body` field. Errors are the backend's google.rpc.Status (its `grpc-status-details-bin` trailer, the
details as JSON Any with `@type`) with the HTTP status of google/rpc/code.proto: INVALID_ARGUMENT,
FAILED_PRECONDITION, OUT_OF_RANGE 400; UNAUTHENTICATED 401; PERMISSION_DENIED 403; NOT_FOUND 404;
ALREADY_EXISTS, ABORTED 409; RESOURCE_EXHAUSTED 429; CANCELLED 499; UNIMPLEMENTED 501; UNAVAILABLE 503;
DEADLINE_EXCEEDED 504; others 500.

Streams. A server-streaming RPC answers `text/event-stream`: one `data:` event of JSON per message; a failure
after the first event is an `event: error` carrying the Status JSON (a failure before it is a plain HTTP error).
These routes, and only these, also take the token as an `access_token` query parameter, since an EventSource
cannot set headers. A client that goes away cancels the gRPC call.

Auth. The bearer token is verified at the edge (runtime.auth.TokenVerifier: 401 when missing or invalid) and
the RPC's declared access (`wecare.auth.v1.access`) is checked (403) before anything reaches a service; the
caller's token is then forwarded as `authorization` metadata and the services check it again. The edge takes
people's tokens only: a service token is refused (403) on every route. /healthz, /readyz, /openapi.json and
CORS preflights are open.

Console. The operator console (console/, built into console/dist by `make console`) is served from `/` on the same
origin, with a strict Content-Security-Policy and the usual security headers; a GET for HTML at a path no API route
matches (outside `/v1/`) is its page, so its client routes can be reloaded and shared. /console/config.json (open)
tells the browser where to sign in with Cognito (gateway/console.py).

Also: CORS for WECARE_CORS_ORIGINS; a server span per request continuing the caller's `traceparent`, passed on
to the service; one JSON log line per request; /readyz asks every backend's grpc.health.v1 Check;
/openapi.json is OpenAPI 3.0 generated from the same annotations.
"""
