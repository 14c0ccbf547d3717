"""Commerce's use cases, one module per resource: what each request does, in the domain's words, over the
stores' Protocols (no protobuf, no gRPC)."""
