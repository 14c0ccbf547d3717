"""The four gRPC services, one folder each: wiring (main), servicer, domain, adapters."""
