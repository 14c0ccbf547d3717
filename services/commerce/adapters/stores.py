"""The store of each commerce table, on the engine the settings choose (runtime.storage: SQLite files under
WECARE_DATA_DIR, the embedded default, or DynamoDB). A table that lands adds its opener here."""

from __future__ import annotations

from runtime.aws import AwsClients
from runtime.settings import Settings
from runtime.storage import open_table
from services.commerce.adapters.form_dynamodb import DynamoFormStore
from services.commerce.adapters.form_sqlite import SqliteFormStore
from services.commerce.adapters.form_store import FormStore
from services.commerce.adapters.invoice_dynamodb import DynamoInvoiceStore
from services.commerce.adapters.invoice_sqlite import SqliteInvoiceStore
from services.commerce.adapters.invoice_store import InvoiceStore
from services.commerce.adapters.link_dynamodb import DynamoLinkStore
from services.commerce.adapters.link_sqlite import SqliteLinkStore
from services.commerce.adapters.link_store import LinkStore
from services.commerce.adapters.pay_dynamodb import DynamoPayStore
from services.commerce.adapters.pay_sqlite import SqlitePayStore
from services.commerce.adapters.pay_store import PayStore


def link_store(settings: Settings, aws: AwsClients) -> LinkStore:
    return open_table(settings, aws, settings.link_table, sqlite=SqliteLinkStore, dynamodb=DynamoLinkStore)


def form_store(settings: Settings, aws: AwsClients) -> FormStore:
    return open_table(settings, aws, settings.forms_table, sqlite=SqliteFormStore, dynamodb=DynamoFormStore)


def invoice_store(settings: Settings, aws: AwsClients) -> InvoiceStore:
    return open_table(settings, aws, settings.invoice_table, sqlite=SqliteInvoiceStore, dynamodb=DynamoInvoiceStore)


def pay_store(settings: Settings, aws: AwsClients) -> PayStore:
    return open_table(settings, aws, settings.pay_table, sqlite=SqlitePayStore, dynamodb=DynamoPayStore)
