"""The embedded AWS: moto's server, as `python -m moto.server` runs it, with one difference: DynamoDB requests are
taken one at a time. moto's server answers each request on a thread of its own, and its DynamoDB is not safe for
that: TransactWriteItems deep-copies every table it touches (to roll back) while other threads write to them, and
fails with "dictionary changed size during iteration" (a 500 the SDK retries, then gives up on) once a few
hundred transactions run at once, as a stream's acceptance makes them. Real DynamoDB has no such fault, so the
embedded one must not invent it. Only DynamoDB is serialised: SQS long polls and S3 transfers keep their threads.

With requests one at a time, a transaction can also roll back what it touched rather than copy whole tables
before it starts (moto's way: a copy of WhatsAppOutboundTable per accepted message made a stream's acceptance
quadratic in the table's size); see ItemRollback. And a Query on a table's key reads its one partition: moto
lists and sorts every item of the table for each Query, which makes a Query on a table of a million-recipient job
cost a tenth of a second (see PartitionQuery). And an SQS receive checks a message's retention without working out
every attribute of its queue (three counts of the whole queue for each message received; see retention_check).

    python -m localrun.embedded_aws -H 127.0.0.1 -p <port>"""

from __future__ import annotations

import argparse
import copy
import inspect
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.core.utils import unix_time
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.sqs.models import SQSBackend
from werkzeug.serving import run_simple

DYNAMODB_TARGET = "DynamoDB_"  # the X-Amz-Target prefix of every DynamoDB operation (DynamoDB_20120810.PutItem)


class OneDynamoDBRequestAtATime:
    """WSGI middleware: a DynamoDB request waits for the one before it to be answered in full."""

    def __init__(self, app: Callable[..., Iterable[bytes]]):
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith(DYNAMODB_TARGET):
            return self._app(environ, start_response)
        with self._lock:
            return list(self._app(environ, start_response))  # the body too: moto builds it lazily


class _TablesKept:
    """moto's models module's `copy`, except that a whole table is not copied (ItemRollback keeps what changes)."""

    @staticmethod
    def deepcopy(x: Any, memo: dict | None = None) -> Any:
        return x if isinstance(x, Table) else copy.deepcopy(x, memo)


class ItemRollback:
    """TransactWriteItems that keeps, before it writes, a copy of each item it names (or that there was none),
    and puts those back if the transaction is cancelled: what moto's whole-table copy gives, at the cost of the
    items written. Safe because DynamoDB requests are taken one at a time (nothing else writes meanwhile)."""

    def __init__(self, original: Callable[..., None]):
        self._original = original

    def __call__(self, backend: Any, transact_items: list[dict[str, Any]]) -> None:
        kept = [k for entry in transact_items[:100] if (k := self._keep(backend, entry)) is not None]
        try:
            self._original(backend, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(kept):
                _put_back(table, hash_key, range_key, item)
            raise

    @staticmethod
    def _keep(backend: Any, entry: dict[str, Any]) -> tuple | None:
        op = next(iter(entry.values()), None)
        table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
        attrs = (op.get("Item") or op.get("Key") or {}) if table is not None else {}
        if table is None or table.hash_key_attr not in attrs:
            return None  # moto's own validation answers it
        hash_key = DynamoType(attrs[table.hash_key_attr])
        range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr in attrs else None
        if table.range_key_attr and range_key is None:
            return None
        return table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))


def _put_back(table: Table, hash_key: DynamoType, range_key: DynamoType | None, item: Any) -> None:
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
    elif item is None:
        table.items.get(hash_key, {}).pop(range_key, None)
    else:
        table.items[hash_key][range_key] = item


def roll_back_items() -> None:
    """Installs ItemRollback in moto's DynamoDB (this process's)."""
    dynamodb_models.copy = _TablesKept  # type: ignore[attr-defined]
    rollback = ItemRollback(dynamodb_models.DynamoDBBackend.transact_write_items)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        rollback(self, transact_items)

    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


class PartitionQuery:
    """Table.query that gives moto's base-table path only the queried partition's items. moto finds a Query's
    items by listing every item of the table, sorted, and keeping those whose hash key matches; the same items,
    in the same order, come from the partition alone (moto sorts them by range key after). Index queries are left
    as they are (an index's hash key is not the table's)."""

    _partition = threading.local()

    @classmethod
    def install(cls) -> None:
        original_query, original_all = Table.query, Table.all_items

        def all_items(self: Table) -> list:
            key = getattr(cls._partition, "key", None)
            if key is None:
                return original_all(self)
            found = self.items.get(key)
            if found is None:
                return []
            return list(found.values()) if self.range_key_attr else [found]

        signature = inspect.signature(original_query)

        def query(self: Table, *args: Any, **kwargs: Any) -> Any:
            named = signature.bind(self, *args, **kwargs).arguments  # moto passes index_name by position
            cls._partition.key = None if named.get("index_name") else named["hash_key"]
            try:
                return original_query(self, *args, **kwargs)
            finally:
                cls._partition.key = None

        Table.all_items = all_items  # type: ignore[method-assign]
        Table.query = query  # type: ignore[method-assign]


def retention_check() -> None:
    """moto's SQS asks, for each message a ReceiveMessage returns, whether its retention period ran out, by
    computing every attribute of the queue (ApproximateNumberOfMessages and two more: a pass over the whole queue
    each). With a million-recipient job's 2,000 chunk messages in bulk-queue that held the interpreter for a
    tenth of a second a receive, and DynamoDB's requests waited. Same answer, from the one attribute it needs."""

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > unix_time()

    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period


def _exit_now(*_: Any) -> None:
    """SIGTERM: everything it holds is in memory and goes with it, so it exits at once. A clean interpreter exit
    joins the request threads still waiting their DynamoDB turn and frees every object: holding a million-recipient
    job's 1.6 GB, longer than a stack waits for it (then SIGKILLed, the stop reported as unclean)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_now)
    roll_back_items()
    PartitionQuery.install()
    retention_check()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        OneDynamoDBRequestAtATime(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
