"""The storage engine a process keeps its tables in, chosen once here for every service (WECARE_STORE): the
embedded SQLite default, one file per table under WECARE_DATA_DIR, or DynamoDB through AwsClients. A service
names its table and how each engine opens it; nothing else in it asks which engine runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from runtime.aws import AwsClients
from runtime.settings import Settings

T = TypeVar("T")

SqliteOpener = Callable[[Path], T]  # the table's file
DynamoOpener = Callable[[AwsClients, str], T]  # the AWS clients and the table's name


def open_table(
    settings: Settings, aws: AwsClients, table: str, *, sqlite: SqliteOpener[T], dynamodb: DynamoOpener[T]
) -> T:
    """What opens `table` (its name before the prefix, e.g. settings.contacts_table) on the configured engine."""
    name = settings.table(table)
    if settings.store == "dynamodb":
        return dynamodb(aws, name)
    return sqlite(settings.data_dir / f"{name}.sqlite3")
