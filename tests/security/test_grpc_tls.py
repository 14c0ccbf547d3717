"""gRPC over TLS as the prod overlay turns it on, with a CA made here: the contacts service serves TLS only on its
port (a plaintext client fails, a client trusting another CA fails), clients that trust the CA call it through
runtime.clients (the way services and the gateway dial), the gateway reaches it over TLS, and kubelet's probes
still get grpc.health.v1 in plaintext on the health port."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
from pathlib import Path

import grpc
import pytest
from aiohttp.test_utils import TestClient, TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.app import Gateway
from gateway.backends import BACKENDS
from localrun.procs import free_port
from runtime import tls
from runtime.clients import dial, service_channel
from runtime.server import LIVENESS
from runtime.settings import Settings
from services.contacts.main import wire as wire_contacts
from tests.support.identity import TestPool
from tests.support.servers import running
from wecare.contacts.v1 import contacts_service_pb2 as pb
from wecare.contacts.v1 import contacts_service_pb2_grpc


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(folder: Path, label: str) -> tuple[Path, ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"wecare test CA {label}"))
        .issuer_name(_name(f"wecare test CA {label}"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = folder / f"ca-{label}.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, key, cert


def make_server_cert(folder: Path, ca_key, ca_cert) -> tuple[Path, Path]:
    """A certificate for the names a service is dialled by (here localhost and 127.0.0.1; in the cluster its
    Service's DNS names), signed by the CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("contacts"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.DNSName("contacts"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = folder / "tls.crt", folder / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def certificates(tmp_path):
    ca, ca_key, ca_cert = make_ca(tmp_path, "ours")
    other_ca, _, _ = make_ca(tmp_path, "theirs")
    cert, key = make_server_cert(tmp_path, ca_key, ca_cert)
    return {"ca": ca, "other_ca": other_ca, "cert": cert, "key": key}


@pytest.fixture
def client_tls():
    """runtime.tls.use is process-wide: each test sets what it needs, and the plaintext default comes back."""
    yield tls.use
    tls.use(Settings())


@pytest.fixture
async def tls_contacts(tmp_path, certificates):
    pool = TestPool()
    health_port = free_port()
    async with running(
        "contacts",
        wire_contacts,
        pool,
        tmp_path,
        tls_cert_file=str(certificates["cert"]),
        tls_key_file=str(certificates["key"]),
        health_port=health_port,
    ) as process:
        yield process, pool, health_port


async def _list(channel: grpc.aio.Channel, pool: TestPool) -> grpc.StatusCode:
    stub = contacts_service_pb2_grpc.ContactsServiceStub(channel)
    try:
        await stub.ListContacts(pb.ListContactsRequest(page_size=1), metadata=pool.bearer("viewer"), timeout=5)
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


async def test_clients_that_trust_the_ca_call_over_tls(tls_contacts, certificates, client_tls):
    process, pool, _ = tls_contacts
    client_tls(Settings(tls_ca_file=str(certificates["ca"])))
    async with dial(process.address) as channel:
        assert await _list(channel, pool) == grpc.StatusCode.OK
    # The way services dial each other (service token included)
    from runtime.auth import ServiceTokens

    async with service_channel(process.address, ServiceTokens(process.settings, "messaging").token) as channel:
        stub = contacts_service_pb2_grpc.ContactsServiceStub(channel)
        await stub.ListContacts(pb.ListContactsRequest(page_size=1), timeout=5)


async def test_plaintext_and_untrusted_clients_are_refused(tls_contacts, certificates, client_tls):
    process, pool, _ = tls_contacts
    async with grpc.aio.insecure_channel(process.address) as plain:
        assert await _list(plain, pool) == grpc.StatusCode.UNAVAILABLE
    client_tls(Settings(tls_ca_file=str(certificates["other_ca"])))
    async with dial(process.address) as untrusted:
        assert await _list(untrusted, pool) == grpc.StatusCode.UNAVAILABLE


async def test_kubelet_probes_get_health_in_plaintext_on_the_health_port(tls_contacts):
    _, _, health_port = tls_contacts
    async with grpc.aio.insecure_channel(f"127.0.0.1:{health_port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", LIVENESS, "wecare.contacts.v1.ContactsService"):
            # NOT_SERVING until the process's first round of backend probes passes, then SERVING.
            for _ in range(50):
                reply = await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    break
                await asyncio.sleep(0.1)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, service
        # Health only: the API is not on the plaintext port
        stub = contacts_service_pb2_grpc.ContactsServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.ListContacts(pb.ListContactsRequest(), timeout=5)
        assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_the_gateway_reaches_a_tls_backend(tls_contacts, certificates, client_tls):
    process, pool, _ = tls_contacts
    client_tls(Settings(tls_ca_file=str(certificates["ca"])))
    settings = pool.settings(contacts_address=process.address)
    backends = tuple(b for b in BACKENDS if b.address_setting == "contacts_address")
    gateway = Gateway(settings, pool.verifier(settings), backends=backends)
    client = TestClient(TestServer(gateway.app(), host="127.0.0.1"))
    await client.start_server()
    try:
        reply = await client.get("/v1/contacts", headers={"Authorization": f"Bearer {pool.token('viewer')}"})
        assert reply.status == 200, await reply.text()
        assert (await client.get("/readyz")).status == 200
    finally:
        await client.close()


def test_settings_take_certificate_and_key_together():
    with pytest.raises(ValueError, match="together"):
        Settings(tls_cert_file="/etc/wecare/tls/tls.crt").check()
