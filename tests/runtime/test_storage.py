"""runtime.storage: the one place a process's storage engine is chosen. The embedded default opens a table as
its file under the data dir; WECARE_STORE=dynamodb opens it by its (prefixed) name with the AWS clients."""

from __future__ import annotations

from runtime.aws import AwsClients
from runtime.settings import Settings
from runtime.storage import open_table


def opened(settings: Settings) -> tuple:
    aws = AwsClients(settings)
    return open_table(
        settings,
        aws,
        settings.contacts_table,
        sqlite=lambda path: ("sqlite", path),
        dynamodb=lambda clients, name: ("dynamodb", name, clients is aws),
    )


def test_the_embedded_default_opens_the_tables_file(tmp_path):
    settings = Settings(data_dir=tmp_path, table_prefix="dev-")
    assert opened(settings) == ("sqlite", tmp_path / "dev-ContactsTable.sqlite3")


def test_dynamodb_opens_the_table_by_its_name_with_the_aws_clients(tmp_path):
    settings = Settings(store="dynamodb", data_dir=tmp_path, table_prefix="dev-")
    assert opened(settings) == ("dynamodb", "dev-ContactsTable", True)
