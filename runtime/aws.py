"""AWS clients for the asyncio services (aiobotocore: no blocking call in the event loop), one session per
process, endpoints from settings so the same code talks to AWS, to the embedded AWS (moto) or to the sandbox."""

from __future__ import annotations

import contextlib

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from runtime.settings import Settings


class AwsClients:
    def __init__(self, settings: Settings):
        self._settings = settings
        self._session = get_session()
        self._stack = contextlib.AsyncExitStack()
        self._clients: dict[tuple[str, str, int, float], object] = {}

    def endpoint_for(self, service: str) -> str | None:
        specific = {"dynamodb": self._settings.dynamodb_endpoint_url}.get(service, "")
        return specific or self._settings.aws_endpoint_url or None

    async def client(
        self,
        service: str,
        endpoint_url: str | None = None,
        max_pool: int = 50,
        max_attempts: int = 4,
        read_timeout: float = 30,
    ):
        """A long-lived client (its connection pool is reused); closed with the process. Callers that retry
        on their own terms (a provider send must never be repeated by the SDK) pass max_attempts=1."""
        endpoint = endpoint_url or self.endpoint_for(service)
        key = (service, endpoint or "", max_attempts, read_timeout)
        if key not in self._clients:
            config = AioConfig(
                max_pool_connections=max_pool,
                # total_max_attempts counts the first call (botocore's `max_attempts` counts retries only:
                # max_attempts=1 made two calls, so a provider send was not made once).
                retries={"mode": "standard", "total_max_attempts": max_attempts},
                connect_timeout=5,
                read_timeout=read_timeout,
                # S3 pre-signed URLs sign Content-Type and Content-Length only with SigV4 (upload limits hold).
                signature_version="s3v4" if service == "s3" else None,
            )
            self._clients[key] = await self._stack.enter_async_context(
                self._session.create_client(
                    service, region_name=self._settings.region, endpoint_url=endpoint, config=config
                )
            )
        return self._clients[key]

    async def close(self) -> None:
        await self._stack.aclose()
        self._clients.clear()
