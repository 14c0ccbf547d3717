"""The operator console in a real browser against a whole local stack: sign-in through Cognito (the embedded
user pool), a contact created and edited, a template sent and watched to `read` without a reload, the
customer's answer arriving live, a suggested reply streaming in, a 500-recipient campaign started, paused,
resumed and watched to completion, a viewer's page without send buttons and its forced call refused, a CSV
import listing its bad rows, dead letters, the audit log, failures in words, a lost stream coming back, and
axe-core on every page."""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest
from playwright.async_api import Page, expect

from .conftest import Console, axe, screenshot

pytestmark = [pytest.mark.process, pytest.mark.timeout(600)]

CUSTOMER = "+919812300001"  # Meera, made by the `meera` fixture through the API
NEW_CONTACT = "+919812300002"
NEW_CONTACT_LOCAL = "098123 00002"  # as an operator might type it


@pytest.fixture(scope="module")
def meera(console: Console) -> dict:
    """A customer who is a contact, and a knowledge-base document for the assistant to answer from."""
    console.api(
        "POST",
        "/v1/documents",
        {
            "title": "Delivery",
            "contentType": "CONTENT_TYPE_PLAIN_TEXT",
            "content": "Orders ship within two business days. Delivery inside India takes three to five days.",
        },
    )
    return console.api("POST", "/v1/contacts", {"displayName": "Meera Nair", "phoneNumber": CUSTOMER}, user="operator")


async def go(page: Page, title: str) -> None:
    """Follows a link of the navigation."""
    await page.get_by_role("navigation", name="Pages").get_by_role("link", name=title).click()


async def eventually(read, check, within: float = 20.0, what: str = ""):
    """Polls `await read()` until `check(value)`; the last value otherwise fails the test."""
    deadline = time.monotonic() + within
    while True:
        value = await read()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what or 'condition'} not met within {within:.0f}s; last value {value!r}")
        await asyncio.sleep(0.1)


async def sign_in_fails_then_works(console: Console, page: Page) -> None:
    await page.goto(console.base + "/")
    await page.get_by_label("User name").fill("operator")
    await page.get_by_label("Password").fill("not-the-password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("user name or password is wrong")
    await page.get_by_label("Password").fill(console.password("operator"))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("navigation", name="Pages")).to_be_visible()


async def test_sign_in_keeps_tokens_out_of_urls_and_storage_that_outlives_the_tab(console: Console):
    page = await console.page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    await sign_in_fails_then_works(console, page)
    await expect(page.locator(".who")).to_contain_text("operator")
    nav = page.get_by_role("navigation", name="Pages")
    for title in ("Inbox", "Contacts", "Campaigns", "Templates"):
        await expect(nav.get_by_role("link", name=title)).to_be_visible()
    # Dead letters and the audit log are for admins: an operator's navigation has neither
    await expect(nav.get_by_role("link", name="Dead letters")).to_have_count(0)
    await expect(nav.get_by_role("link", name="Audit log")).to_have_count(0)
    stored = await page.evaluate("() => JSON.parse(sessionStorage.getItem('wecare.session'))")
    assert stored["roles"] == ["operator"] and stored["accessToken"].count(".") == 2
    assert await page.evaluate("() => localStorage.length") == 0 and await page.evaluate("() => document.cookie") == ""
    await page.goto(console.base + "/contacts")  # a reload keeps the session (same tab)
    await expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    assert not any(stored["accessToken"] in url or "access_token" in url for url in requests)
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in to WECARE")).to_be_visible()
    assert await page.evaluate("() => sessionStorage.getItem('wecare.session')") is None
    # Signed out at Cognito too: the refresh token the tab held no longer gives tokens
    idp = console.stack.aws_client("cognito-idp")

    async def refresh_refused() -> bool:
        try:
            idp.initiate_auth(
                AuthFlow="REFRESH_TOKEN_AUTH",
                ClientId=console.stack.facts["WECARE_COGNITO_CLIENT_ID"],
                AuthParameters={"REFRESH_TOKEN": stored["refreshToken"]},
            )
        except idp.exceptions.NotAuthorizedException:
            return True
        return False

    await eventually(refresh_refused, bool, within=10, what="the refresh token revoked")


async def test_the_token_is_refreshed_before_it_expires(console: Console):
    page = await console.page()
    await page.clock.install()
    await sign_in_fails_then_works(console, page)
    before = await page.evaluate("() => JSON.parse(sessionStorage.getItem('wecare.session'))")
    async with page.expect_request(
        lambda r: r.method == "POST" and "REFRESH_TOKEN_AUTH" in (r.post_data or ""), timeout=15_000
    ) as refreshing:
        await page.clock.fast_forward("59:30")  # a minute before the hour the access token lives
    assert json.loads((await refreshing.value).post_data)["AuthParameters"]["REFRESH_TOKEN"] == before["refreshToken"]
    await eventually(
        lambda: page.evaluate("() => JSON.parse(sessionStorage.getItem('wecare.session')).accessToken"),
        lambda token: token != before["accessToken"],
        what="a new access token in the session",
    )
    await go(page, "Contacts")  # and the new token is the one the API gets
    await expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    await expect(page.get_by_role("alert")).to_have_count(0)


async def test_contacts_create_with_field_errors_search_edit_and_consent(console: Console):
    page = await console.signed_in("operator", "/contacts")
    await page.get_by_role("link", name="New contact").click()
    await page.get_by_label("Name", exact=True).fill("Arjun Mehta")
    await page.get_by_label("Phone number").fill("12345")
    await page.get_by_role("button", name="Create contact").click()
    # The API's BadRequest names contact.phone_number: the words sit under that field, which is marked invalid
    phone = page.get_by_label("Phone number")
    await expect(phone).to_have_attribute("aria-invalid", "true")
    error_id = (await phone.get_attribute("aria-describedby")).split()[-1]
    assert (await page.locator(f"#{error_id}").inner_text()).strip()
    await screenshot(page, "contact-field-error")
    await phone.fill(NEW_CONTACT_LOCAL)
    await page.get_by_label("Email").fill("arjun@example.com")
    await page.get_by_label("Tags").fill("vip, mumbai")
    await page.get_by_role("button", name="Create contact").click()
    await expect(page.get_by_role("heading", name="Arjun Mehta")).to_be_visible()
    await expect(page.get_by_label("Phone number")).to_have_value(NEW_CONTACT)  # stored as E.164

    await page.get_by_label("Change WhatsApp consent").select_option("CONSENT_STATE_OPTED_IN")
    consent = page.locator(".consent-channel").first
    await expect(consent).to_contain_text("opted in")
    await expect(consent).to_contain_text("operator:")
    await consent.get_by_text("History (1)").click()
    await expect(consent.locator(".history li")).to_have_count(1)
    await page.get_by_label("Change WhatsApp consent").select_option("CONSENT_STATE_OPTED_OUT")
    await expect(consent.get_by_text("History (2)")).to_be_visible()
    await expect(consent.locator(".history li").first).to_contain_text("opted out")  # newest first
    await page.get_by_label("Name", exact=True).fill("Arjun M.")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    await expect(page.get_by_role("heading", name="Arjun M.")).to_be_visible()

    # Search as you type: no button, the table follows the box
    await page.get_by_role("link", name="← Contacts").click()
    await page.get_by_label("Search contacts").press_sequentially("arju", delay=40)
    await expect(page.locator("table.contacts tbody tr")).to_have_count(1)
    await expect(page.locator("table.contacts")).to_contain_text("Arjun M.")
    await page.get_by_label("Search contacts").fill("nobody-by-that-name")
    await expect(page.get_by_text("No contact matches")).to_be_visible()
    await page.get_by_label("Search contacts").fill("")
    await screenshot(page, "contacts")
    assert await axe(page) == []


async def test_template_to_read_the_customer_answers_live_and_a_suggestion_streams(console: Console, meera):
    page = await console.signed_in("operator", "/contacts")
    await page.get_by_label("Search contacts").fill(CUSTOMER)
    await expect(page.locator("table.contacts tbody tr")).to_have_count(1)
    await page.get_by_role("link", name="Meera Nair").click()
    await page.get_by_role("link", name="Open WhatsApp conversation").click()
    await expect(page.get_by_text("24-hour window closed")).to_be_visible()
    await page.evaluate("() => { window.__stayed = true; }")  # gone if anything reloads the page

    # The window is closed: the reply box is a template picker with the template's variables
    await expect(page.get_by_role("textbox", name="Reply")).to_have_count(0)
    await page.get_by_label("Approved template").select_option(label="order_update (en_US, utility)")
    await page.get_by_label("Body {{1}}").fill("Meera")
    await page.get_by_label("Body {{2}}").fill("A-1042")
    await expect(page.locator(".preview")).to_contain_text("Hi Meera, your order A-1042 has shipped.")
    await page.get_by_role("button", name="Send template").click()
    sent = page.locator(".message.outbound").last
    await expect(sent).to_contain_text("order_update")
    # accepted -> sent -> delivered -> read, as the sandbox's status events arrive through WatchConversations
    await expect(sent.locator(".status")).to_have_text("read", timeout=20_000)
    await expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
    assert await page.evaluate("() => window.__stayed") is True

    console.customer_writes(CUSTOMER, "How long does delivery take?", name="Meera")
    received = page.locator(".message.inbound").last
    await expect(received).to_contain_text("How long does delivery take?", timeout=20_000)
    await expect(page.get_by_text("24-hour window open")).to_contain_text(re.compile(r"23 h 5\d min left"))
    conversation = page.locator(".conversations li", has_text="Meera")
    await expect(conversation).to_contain_text("How long does delivery take?")
    assert await page.evaluate("() => window.__stayed") is True

    # The window is open: free text, and the assistant's suggestion streams into the box, editable
    reply = page.get_by_role("textbox", name="Reply")
    async with page.expect_response(lambda r: "/v1/ai:generateResponse" in r.url) as streamed:
        await page.get_by_role("button", name="Suggest a reply").click()
    await expect(page.get_by_text("Suggested reply ready")).to_be_visible(timeout=30_000)
    response = await streamed.value
    assert response.headers["content-type"].startswith("text/event-stream")
    assert (await response.text()).count("data: ") > 2, "the reply came in one piece, not streamed"
    suggestion = await reply.input_value()
    assert re.search(r"three to five days|two business days", suggestion, re.I), suggestion
    await reply.fill(suggestion + " Thank you!")
    await page.get_by_role("button", name="Send", exact=True).click()
    mine = page.locator(".message.outbound").last
    await expect(mine).to_contain_text("Thank you!")
    await expect(mine.locator(".status")).to_have_text(re.compile("sent|delivered|read"), timeout=20_000)

    # A picture from the customer: copied into the media bucket, shown through GetMessage's pre-signed link
    console.customer_writes(CUSTOMER, name="Meera", image={"caption": "The parcel label"})
    picture = page.get_by_role("img", name="The parcel label")
    await expect(picture).to_be_visible(timeout=20_000)
    source = await picture.get_attribute("src")
    assert source.startswith(console.stack.facts["WECARE_AWS_ENDPOINT_URL"]) and "Signature" in source, source
    loaded = "(img) => img.complete && img.naturalWidth"
    await eventually(lambda: picture.evaluate(loaded), lambda width: width == 96, what="the picture's pixels")
    await screenshot(page, "inbox")
    assert await axe(page) == []

    # At phone width the open conversation fills the screen and the list is one tap away
    phone = await console.signed_in("operator", page.url.removeprefix(console.base), width=390, height=844)
    await expect(phone.locator(".conversation-list")).to_be_hidden()
    await expect(phone.get_by_role("link", name="← All conversations")).to_be_visible()
    shown = phone.get_by_role("img", name="The parcel label")
    await eventually(lambda: shown.evaluate(loaded), lambda width: width == 96, what="the picture at phone width")
    await screenshot(phone, "inbox-phone")
    assert await axe(phone) == []


async def test_a_500_recipient_campaign_paused_resumed_and_watched_to_completion(console: Console):
    page = await console.signed_in("operator", "/campaigns/new")
    await page.get_by_label("Campaign name").fill("Shipping notice")
    await page.get_by_label("Approved template").select_option(label="hello_world (en_US, utility)")
    await page.get_by_label("A list of numbers").check()
    recipients = "\n".join(f"+9198200{n:05d}, Customer {n}" for n in range(500))
    await page.get_by_label("Recipients").fill(recipients)
    await page.get_by_role("button", name="Dry run").click()
    dry = page.locator(".dry-run")
    await expect(dry.locator("div", has_text="Will be sent")).to_contain_text("500")
    await expect(dry.locator("div", has_text="Expected finish")).to_contain_text(re.compile(r"\d"))
    await expect(dry.locator("div", has_text="Send rate")).to_contain_text("/s")
    await screenshot(page, "campaign-dry-run")
    assert await axe(page) == []

    await page.get_by_role("button", name="Create campaign").click()
    await expect(page.get_by_role("heading", name="Shipping notice")).to_be_visible()
    progress = page.get_by_role("progressbar", name="Recipients with an outcome")
    await page.get_by_role("button", name="Start").click()
    await expect(page.locator(".pill").first).to_have_text("running")
    await eventually(lambda: progress_value(progress), lambda done: done > 0, what="progress")
    await page.get_by_role("button", name="Pause").click()
    await expect(page.locator(".pill").first).to_have_text("paused", timeout=10_000)
    await asyncio.sleep(1.5)  # sends in flight settle
    held = await progress_value(progress)
    await asyncio.sleep(2)
    assert await progress_value(progress) == held, "the bar moved while the job was paused"
    assert held < 500
    await screenshot(page, "campaign-paused")

    await page.get_by_role("button", name="Resume").click()
    await expect(page.locator(".pill").first).to_have_text("completed", timeout=90_000)
    assert await progress.get_attribute("value") == "500" and await progress.get_attribute("max") == "500"
    await expect(page.locator(".progress-words")).to_contain_text("500 of 500 (100%)")
    await expect(page.locator(".chart polyline.series-sent")).to_have_count(1)
    report = page.get_by_role("link", name="Download the report (JSON)")
    await expect(report).to_be_visible(timeout=30_000)
    with urllib_get(await report.get_attribute("href")) as body:
        data = json.loads(body)
    assert data["totalRecipients"] == 500 and data["status"] == "completed"
    assert len({r["recipient"] for r in data["recipients"]}) == 500
    await screenshot(page, "campaign")
    assert await axe(page) == []
    await page.get_by_role("link", name="← Campaigns").click()
    await expect(page.get_by_role("row", name=re.compile("Shipping notice"))).to_contain_text("500 of 500")


async def progress_value(progress) -> int:
    return int(float(await progress.get_attribute("value") or 0))


class urllib_get:
    def __init__(self, url: str):
        import urllib.request

        self.reply = urllib.request.urlopen(url, timeout=10)

    def __enter__(self) -> bytes:
        return self.reply.read()

    def __exit__(self, *exc) -> None:
        self.reply.close()


async def test_a_viewer_sees_no_send_or_delete_and_a_forced_call_is_refused(console: Console, meera):
    console.customer_writes(CUSTOMER, "Is my order on its way?", name="Meera")
    page = await console.signed_in("viewer", "/inbox/whatsapp-" + CUSTOMER.removeprefix("+"))
    await expect(page.locator(".message.inbound").last).to_contain_text("Is my order on its way?", timeout=20_000)
    await expect(page.get_by_role("button", name=re.compile("^Send"))).to_have_count(0)
    await expect(page.get_by_role("button", name="Suggest a reply")).to_have_count(0)
    await expect(page.get_by_text("replying needs the operator role")).to_be_visible()
    await page.goto(console.base + "/contacts")
    await expect(page.get_by_role("link", name="New contact")).to_have_count(0)
    await page.locator("table.contacts tbody tr").first.get_by_role("link").click()
    await expect(page.get_by_role("button", name="Delete contact")).to_have_count(0)
    await expect(page.get_by_role("button", name="Save changes")).to_have_count(0)
    # The page hides the button; the server decides: the viewer's own token, a send forced through the API
    forced = await page.evaluate(
        """async (to) => {
          const token = JSON.parse(sessionStorage.getItem('wecare.session')).accessToken;
          const r = await fetch('/v1/messages:send', {method: 'POST',
            headers: {'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'},
            body: JSON.stringify({message: {channel: 'CHANNEL_WHATSAPP', category: 'CATEGORY_SERVICE',
              recipient: to, content: {text: {body: 'forced'}}}})});
          return {status: r.status, body: await r.json()};
        }""",
        CUSTOMER,
    )
    assert forced["status"] == 403 and forced["body"]["code"] == 7
    await page.goto(console.base + "/campaigns/new")
    await expect(page.get_by_text("This page is for the operator role and above")).to_be_visible()
    await screenshot(page, "viewer")


async def test_a_csv_import_shows_progress_and_lists_the_rows_it_refused(console: Console):
    page = await console.signed_in("operator", "/contacts/import")
    csv = "\n".join(
        [
            "name,phone,email,tags,city",
            "Asha Verma,+91 98123 40001,asha@example.com,vip;delhi,Delhi",
            "Ravi Kumar,12345,,,Pune",  # row 3: not a phone number
            '"Das, Priya",098123 40003,,,Kolkata',  # a quoted comma
            "Nobody,,,,",  # row 5: neither phone nor email
            "Asha Again,+91 98123 40001,,,",  # row 6: the phone belongs to Asha
            "Kiran Rao,+91 98123 40006,kiran@example.com,,Chennai",
        ]
    )
    await page.get_by_label("CSV file").set_input_files(
        files=[{"name": "contacts.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    await expect(page.get_by_text("6 rows in contacts.csv")).to_be_visible()
    await page.get_by_role("button", name="Import").click()
    await expect(page.get_by_role("heading", name="Import finished")).to_be_visible(timeout=20_000)
    progress = page.get_by_role("progressbar", name="Rows processed")
    assert await progress.get_attribute("value") == "6" and await progress.get_attribute("max") == "6"
    await expect(page.get_by_text("3 created, 3 refused")).to_be_visible()
    rows = page.locator("table.import-errors tbody tr")
    await expect(rows).to_have_count(3)
    assert [await r.locator("th").inner_text() for r in await rows.all()] == ["3", "5", "6"]
    await expect(rows.nth(0)).to_contain_text("phone_number")
    await screenshot(page, "contacts-import")
    assert await axe(page) == []
    found = console.api("GET", "/v1/contacts:search?query=Priya")
    assert [c["displayName"] for c in found["contacts"]] == ["Das, Priya"]


async def test_an_admin_creates_a_template_meta_reviews_it_and_a_gap_is_refused_naming_the_field(console: Console):
    page = await console.signed_in("admin", "/templates")
    await page.get_by_role("button", name="Create template").click()
    form = page.get_by_role("form", name="Create template")
    await form.get_by_label("Name").fill("console_spring")
    await form.get_by_label("Category").select_option("MARKETING")
    await form.get_by_label("Body").fill("Hi {{1}}, {{3}} is on us this week.")
    await form.get_by_label("Examples, one per variable in order").fill("Asha\nShipping")
    await form.get_by_role("button", name="Submit for review").click()
    await expect(form.locator(".field.has-error")).to_contain_text("{{2}} is missing")  # refused before submission
    await form.get_by_label("Body").fill("Hi {{1}}, {{2}} is on us this week.")
    await form.get_by_role("button", name="Add a button").click()
    await form.get_by_label("Button 1 text").fill("Stop promotions")
    await form.get_by_role("button", name="Submit for review").click()
    await expect(page.get_by_role("status").filter(has_text="Created console_spring")).to_be_visible()
    table = page.get_by_role("table", name="WhatsApp templates and their status")
    row = table.get_by_role("row", name=re.compile("console_spring"))
    await expect(row).to_contain_text(re.compile("pending|approved"))
    assert await axe(page) == []
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await row.get_by_role("button", name="Delete").click()
    await expect(page.get_by_role("status").filter(has_text="Deleted console_spring")).to_be_visible()
    await expect(table.get_by_role("row", name=re.compile("console_spring"))).to_have_count(0)


async def test_templates_dead_letters_and_the_audit_log_for_an_admin(console: Console, meera):
    sqs = console.stack.aws_client("sqs")
    queue = sqs.get_queue_url(QueueName="outbound-dlq")["QueueUrl"]
    sqs.send_message(
        QueueUrl=queue,
        MessageBody=json.dumps({"message": "messages/01JNOTAREALMESSAGE00000000", "reason": "RETRIES_EXHAUSTED"}),
    )
    page = await console.signed_in("admin", "/templates")
    table = page.get_by_role("table", name="WhatsApp templates and their status")
    await expect(table.get_by_role("row", name=re.compile("order_update"))).to_contain_text("approved")
    await page.get_by_role("button", name="Sync from WhatsApp").click()
    await expect(page.get_by_role("status").filter(has_text="Synced")).to_be_visible()
    await screenshot(page, "templates")
    assert await axe(page) == []

    await go(page, "Dead letters")
    await expect(page.get_by_role("table")).to_contain_text("RETRIES_EXHAUSTED")
    await page.get_by_role("button", name="Dry run").click()
    await expect(page.locator(".replay-result")).to_contain_text("Dry run finished: 1 would be replayed.")
    await expect(page.get_by_role("table")).to_contain_text("RETRIES_EXHAUSTED")  # a dry run changes nothing
    await screenshot(page, "dead-letters")
    assert await axe(page) == []
    await page.get_by_label("Queue").select_option("bulk")
    await expect(page.get_by_text("The queue is empty.")).to_be_visible()

    await go(page, "Audit log")
    table = page.get_by_role("table", name="Audit records, newest first")
    await expect(table).to_contain_text("SyncTemplates")
    await page.get_by_label("Resource").fill(meera["name"])
    await page.get_by_role("button", name="Filter").click()
    await expect(table.locator("tbody tr").last).to_contain_text("CreateContact")
    await expect(table.get_by_text("SyncTemplates")).to_have_count(0)
    await screenshot(page, "audit")
    assert await axe(page) == []


async def test_failures_are_shown_in_words_and_a_lost_stream_reconnects(console: Console):
    page = await console.signed_in("operator", "/contacts")

    async def fail(route):
        await route.fulfill(
            status=503,
            content_type="application/json",
            body=json.dumps({"code": 14, "message": "the service is unavailable; retry shortly", "details": []}),
        )

    listing = lambda url: "/v1/conversations?" in url  # noqa: E731
    await page.route(listing, fail)
    watches = {"count": 0}

    async def cut(route):
        watches["count"] += 1
        if watches["count"] <= 3:
            # The first connections end at once, as a gateway restart or a dropped network would end them
            await route.fulfill(status=200, content_type="text/event-stream", body=": going away\n\n")
        else:
            await route.continue_()

    await page.route(lambda url: "/v1/conversations:watch" in url, cut)
    await go(page, "Inbox")
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("The platform failed.")
    await expect(alert).to_contain_text("the service is unavailable; retry shortly")
    await expect(page.get_by_role("status").filter(has_text="reconnecting")).to_be_visible()
    await screenshot(page, "inbox-failure")
    await page.unroute(listing)
    await alert.get_by_role("button", name="Try again").click()
    await expect(page.get_by_role("alert")).to_have_count(0)  # the list loaded
    # Three connections cut, each retried after a longer wait (0.5, 1, 2 s at most), the fourth stays
    await eventually(lambda: asyncio.sleep(0, watches["count"]), lambda n: n >= 4, what="the fourth connection")
    await expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible(timeout=20_000)
    started = time.monotonic()
    console.customer_writes("+919812300077", "Are you open today?", name="Kavya")
    await expect(page.locator(".conversations li").first).to_contain_text("Kavya", timeout=20_000)
    assert time.monotonic() - started < 20


async def test_every_page_passes_axe_and_says_not_found_in_words(console: Console):
    page = await console.signed_in("admin", "/inbox")
    for path, heading in [
        ("/inbox", "Inbox"),
        ("/contacts", "Contacts"),
        ("/contacts/new", "New contact"),
        ("/contacts/import", "Import contacts from CSV"),
        ("/campaigns", "Campaigns"),
        ("/campaigns/new", "New campaign"),
        ("/templates", "Templates"),
        ("/dead-letters", "Dead letters"),
        ("/audit", "Audit log"),
        ("/nowhere", "Not found"),
    ]:
        await page.goto(console.base + path)
        await expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        await expect(page.locator(".loading")).to_have_count(0)  # what the page loads is on it
        violations = await axe(page)
        assert violations == [], f"{path}: {violations}"
        await screenshot(page, "page-" + (path.strip("/").replace("/", "-") or "root"))
    signin = await console.page()
    await signin.goto(console.base + "/")
    await expect(signin.get_by_role("heading", name="Sign in to WECARE")).to_be_visible()
    assert await axe(signin) == []
    await screenshot(signin, "sign-in")
