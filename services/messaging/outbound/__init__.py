"""Outbound use cases: accepting sends (shape, idempotency, the sending rules and their facts), following a
streamed send until every message is settled, withdrawal, the template catalogue, and media uploads."""
