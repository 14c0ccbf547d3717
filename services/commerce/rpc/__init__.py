"""CommerceService's RPCs, one module per resource: protobuf in, a use case, protobuf out. servicer.py puts them
together into the one CommerceService."""
