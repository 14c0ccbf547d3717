"""The store of each commerce table, chosen by settings (WECARE_STORE): SQLite files under WECARE_DATA_DIR (the
embedded default) or DynamoDB. A table that lands adds its factory here."""

from __future__ import annotations

from runtime.aws import AwsClients
from runtime.settings import Settings
from services.commerce.adapters.form_store import FormStore
from services.commerce.adapters.invoice_store import InvoiceStore
from services.commerce.adapters.link_store import LinkStore
from services.commerce.adapters.pay_store import PayStore


def link_store(settings: Settings, aws: AwsClients) -> LinkStore:
    table = settings.table(settings.link_table)
    if settings.store == "dynamodb":
        from services.commerce.adapters.link_dynamodb import DynamoLinkStore

        return DynamoLinkStore(aws, table)
    from services.commerce.adapters.link_sqlite import SqliteLinkStore

    return SqliteLinkStore(settings.data_dir / f"{table}.sqlite3")


def form_store(settings: Settings, aws: AwsClients) -> FormStore:
    table = settings.table(settings.forms_table)
    if settings.store == "dynamodb":
        from services.commerce.adapters.form_dynamodb import DynamoFormStore

        return DynamoFormStore(aws, table)
    from services.commerce.adapters.form_sqlite import SqliteFormStore

    return SqliteFormStore(settings.data_dir / f"{table}.sqlite3")


def invoice_store(settings: Settings, aws: AwsClients) -> InvoiceStore:
    table = settings.table(settings.invoice_table)
    if settings.store == "dynamodb":
        from services.commerce.adapters.invoice_dynamodb import DynamoInvoiceStore

        return DynamoInvoiceStore(aws, table)
    from services.commerce.adapters.invoice_sqlite import SqliteInvoiceStore

    return SqliteInvoiceStore(settings.data_dir / f"{table}.sqlite3")


def pay_store(settings: Settings, aws: AwsClients) -> PayStore:
    table = settings.table(settings.pay_table)
    if settings.store == "dynamodb":
        from services.commerce.adapters.pay_dynamodb import DynamoPayStore

        return DynamoPayStore(aws, table)
    from services.commerce.adapters.pay_sqlite import SqlitePayStore

    return SqlitePayStore(settings.data_dir / f"{table}.sqlite3")
