"""The bulk service in this event loop, with its doubles and the embedded AWS (tests/bulk/support.bulk_env)."""

from __future__ import annotations

import pytest

from tests.bulk.support import bulk_env


@pytest.fixture
async def env(tmp_path, moto_endpoint):
    async with bulk_env(tmp_path, moto_endpoint) as env:
        await env.start_bulk()
        yield env
