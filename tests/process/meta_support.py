"""What the process tests of Meta's rules (issue 15) share: a template created through the HTTP API and approved by
the sandbox, a campaign to an inline list, the job's steps as WatchJob streams them through the gateway (Server-Sent
Events), its report, and the sandbox log's calls for it (the independent reading)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Any

import requests

from localrun.handle import Stack
from localrun.sandbox import log as sandbox_log
from tests.support.polling import until


def wall(timestamp: str) -> float:
    """A JSON Timestamp (RFC 3339) as seconds since the epoch."""
    return dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


class Api:
    def __init__(self, stack: Stack):
        self.base = f"http://{stack.addresses['gateway']}/v1"
        self.sandbox = f"http://{stack.addresses['sandbox']}"
        self.admin = {"Authorization": f"Bearer {stack.token('admin')}"}
        self.operator = {"Authorization": f"Bearer {stack.token('operator')}"}
        self.viewer_token = stack.token("viewer")

    def get(self, path: str, **params) -> dict[str, Any]:
        reply = requests.get(f"{self.base}/{path}", params=params, headers=self.operator, timeout=10)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def post(self, path: str, body: dict, admin: bool = False, **params) -> dict[str, Any]:
        headers = self.admin if admin else self.operator
        reply = requests.post(f"{self.base}/{path}", json=body, params=params, headers=headers, timeout=60)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def approved_template(self, name: str, category: str) -> dict[str, Any]:
        """Created through POST /v1/templates (an admin), approved by the sandbox's review a moment later."""
        created = self.post(
            "templates",
            {
                "templateName": name,
                "language": "en_US",
                "category": category,
                "body": {"text": "Hi {{1}}, the spring collection is in.", "examples": ["Asha"]},
                "footerText": "WECARE",
            },
            admin=True,
        )
        assert created["templateStatus"] == "PENDING", created
        return until(
            f"{name} approved by the sandbox",
            lambda: (t := self.get(f"templates/{name}.en_US"))["templateStatus"] == "APPROVED" and t,
            within=30,
        )

    def sandbox_post(self, path: str, body: dict) -> dict[str, Any]:
        reply = requests.post(f"{self.sandbox}{path}", json=body, timeout=10)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def report(self, job: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The finished job's report by recipient (read through its pre-signed URL)."""
        doc = requests.get(job["reportUri"], timeout=30).json()
        return {r["recipient"]: r for r in doc["recipients"]}


def campaign(template: str, category: str, numbers: list[str]) -> dict[str, Any]:
    return {
        "displayName": f"Campaign {template}",
        "channel": "CHANNEL_WHATSAPP",
        "category": category,
        "content": {
            "template": {
                "templateName": template,
                "language": "en_US",
                "bodyParameters": [{"text": "{{display_name}}"}],
            }
        },
        "inlineAudience": {"recipients": [{"address": n, "displayName": f"Guest {i}"} for i, n in enumerate(numbers)]},
    }


class Watch:
    """WatchJob through the gateway (GET /v1/bulkJobs/{id}:watch, Server-Sent Events) on a thread: each step with
    the wall time it arrived; the stream ends when the job is finished."""

    def __init__(self, api: Api, name: str):
        self.steps: list[tuple[float, dict[str, Any]]] = []
        self._reply = requests.get(
            f"{api.base}/{name}:watch", params={"access_token": api.viewer_token}, stream=True, timeout=(10, 300)
        )
        assert self._reply.status_code == 200, self._reply.text
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._reply.iter_lines(decode_unicode=True):
            if line and line.startswith("data:"):
                self.steps.append((time.time(), json.loads(line[5:])))

    def states(self) -> list[str]:
        """The states in the order they were streamed, repeats folded."""
        out: list[str] = []
        for _, step in self.steps:
            if not out or out[-1] != step["state"]:
                out.append(step["state"])
        return out

    def join(self, within: float) -> None:
        self._thread.join(within)
        assert not self._thread.is_alive(), f"WatchJob did not end within {within}s: {self.states()}"


def job_calls(stack: Stack, job_name: str) -> list[sandbox_log.Call]:
    """The sandbox log's WhatsApp calls for the job: their ref is `<message id>|bulkJobs/<id>/<recipient>`."""
    marker = f"|{job_name}/"
    calls = sandbox_log.read(stack.run.root / "sandbox-sent.jsonl")
    return [c for c in calls if c.channel == "WHATSAPP" and marker in c.ref]
