"""Generated requests against the running stack: schemathesis reads the gateway's /openapi.json and sends
requests made from it (valid, boundary and malformed; single calls and stateful sequences) with an admin token.
None may get a 5xx, and the stack must still be ready afterwards and stop cleanly (running_stack raises if any
process exits non-zero on SIGTERM). A smaller pass than docs/DEPLOY.md's (which sends thousands)."""

from __future__ import annotations

import collections
import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from localrun.handle import running_stack

pytestmark = pytest.mark.process

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))


def test_generated_requests_get_no_server_error(tmp_path):
    (tmp_path / "stack").mkdir()
    events = tmp_path / "events.ndjson"
    with running_stack(tmp_path / "stack") as stack:
        gateway = f"http://{stack.addresses['gateway']}"
        operations = sum(
            len(methods) for methods in requests.get(f"{gateway}/openapi.json", timeout=10).json()["paths"].values()
        )
        run = subprocess.run(
            [
                SCHEMATHESIS,
                "run",
                f"{gateway}/openapi.json",
                "-H",
                f"Authorization: Bearer {stack.token('admin')}",
                "-c",
                "not_a_server_error",
                "-n",
                "6",
                "--seed",
                "7",
                "--request-timeout",
                "10",
                # Watch routes are endless Server-Sent Event streams by design: a generator would wait for their end.
                # They are tested where they are built (tests/gateway/test_sse.py and the services' watch tests).
                "--exclude-path-regex",
                ":watch$",
                "--report",
                "ndjson",
                "--report-ndjson-path",
                str(events),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            cwd=tmp_path,  # its hypothesis database stays out of the work tree
        )
        assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
        ready = requests.get(f"{gateway}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert stack.proc.poll() is None, "the stack went down under the generated requests"

    statuses: collections.Counter = collections.Counter()
    tested = set()
    for line in events.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        for interaction in (finished.get("recorder", {}).get("interactions") or {}).values():
            response = interaction.get("response")
            assert response is not None, f"no response (a crash or a timeout): {interaction.get('request')}"
            statuses[response["status_code"]] += 1
            request = interaction["request"]
            tested.add(request["method"])
    total = sum(statuses.values())
    assert total >= 300, statuses
    assert not [s for s in statuses if s >= 500], statuses
    assert statuses[200] > 20 and statuses[400] > 100, statuses  # real work done, and bad input refused as 400
    assert operations >= 20 and {"GET", "POST", "PATCH", "DELETE"} <= tested
