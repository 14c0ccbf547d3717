"""Browser tests of the operator console: Playwright for Python drives Debian's headless chromium against one
local stack started as `make run` starts it (the same `python -m localrun.stack`, the console bundle built by
`make console`), signing in through the page as each local user does.

Every page a test opens is watched: a Content-Security-Policy violation, an uncaught error or a console error
fails the test. Screenshots go to `.run/console-screenshots/`; `axe()` runs axe-core (from the console's own
pinned npm packages) in the page and returns its serious and critical violations."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from localrun.handle import Stack, running_stack
from localrun.procs import ROOT

CHROMIUM = os.environ.get("WECARE_CHROMIUM", "/usr/bin/chromium")
# As the machine's notes say: the sandbox needs a user namespace root does not get; no network but loopback.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / ".run" / "console-screenshots"
AXE = ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"
# The stack's WhatsApp phones send at 20 a second each (the local default is 80): a 500-recipient campaign
# then runs long enough to be paused midway, and the test still takes seconds.
STACK_ENV = {"WECARE_WHATSAPP_PHONE_RATE": "20"}


@pytest.fixture(scope="session")
def console_built() -> None:
    """The bundle as `make console` builds it (a no-op when it is current)."""
    done = subprocess.run(["make", "-s", "console"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"make console failed:\n{done.stdout}\n{done.stderr}"
    assert (ROOT / "console" / "dist" / "index.html").exists()


@pytest.fixture(scope="session")
def stack(tmp_path_factory, console_built) -> AsyncIterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("console-stack"), extra_env=STACK_ENV) as running:
        yield running


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no chromium at {CHROMIUM}: `make test` installs Debian's package (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Console:
    """The stack's console address, its local users, and pages opened by the tests."""

    stack: Stack
    browser: Browser
    contexts: list[BrowserContext] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://{self.stack.addresses['gateway']}"

    @property
    def sandbox(self) -> str:
        return f"http://{self.stack.addresses['sandbox']}"

    def password(self, user: str) -> str:
        return self.stack.facts[f"WECARE_LOCAL_{user.upper()}_PASSWORD"]

    async def page(self, width: int = 1280, height: int = 900, **options) -> Page:
        context = await self.browser.new_context(viewport={"width": width, "height": height}, **options)
        self.contexts.append(context)
        page = await context.new_page()
        page.on("console", lambda m: self._console_message(m))
        page.on("pageerror", lambda error: self.problems.append(f"uncaught error in the page: {error}"))
        return page

    def _console_message(self, message) -> None:
        text = message.text
        if "Content Security Policy" in text or "Trusted Type" in text:
            self.problems.append(f"CSP: {text}")
        elif message.type == "error" and "Failed to load resource" not in text:
            # Refused calls show as failed resources by design (a 403 the test forces, a 500 it injects)
            self.problems.append(f"console error: {text}")

    async def signed_in(self, user: str, path: str = "/inbox", **options) -> Page:
        """A new browser context signed in as `user` through the sign-in form, at `path`."""
        page = await self.page(**options)
        await page.goto(self.base + path)
        await page.get_by_label("User name").fill(user)
        await page.get_by_label("Password").fill(self.password(user))
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("button", name="Sign out").wait_for()
        return page

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()
        self.contexts.clear()

    # Calls a script or the customer would make, beside the browser.

    def api(self, method: str, path: str, body: dict | None = None, user: str = "admin") -> dict:
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.stack.token(user)}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(reply.read() or b"{}")

    def customer_writes(self, phone: str, text: str = "", name: str = "", image: dict | None = None) -> None:
        """The customer's phone sends a WhatsApp message (or a picture, `image={"caption": ...}`) to our first
        number; the sandbox plays the phone."""
        body = {"phone": "phone-number-id-00000000000000000000919330994400", "from": phone, "name": name, "text": text}
        if image is not None:
            body["image"] = {"mime_type": "image/png", **image}
        request = urllib.request.Request(
            self.sandbox + "/sandbox/inbound",
            method="POST",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.status == 200


@pytest.fixture(scope="module")
async def console(stack, browser) -> AsyncIterator[Console]:
    opened = Console(stack, browser)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture(autouse=True)
def no_page_problems(request):
    """Fails a test whose pages broke the CSP, threw, or logged an error."""
    yield
    if "console" not in request.fixturenames:
        return
    console: Console = request.getfixturevalue("console")
    problems, console.problems[:] = list(console.problems), []
    assert not problems, "\n".join(problems)


async def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def axe(page: Page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2.x A and AA rules)."""
    with contextlib.suppress(Exception):
        if await page.evaluate("typeof window.axe === 'object'"):
            return await _run_axe(page)
    # Evaluated through the DevTools protocol, not as a <script>: the page's CSP allows no inline script.
    await page.evaluate(AXE.read_text(encoding="utf-8"))
    return await _run_axe(page)


async def _run_axe(page: Page) -> list[dict]:
    result = await page.evaluate(
        """async () => {
          const r = await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
            resultTypes: ['violations'],
          });
          return r.violations.filter((v) => ['serious', 'critical'].includes(v.impact)).map((v) => ({
            id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
          }));
        }"""
    )
    return result
