"""Wiring of the commerce process: a store per table, a use case per resource, the RPCs of each resource put
together into CommerceService, health probes. A resource that lands adds its store, use case and RPC handler
here."""

from __future__ import annotations

from runtime.aws import AwsClients
from runtime.pagination import PageTokens
from runtime.process import main as run_main
from runtime.server import GrpcProcess
from services.commerce.adapters import stores
from services.commerce.domain.links import check_base_url
from services.commerce.rpc.links import LinksRpc
from services.commerce.servicer import SERVICE, CommerceServicer
from services.commerce.usecases.links import Links
from wecare.commerce.v1 import commerce_service_pb2_grpc


async def wire(process: GrpcProcess, aws: AwsClients) -> None:
    settings = process.settings
    tokens = PageTokens(settings.effective_page_token_key)
    link_store = stores.link_store(settings, aws)
    links = Links(link_store, check_base_url(settings.links_base_url))
    process.add_service(
        commerce_service_pb2_grpc.add_CommerceServiceServicer_to_server,
        CommerceServicer(LinksRpc(links, tokens)),
        SERVICE,
    )
    process.depends_on("link-store", link_store.ping)
    process.on_close(link_store.close)


def main() -> None:
    run_main("commerce", lambda s: s.commerce_address, wire)


if __name__ == "__main__":
    main()
