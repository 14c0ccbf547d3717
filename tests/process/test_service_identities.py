"""Service identities on the running stack (`make run`'s processes, each given its own key by localrun/keys.py),
over the network. For every RPC of every gRPC service and every service identity, a token minted with that
service's key is let past the access check exactly when the protos' table lists the service (PERMISSION_DENIED
otherwise, before the handler runs); a token signed with one service's key that names another, or signed with
the well-known local key, is UNAUTHENTICATED; the gateway takes no service token at all. The calls the services
make of each other on this stack (bulk, ai, messaging, the sandbox as the gateway's ingest) are the other
process tests: they pass with these keys."""

from __future__ import annotations

import stat
import time

import grpc
import jwt
import pytest
import requests
from google.protobuf import descriptor_pool, message_factory

from localrun import keys
from runtime.auth import access_table, service_identities
from runtime.service_identity import fingerprint, local_private, private_key
from wecare.ai.v1 import ai_service_pb2  # noqa: F401 - loads the service descriptors
from wecare.bulk.v1 import bulk_service_pb2  # noqa: F401
from wecare.commerce.v1 import commerce_service_pb2  # noqa: F401
from wecare.contacts.v1 import contacts_service_pb2  # noqa: F401
from wecare.messaging.v1 import messaging_service_pb2  # noqa: F401

pytestmark = pytest.mark.process

SERVICES = {
    "contacts": "wecare.contacts.v1.ContactsService",
    "messaging": "wecare.messaging.v1.MessagingService",
    "bulk": "wecare.bulk.v1.BulkService",
    "ai": "wecare.ai.v1.AIService",
    "commerce": "wecare.commerce.v1.CommerceService",
}
PAST_THE_CHECK_WITHIN = 3.0  # a streaming call let in may stream on: its deadline says it was let in
REFUSED = (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)


def minted(stack, service: str) -> str:
    """A token as that service's own process mints it, with the stack's key of that service."""
    return stack.service_token(service)


def signed(private: str, service: str) -> str:
    now = int(time.time())
    claims = {"iss": "wecare:service", "aud": "wecare", "sub": f"service:{service}", "service": service}
    key = private_key(private)
    headers = {"kid": fingerprint(key.public_key())}
    return jwt.encode({**claims, "iat": now, "exp": now + 300}, key, algorithm="EdDSA", headers=headers)


def call(address: str, method, token: str) -> grpc.StatusCode:
    """An empty request of the RPC with the token: the status it ends with (a stream's first answer will do)."""
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    path = f"/{method.containing_service.full_name}/{method.name}"
    metadata = (("authorization", f"Bearer {token}"),)
    with grpc.insecure_channel(address) as channel:
        kind = channel.unary_stream if method.server_streaming else channel.unary_unary
        rpc = kind(path, request_class.SerializeToString, response_class.FromString)
        try:
            answer = rpc(request_class(), metadata=metadata, timeout=PAST_THE_CHECK_WITHIN)
            if method.server_streaming:
                next(iter(answer), None)
                answer.cancel()
        except grpc.RpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


def test_each_process_has_its_own_key_in_the_run_dir(stack):
    folder = stack.run.keys
    assert sorted(p.stem for p in folder.glob("*.key")) == sorted(service_identities())
    for path in folder.glob("*.key"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    held = {name: keys.ensure(folder)[name] for name in service_identities()}
    assert len(set(held.values())) == len(held)  # no two services share a key


def test_every_rpc_lets_in_exactly_the_services_the_table_lists(stack):
    pool = descriptor_pool.Default()
    tokens = {name: minted(stack, name) for name in service_identities()}
    wrong = []
    for process, service_name in SERVICES.items():
        table = access_table([service_name])
        for method in pool.FindServiceByName(service_name).methods:
            allowed = set(table[f"/{service_name}/{method.name}"].services)
            for name, token in tokens.items():
                code = call(stack.addresses[process], method, token)
                ok = code not in REFUSED if name in allowed else code == grpc.StatusCode.PERMISSION_DENIED
                if not ok:
                    wrong.append(f"{name} on {method.name}: {code.name} (listed: {sorted(allowed)})")
    assert not wrong, "\n".join(wrong)


def test_a_key_cannot_speak_for_another_service(stack):
    gateway_key = keys.ensure(stack.run.keys)["gateway"]
    messaging = stack.addresses["messaging"]
    methods = descriptor_pool.Default().FindServiceByName(SERVICES["messaging"]).methods_by_name
    # The gateway's key, naming bulk, on what bulk may do: not bulk's key, so nobody
    assert call(messaging, methods["SendMessages"], signed(gateway_key, "bulk")) == grpc.StatusCode.UNAUTHENTICATED
    # The well-known local key of bulk means nothing to a stack with keys of its own
    forged = signed(local_private("bulk"), "bulk")
    assert call(messaging, methods["WithdrawMessages"], forged) == grpc.StatusCode.UNAUTHENTICATED
    # ...while the gateway's own token is let in where the gateway may go (an empty batch is refused by the
    # handler), and only there
    assert call(messaging, methods["IngestEvents"], minted(stack, "gateway")) == grpc.StatusCode.INVALID_ARGUMENT
    for method in ("SendMessages", "WithdrawMessages", "ReplayDeadLetters", "SendMessage"):
        assert call(messaging, methods[method], minted(stack, "gateway")) == grpc.StatusCode.PERMISSION_DENIED


def test_the_gateway_takes_no_service_token(stack):
    for name in service_identities():
        reply = requests.get(
            f"http://{stack.addresses['gateway']}/v1/contacts",
            headers={"Authorization": f"Bearer {minted(stack, name)}"},
            timeout=10,
        )
        assert reply.status_code == 403, name
    person = requests.get(
        f"http://{stack.addresses['gateway']}/v1/contacts",
        headers={"Authorization": f"Bearer {stack.token('viewer')}"},
        timeout=10,
    )
    assert person.status_code == 200
