"""TLS for gRPC between the processes: server credentials from WECARE_TLS_CERT_FILE/KEY, client credentials
trusting WECARE_TLS_CA_FILE. Off when unset (the local run); the prod overlay mounts a certificate and sets them.

The client side is chosen once per process at start (like logging and tracing), so every channel the process
dials, wherever it is made, speaks the same way."""

from __future__ import annotations

from pathlib import Path

import grpc

from runtime.settings import Settings

_client_credentials: grpc.ChannelCredentials | None = None


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    if not settings.tls_cert_file:
        return None
    key = Path(settings.tls_key_file).read_bytes()
    cert = Path(settings.tls_cert_file).read_bytes()
    return grpc.ssl_server_credentials([(key, cert)])


def channel_credentials(settings: Settings) -> grpc.ChannelCredentials | None:
    if not settings.tls_ca_file:
        return None
    return grpc.ssl_channel_credentials(root_certificates=Path(settings.tls_ca_file).read_bytes())


def use(settings: Settings) -> None:
    """Sets how this process dials other services (runtime.clients.dial): TLS trusting the CA, or plaintext."""
    global _client_credentials
    _client_credentials = channel_credentials(settings)


def client_credentials() -> grpc.ChannelCredentials | None:
    return _client_credentials
