"""The rules of tracked links, no I/O: codes (shape, randomness, range), targets (what is refused, naming the
field; how what is kept is normalised), who opened a link (previews vs clicks by user agent, HEAD, prefetch) and
which person it was."""

from __future__ import annotations

import pytest

from runtime.errors import InvalidArgument
from services.commerce.domain import codes
from services.commerce.domain.links import LinkRequest, new_link
from services.commerce.domain.targets import normalize_target
from services.commerce.domain.visitors import Open, OpenKind, kind_of, person_of

BASE = "https://go.wecare.digital"
ID = "01J0000000000000000000000A"


def test_codes_are_22_base62_characters_of_128_random_bits():
    made = {codes.new_code() for _ in range(2000)}
    assert len(made) == 2000
    assert all(codes.is_code(c) and len(c) == 22 for c in made)
    # Every character position varies: the bits are spread over the whole code, none fixed.
    for position in range(1, 22):
        assert len({c[position] for c in made}) > 40
    for value in (0, 1, 61, 62, 2**64, 2**128 - 1):
        assert codes.decode(codes.encode(value)) == value
    assert codes.encode(2**128 - 1) == codes.MAX_CODE


@pytest.mark.parametrize(
    "text",
    ["", "short", "A" * 21, "A" * 23, "A" * 21 + "-", "A" * 21 + "/", "//evil.com", "%2F%2Fevil.com", "z" * 22],
)
def test_malformed_codes_are_refused(text):
    assert not codes.is_code(text)  # "z" * 22 is over 128 bits
    with pytest.raises(ValueError):
        codes.decode(text)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("", "required"),
        ("javascript:alert(1)", "only http and https"),
        ("data:text/html,hi", "only http and https"),
        ("ftp://example.com/file", "only http and https"),
        ("//example.com/x", "only http and https"),
        ("example.com/x", "only http and https"),
        ("https:///path", "needs a host"),
        ("https://bank.example@evil.example/", "user info"),
        ("https://user:pw@example.com/", "user info"),
        ("https://example.com/a b", "spaces or control"),
        ("https://example.com/a\r\nSet-Cookie: x=1", "spaces or control"),
        ("https://example.com:99999/", "not a URL"),
        ("https://exa_mple.com/", "not a valid domain"),
        ("https://-bad-.com/", "not a valid domain"),
        ("https://example.com/" + "a" * 2100, "at most 2048"),
        (f"{BASE}/l/{'A' * 22}", "short link itself"),
    ],
)
def test_bad_targets_are_refused_naming_the_field(url, why):
    with pytest.raises(InvalidArgument) as refused:
        normalize_target(url, "link.target_url", BASE)
    assert [v.field for v in refused.value.violations] == ["link.target_url"]
    assert why in refused.value.violations[0].description


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://example.com", "https://example.com/"),
        ("HTTPS://Example.COM/Path?q=1#frag", "https://example.com/Path?q=1#frag"),
        ("https://example.com/search?q=%20a&b=c", "https://example.com/search?q=%20a&b=c"),
        ("https://bücher.example/straße?ü=ö", "https://xn--bcher-kva.example/stra%C3%9Fe?%C3%BC=%C3%B6"),
        ("http://example.com:8080/x", "http://example.com:8080/x"),
        ("https://[2001:db8::1]:443/x", "https://[2001:db8::1]:443/x"),
        ("https://example.com/?", "https://example.com/?"),
        ("https://go.wecare.digital/offers", "https://go.wecare.digital/offers"),  # our host, not a short link
    ],
)
def test_targets_are_stored_normalised_and_ascii(given, stored):
    assert normalize_target(given, "f", BASE) == stored
    assert normalize_target(stored, "f", BASE) == stored  # normalising twice changes nothing
    assert stored.isascii()


def test_a_new_link_names_every_bad_field_at_once():
    asked = LinkRequest(
        target_url="mailto:a@example.com",
        contact="contacts/nope",
        message="bulkJobs/" + ID,
        job="bulkJobs/" + ID,
        expire_time=99.0,
        request_id="has space",
        extras={"code": "output only: leave it out"},
    )
    with pytest.raises(InvalidArgument) as refused:
        new_link(asked, "requests[2]", link_id=ID, code="A" * 22, now=100.0, creator="u", links_base_url=BASE)
    fields = {v.field for v in refused.value.violations}
    assert fields == {
        "requests[2].link.target_url",
        "requests[2].link.contact",
        "requests[2].link.message",
        "requests[2].link.expire_time",
        "requests[2].request_id",
        "requests[2].link.code",
    }


def test_a_new_link_keeps_ids_of_its_references():
    link = new_link(
        LinkRequest(target_url="https://example.com/p", contact=f"contacts/{ID}", job=f"bulkJobs/{ID}"),
        "",
        link_id=ID,
        code="B" * 22,
        now=100.0,
        creator="operator-1",
        links_base_url=BASE,
    )
    assert (link.contact, link.job, link.message, link.target_url) == (ID, ID, "", "https://example.com/p")
    assert not link.expired(10**10)


PREVIEW_AGENTS = [
    "WhatsApp/2.23.20.0 A",
    "WhatsApp/2.2329.9 i",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 "
    "Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",  # iMessage
    "Twitterbot/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "TelegramBot (like TwitterBot)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "",
]
PEOPLE = [
    "Mozilla/5.0 (Linux; Android 13; SM-A536E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
    "Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
    "Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
    "[FBAN/FBIOS;FBAV/440.0]",  # Facebook's in-app browser: a person
    "Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0 Mobile",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
]


@pytest.mark.parametrize("agent", PREVIEW_AGENTS)
def test_link_preview_fetchers_are_previews(agent):
    assert kind_of(Open(user_agent=agent)) is OpenKind.PREVIEW


@pytest.mark.parametrize("agent", PEOPLE)
def test_browsers_are_clicks_unless_head_or_prefetch(agent):
    assert kind_of(Open(user_agent=agent)) is OpenKind.CLICK
    assert kind_of(Open(http_method="HEAD", user_agent=agent)) is OpenKind.PREVIEW
    assert kind_of(Open(user_agent=agent, purpose="prefetch;prerender")) is OpenKind.PREVIEW


def test_the_person_is_the_contact_else_the_recipient_else_the_visitor():
    browser = Open(user_agent=PEOPLE[0], client_address="203.0.113.7", visitor="V" * 22)
    assert person_of(ID, "+919812345678", browser) == f"contact:{ID}"
    assert person_of("", "+919812345678", browser) == person_of("", "+919812345678", Open())
    assert person_of("", "", browser) != person_of("", "", Open(visitor="W" * 22))
    # Without a usable visitor cookie: address and user agent.
    anonymous = Open(user_agent=PEOPLE[0], client_address="203.0.113.7", visitor="forged!")
    assert person_of("", "", anonymous) == person_of("", "", Open(user_agent=PEOPLE[0], client_address="203.0.113.7"))
    assert person_of("", "", anonymous) != person_of("", "", Open(user_agent=PEOPLE[1], client_address="203.0.113.7"))
    assert all(len(p) <= 64 for p in (person_of(ID, "", browser), person_of("", "x" * 300, browser)))
