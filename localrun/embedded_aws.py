"""The embedded AWS: moto's server, as `python -m moto.server` runs it, with one difference: DynamoDB requests are
taken one at a time. moto's server answers each request on a thread of its own, and its DynamoDB is not safe for
that: TransactWriteItems deep-copies every table it touches (to roll back) while other threads write to them, and
fails with "dictionary changed size during iteration" (a 500 the SDK retries, then gives up on) once a few
hundred transactions run at once, as a stream's acceptance makes them. Real DynamoDB has no such fault, so the
embedded one must not invent it. Only DynamoDB is serialised: SQS long polls and S3 transfers keep their threads.

    python -m localrun.embedded_aws -H 127.0.0.1 -p <port>"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
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
