"""What every WECARE process needs, written once: settings, server bootstrap, auth, audit, errors, logging,
tracing, metrics, storage helpers and AWS clients. Services import from here; nothing here imports a service."""
