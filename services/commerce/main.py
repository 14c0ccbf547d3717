"""Wiring of the commerce process: a store per table, a use case per resource, the RPCs of each resource put
together into CommerceService, health probes. A resource that lands adds its store, use case and RPC handler
here."""

from __future__ import annotations

from runtime.auth import ServiceTokens
from runtime.aws import AwsClients
from runtime.clients import service_channel
from runtime.pagination import PageTokens
from runtime.process import main as run_main
from runtime.server import GrpcProcess
from services.commerce.adapters import stores
from services.commerce.adapters.contacts import ContactsClient
from services.commerce.adapters.flows import EumSocialFlows
from services.commerce.domain.links import check_base_url
from services.commerce.rpc.form_responses import FormResponsesRpc
from services.commerce.rpc.forms import FormsRpc
from services.commerce.rpc.links import LinksRpc
from services.commerce.servicer import SERVICE, CommerceServicer
from services.commerce.usecases.forms import Forms
from services.commerce.usecases.links import Links
from services.commerce.usecases.responses import Invitations, Responses
from wecare.commerce.v1 import commerce_service_pb2_grpc


async def wire(process: GrpcProcess, aws: AwsClients) -> None:
    settings = process.settings
    tokens = PageTokens(settings.effective_page_token_key)
    link_store = stores.link_store(settings, aws)
    links = Links(link_store, check_base_url(settings.links_base_url))
    # Forms: FormsTable, WhatsApp Flows through EUM Social, answers written onto contacts as this service.
    form_store = stores.form_store(settings, aws)
    flows = EumSocialFlows(aws, settings.social_messaging_endpoint_url)
    contacts_channel = service_channel(settings.contacts_address, ServiceTokens(settings, "commerce").token)
    forms = Forms(form_store, flows, settings.whatsapp_wabas)
    invitations = Invitations(form_store, settings.default_phone_region)
    responses = Responses(form_store, ContactsClient(contacts_channel), settings.default_phone_region)
    process.add_service(
        commerce_service_pb2_grpc.add_CommerceServiceServicer_to_server,
        CommerceServicer(
            LinksRpc(links, tokens),
            FormsRpc(forms, tokens),
            FormResponsesRpc(invitations, responses, tokens),
        ),
        SERVICE,
    )
    process.depends_on("link-store", link_store.ping)
    process.depends_on("form-store", form_store.ping)
    process.on_close(link_store.close)
    process.on_close(form_store.close)
    process.on_close(contacts_channel.close)


def main() -> None:
    run_main("commerce", lambda s: s.commerce_address, wire)


if __name__ == "__main__":
    main()
