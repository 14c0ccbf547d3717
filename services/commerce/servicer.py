"""The one CommerceService, put together from the RPCs of each resource (rpc/links.py, rpc/forms.py and
rpc/form_responses.py, and invoices and payments as they land): every RPC the proto declares is served by exactly
one resource's handler, checked when the process starts, so an RPC without a handler (or with two) stops the start
instead of answering UNIMPLEMENTED."""

from __future__ import annotations

from wecare.commerce.v1 import commerce_service_pb2, commerce_service_pb2_grpc

SERVICE = "wecare.commerce.v1.CommerceService"


def declared_rpcs() -> tuple[str, ...]:
    return tuple(commerce_service_pb2.DESCRIPTOR.services_by_name["CommerceService"].methods_by_name)


class CommerceServicer(commerce_service_pb2_grpc.CommerceServiceServicer):
    def __init__(self, *handlers: object):
        served: dict[str, object] = {}
        for handler in handlers:
            for rpc in declared_rpcs():
                method = getattr(type(handler), rpc, None)
                if method is None:
                    continue
                if rpc in served:
                    raise TypeError(
                        f"{rpc} is served by both {type(served[rpc]).__name__} and {type(handler).__name__}"
                    )
                served[rpc] = handler
                setattr(self, rpc, getattr(handler, rpc))  # grpc looks the handler up by the RPC's name
        missing = [rpc for rpc in declared_rpcs() if rpc not in served]
        if missing:
            raise TypeError(f"{SERVICE}: no handler for {', '.join(missing)}")
