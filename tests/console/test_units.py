"""The console's own unit tests (node's test runner, console/test/*.test.mjs): the parts with rules of their own that
need no browser, such as reading a CSV import."""

from __future__ import annotations

import subprocess

from localrun.procs import ROOT


def test_node_unit_tests_pass():
    done = subprocess.run(
        ["node", "--test", "console/test/"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout and "# pass 0" not in done.stdout
