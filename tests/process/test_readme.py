"""The README's examples work as written: each shell block of "Try it" runs against a stack started as `make run`
starts it (only the ports differ: the test stack runs on free ones), and says what the README says it says."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from localrun.procs import ROOT

pytestmark = pytest.mark.process


def _blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Try it", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def _run(block: str, stack) -> str:
    script = block.replace("127.0.0.1:8080", stack.addresses["gateway"]).replace(
        "127.0.0.1:50051", stack.addresses["contacts"]
    )
    env = {**os.environ, "WECARE_RUN_DIR": str(stack.run.root)}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"README block failed ({done.returncode}):\n{script}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_readme_has_the_two_commands_first_and_its_examples():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```sh\n(.*?)```", text, flags=re.S).group(1)
    assert first_block.splitlines()[0].startswith("make run") and first_block.splitlines()[1].startswith("make test")
    assert len(_blocks()) == 2


def test_curl_examples(stack):
    out = _run(_blocks()[0], stack)
    assert '"phoneNumber":"+919812345678"' in out  # created, normalised to E.164
    assert '"displayName":"Asha V."' in out  # patched
    assert '"code":3' in out and "contact.phone_number" in out  # the bad number, named
    assert re.search(r"}401\n", out)  # -w prints the status right after the previous JSON
    assert '"method":"/wecare.contacts.v1.ContactsService/UpdateContact"' in out  # the audit log
    assert '"ready": true' in out or '"ready":true' in out


def test_grpcurl_examples(stack):
    out = _run(_blocks()[1], stack)
    for service in (
        "wecare.contacts.v1.ContactsService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    ):
        assert service in out
    assert '"status": "SERVING"' in out
    assert '"phone_number": "+919903300044"' in out
    assert out.count('"display_name": "Ravi Kumar"') == 2  # created, then found
