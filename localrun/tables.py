"""The DynamoDB tables of every service, for a local run with WECARE_STORE=dynamodb (on the embedded AWS) and for
tests. Production tables come from deploy/aws (CloudFormation), checked against these same definitions.
A service with DynamoDB tables adds one line to TABLES."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from runtime.audit import dynamodb_store as audit_tables
from runtime.aws import AwsClients
from runtime.settings import Settings
from services.ai.adapters import dynamodb_store as ai_tables
from services.bulk.adapters import dynamodb_jobs as bulk_jobs_table
from services.bulk.adapters import dynamodb_store as bulk_tables
from services.commerce.adapters import form_dynamodb as form_tables
from services.commerce.adapters import invoice_dynamodb as invoice_tables
from services.commerce.adapters import link_dynamodb as link_tables
from services.commerce.adapters import pay_dynamodb as pay_tables
from services.contacts.adapters import dynamodb_store as contacts_tables
from services.messaging.adapters import dynamodb_store as messaging_tables

Ensure = Callable[[object, str], Awaitable[None]]

# (the Settings attribute naming the table, the function that creates it)
TABLES: tuple[tuple[str, Ensure], ...] = (
    ("audit_table", audit_tables.ensure_table),
    ("contacts_table", contacts_tables.ensure_table),
    ("docs_table", ai_tables.ensure_table),
    ("whatsapp_outbound_table", messaging_tables.ensure_outbound_table),
    ("whatsapp_inbound_table", messaging_tables.ensure_inbound_table),
    ("bulk_jobs_table", bulk_jobs_table.ensure_jobs_table),
    ("bulk_job_chunks_table", bulk_tables.ensure_chunks_table),
    ("link_table", link_tables.ensure_table),
    ("forms_table", form_tables.ensure_table),
    ("invoice_table", invoice_tables.ensure_table),
    ("pay_table", pay_tables.ensure_table),
)


async def ensure_tables(settings: Settings) -> list[str]:
    aws = AwsClients(settings)
    try:
        client = await aws.client("dynamodb")
        names = [settings.table(getattr(settings, attribute)) for attribute, _ in TABLES]
        await asyncio.gather(*(ensure(client, name) for (_, ensure), name in zip(TABLES, names, strict=True)))
        return names
    finally:
        await aws.close()
