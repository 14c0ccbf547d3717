"""A grpcurl-style client against the contacts process of a running local stack, with no proto files at all.

Proves: server reflection lists ContactsService, Health and ServerReflection and describes them well enough to
build and decode messages (the client has only a descriptor pool filled over the network); a token from
`python -m localrun.token`, run as a user runs it, lets the admin create a contact and read it back; health and
reflection answer without a token while ContactsService refuses a call without one (UNAUTHENTICATED)."""

from __future__ import annotations

import subprocess
import sys

import grpc
import pytest
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from localrun.procs import python_env

pytestmark = pytest.mark.process

CONTACTS = "wecare.contacts.v1.ContactsService"


class ReflectionClient:
    """What grpcurl does: learn the schema from the server, then call methods by name with JSON."""

    def __init__(self, channel: grpc.Channel):
        self.channel = channel
        self.database = ProtoReflectionDescriptorDatabase(channel)
        self.pool = descriptor_pool.DescriptorPool(self.database)  # empty but for what the server tells it

    def services(self) -> list[str]:
        return sorted(self.database.get_services())

    def call(self, method: str, body: dict, token: str | None = None) -> dict:
        service_name, _, method_name = method.rpartition("/")
        descriptor = self.pool.FindServiceByName(service_name).methods_by_name[method_name]
        request_class = message_factory.GetMessageClass(descriptor.input_type)
        response_class = message_factory.GetMessageClass(descriptor.output_type)
        request = json_format.ParseDict(body, request_class(), descriptor_pool=self.pool)
        stub = self.channel.unary_unary(
            f"/{service_name}/{method_name}",
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        metadata = [("authorization", f"Bearer {token}")] if token else None
        return json_format.MessageToDict(stub(request, metadata=metadata, timeout=10), descriptor_pool=self.pool)


@pytest.fixture
def client(stack):
    with grpc.insecure_channel(stack.addresses["contacts"]) as channel:
        yield ReflectionClient(channel)


def test_reflection_lists_every_service_without_a_token(client):
    services = client.services()
    assert {CONTACTS, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= set(services)
    contacts = client.pool.FindServiceByName(CONTACTS)
    assert {"CreateContact", "GetContact", "DeleteContact", "ListContacts"} <= set(contacts.methods_by_name)
    # The message schema came over the wire too: a field several levels down is known.
    create = contacts.methods_by_name["CreateContact"].input_type
    assert create.fields_by_name["contact"].message_type.fields_by_name["phone_number"].type


def test_health_answers_without_a_token(client):
    reply = client.call("grpc.health.v1.Health/Check", {"service": CONTACTS})
    assert reply == {"status": "SERVING"}


def test_admin_creates_and_reads_a_contact_with_the_token_make_token_prints(stack, client):
    # Exactly what a user does: run the token tool against the stack's run dir and take its last line.
    out = subprocess.run(
        [sys.executable, "-m", "localrun.token"],
        env=python_env({"WECARE_RUN_DIR": str(stack.run.root)}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    token = out.stdout.strip().splitlines()[-1]

    created = client.call(
        f"{CONTACTS}/CreateContact",
        {"contact": {"displayName": "Reflection Ravi", "phoneNumber": "+91 98123 45001", "tags": ["grpcurl"]}},
        token,
    )
    assert created["name"].startswith("contacts/")
    assert created["phoneNumber"] == "+919812345001"
    assert created["etag"]
    read = client.call(f"{CONTACTS}/GetContact", {"name": created["name"]}, token)
    assert read["displayName"] == "Reflection Ravi"
    assert read["tags"] == ["grpcurl"]
    assert read["etag"] == created["etag"]


def test_no_token_is_unauthenticated_and_changes_nothing(stack, client):
    token = stack.token("admin")
    before = client.call(f"{CONTACTS}/SearchContacts", {"query": "+91 98123 45002"}, token)
    with pytest.raises(grpc.RpcError) as refused:
        client.call(
            f"{CONTACTS}/CreateContact", {"contact": {"displayName": "Nobody", "phoneNumber": "+91 98123 45002"}}
        )
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "bearer token" in refused.value.details()
    after = client.call(f"{CONTACTS}/SearchContacts", {"query": "+91 98123 45002"}, token)
    assert before.get("contacts", []) == after.get("contacts", []) == []
