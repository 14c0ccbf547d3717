"""Inbound use cases: ingest (EUM Social events applied once), the inbox's live feed, the inbox reads, media
copies, and the replays of messaging's dead-letter queues."""
