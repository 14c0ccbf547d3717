"""runtime.storage: the one place a process's storage engine is chosen, for every service. The embedded default
opens a table as its file under the data dir; WECARE_STORE=dynamodb opens it by its (prefixed) name with the AWS
clients; the services' wiring goes through it (no service asks the setting itself)."""

from __future__ import annotations

import re
from pathlib import Path

from runtime.aws import AwsClients
from runtime.settings import Settings
from runtime.storage import open_table

ROOT = Path(__file__).resolve().parents[2]


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


def test_no_service_chooses_its_engine_itself():
    asking = [
        str(p.relative_to(ROOT))
        for folder in ("services", "runtime")
        for p in (ROOT / folder).rglob("*.py")
        if re.search(r"\.store\s*==\s*[\"'](dynamodb|sqlite)", p.read_text(encoding="utf-8")) and p.name != "storage.py"
    ]
    assert asking == []
