"""The ContactStore contract, run against every implementation: SQLite in a temporary directory and DynamoDB on
moto (server mode, a fresh table per test). Volumes stay small: moto copies a table on every transaction."""

from __future__ import annotations

import dataclasses
import sqlite3
import uuid

import pytest
from aiobotocore.session import get_session
from aiobotocore.stub import AioStubber
from botocore.exceptions import ClientError

from runtime.aws import AwsClients
from runtime.errors import Aborted, AlreadyExists, NotFound
from runtime.settings import Settings
from services.contacts.adapters import dynamodb_store, sqlite_store
from services.contacts.adapters.dynamodb_store import DynamoContactStore
from services.contacts.adapters.sqlite_store import SqliteContactStore
from services.contacts.domain import ChannelConsent, ConsentState, Contact, fold
from services.contacts.reindex import reindex

NOW = 1_718_000_000.25


@pytest.fixture(params=["sqlite", "dynamodb"])
async def store(request, tmp_path, monkeypatch):
    aws = None
    if request.param == "sqlite":
        made = SqliteContactStore(tmp_path / "contacts.sqlite3")
    else:
        # moto only when a DynamoDB case runs: `-k sqlite` needs no server.
        aws = AwsClients(Settings.from_env({}, dynamodb_endpoint_url=request.getfixturevalue("moto_endpoint")))
        table = f"contacts-{uuid.uuid4().hex[:12]}"
        await dynamodb_store.ensure_table(await aws.client("dynamodb"), table)
        made = DynamoContactStore(aws, table)
        # moto undoes a cancelled transaction by restoring a copy of the table taken when it began, which
        # also undoes a transaction that committed meanwhile: one transaction at a time keeps it honest.
        monkeypatch.setattr(dynamodb_store, "WRITE_CONCURRENCY", 1)
    yield made
    await made.close()
    if aws is not None:
        await aws.close()


def contact(cid: str, name: str = "", phone: str = "", email: str = "", tags: tuple[str, ...] = (), **extra) -> Contact:
    return Contact(
        id=cid,
        display_name=name,
        phone_number=phone,
        email=email,
        tags=tags,
        create_time=NOW,
        update_time=NOW,
        **extra,
    )


def bumped(c: Contact, **changes) -> Contact:
    return dataclasses.replace(c, **changes, version=c.version + 1, update_time=c.update_time + 1.5)


def ids(contacts: list[Contact]) -> list[str]:
    return [c.id for c in contacts]


async def test_create_then_get_gives_back_every_field(store):
    made = contact(
        "C1",
        "Ana María Núñez",
        "+919330994400",
        "Ana@Example.com",
        ("vip", "pune"),
        consent={
            "whatsapp": ChannelConsent(ConsentState.OPTED_IN, 1_717_999_999.123456, "whatsapp:keyword:START"),
            "sms": ChannelConsent(ConsentState.OPTED_OUT, None, "operator:u1"),
        },
        consent_history={
            "whatsapp": (
                ChannelConsent(ConsentState.OPTED_OUT, 1_717_000_000.5, "whatsapp:keyword:STOP"),
                ChannelConsent(ConsentState.OPTED_IN, 1_717_999_999.123456, "whatsapp:keyword:START"),
            ),
            "sms": (ChannelConsent(ConsentState.OPTED_OUT, None, "operator:u1"),),
        },
        attributes={"plan": "gold", "empty": ""},
    )
    await store.create(made)
    assert await store.get("C1") == made
    assert await store.get("C2") is None


async def test_create_refuses_a_taken_number_naming_the_field(store):
    first = contact("C1", "First", "+919330994400", "first@example.com")
    await store.create(first)
    with pytest.raises(AlreadyExists) as caught:
        await store.create(contact("C2", "Second", "+919330994400", "second@example.com"))
    assert caught.value.reason == "PHONE_NUMBER_TAKEN"
    assert caught.value.metadata == {"field": "contact.phone_number"}
    assert await store.get("C2") is None
    assert await store.find_by_email("second@example.com") is None
    assert await store.by_name_prefix("second", 10) == []
    assert await store.get("C1") == first


async def test_create_refuses_a_taken_email_whatever_its_case(store):
    await store.create(contact("C1", "First", "", "Ana@Example.com"))
    with pytest.raises(AlreadyExists) as caught:
        await store.create(contact("C2", "Second", "+919330994400", "ana@EXAMPLE.com"))
    assert caught.value.reason == "EMAIL_TAKEN"
    assert caught.value.metadata == {"field": "contact.email"}
    assert await store.get("C2") is None
    # The number of the refused contact stays free.
    assert await store.find_by_phone("+919330994400") is None
    await store.create(contact("C3", "Third", "+919330994400", ""))


async def test_find_by_phone_and_by_email(store):
    made = contact("C1", "Ana", "+919330994400", "Ana@Example.com")
    await store.create(made)
    assert await store.find_by_phone("+919330994400") == made
    assert await store.find_by_phone("+919903300044") is None
    assert await store.find_by_email("ana@example.COM") == made
    assert await store.find_by_email("  ANA@example.com ") == made
    assert await store.find_by_email("bob@example.com") is None


async def test_replace_writes_the_new_version(store):
    made = contact("C1", "Ana", "+919330994400", "ana@example.com", ("a",))
    await store.create(made)
    changed = bumped(made, tags=("a", "b"), attributes={"k": "v"})
    await store.replace(changed, expected_version=1)
    assert await store.get("C1") == changed


async def test_replace_with_a_stale_version_is_aborted_and_changes_nothing(store):
    made = contact("C1", "Ana", "+919330994400", "ana@example.com")
    await store.create(made)
    await store.replace(bumped(made), expected_version=1)
    stored = await store.get("C1")
    stale = bumped(made, display_name="Zed", phone_number="+919903300044", email="zed@example.com")
    with pytest.raises(Aborted) as caught:
        await store.replace(stale, expected_version=1)
    assert caught.value.reason == "ETAG_MISMATCH"
    assert await store.get("C1") == stored
    assert await store.find_by_phone("+919903300044") is None
    assert await store.find_by_email("zed@example.com") is None
    assert await store.by_name_prefix("zed", 10) == []
    assert await store.by_words(("zed",), 10) == []
    assert ids(await store.by_name_prefix("ana", 10)) == ["C1"]


async def test_replace_of_a_missing_contact_is_not_found(store):
    with pytest.raises(NotFound):
        await store.replace(contact("C9", "Nobody", "+919330994400"), expected_version=1)
    assert await store.find_by_phone("+919330994400") is None


async def test_replace_refuses_the_number_or_address_of_another_contact(store):
    ana = contact("C1", "Ana", "+919330994400", "ana@example.com")
    bob = contact("C2", "Bob", "+919903300044", "bob@example.com")
    await store.create(ana)
    await store.create(bob)
    with pytest.raises(AlreadyExists) as caught:
        await store.replace(bumped(bob, phone_number=ana.phone_number, display_name="Robert"), bob.version)
    assert caught.value.reason == "PHONE_NUMBER_TAKEN"
    assert caught.value.metadata == {"field": "contact.phone_number"}
    with pytest.raises(AlreadyExists) as caught:
        await store.replace(bumped(bob, email="ANA@example.com"), bob.version)
    assert caught.value.reason == "EMAIL_TAKEN"
    assert caught.value.metadata == {"field": "contact.email"}
    assert await store.get("C2") == bob
    assert await store.by_name_prefix("robert", 10) == []
    assert await store.find_by_phone(ana.phone_number) == ana


async def test_replace_moves_the_claims_and_the_search_entries(store):
    ana = contact("C1", "Alice Smith", "+919330994400", "alice@example.com", ("gold",))
    await store.create(ana)
    moved = bumped(ana, display_name="Bob Jones", phone_number="+919903300044", email="bob@example.org", tags=("new",))
    await store.replace(moved, expected_version=1)

    assert await store.find_by_phone("+919330994400") is None
    assert await store.find_by_email("alice@example.com") is None
    assert await store.find_by_phone("+919903300044") == moved
    assert await store.find_by_email("BOB@example.org") == moved
    assert await store.by_name_prefix("ali", 10) == []
    assert ids(await store.by_name_prefix("bob j", 10)) == ["C1"]
    for gone in (("smith",), ("gold",), ("alice",)):
        assert await store.by_words(gone, 10) == [], gone
    for found in (("jones",), ("new",), ("org", "bob")):
        assert ids(await store.by_words(found, 10)) == ["C1"], found
    # The old number and address are free for another contact.
    await store.create(contact("C2", "Other", "+919330994400", "alice@example.com"))
    assert ids(await store.by_words(("alice",), 10)) == ["C2"]


async def test_replace_keeping_the_number_and_address(store):
    """A change that keeps the claims must not trip over its own claims."""
    ana = contact("C1", "Ana", "+919330994400", "ana@example.com")
    await store.create(ana)
    renamed = bumped(ana, display_name="Anabel", email="ANA@example.com")
    await store.replace(renamed, expected_version=1)
    assert await store.get("C1") == renamed
    assert await store.find_by_email("ana@example.com") == renamed
    assert ids(await store.by_name_prefix("anab", 10)) == ["C1"]


async def test_delete_removes_everything_and_returns_what_it_removed(store):
    ana = contact("C1", "Ana Silva", "+919330994400", "ana@example.com", ("vip",))
    bob = contact("C2", "Bob", "+919903300044", "bob@example.com")
    await store.create(ana)
    await store.create(bob)

    assert await store.delete("C1") == ana
    assert await store.get("C1") is None
    assert await store.find_by_phone(ana.phone_number) is None
    assert await store.find_by_email(ana.email) is None
    assert ids(await store.list(None, 10)) == ["C2"]
    assert await store.by_name_prefix("ana", 10) == []
    assert await store.by_words(("vip",), 10) == []
    assert await store.delete("C1") is None
    # The number and the address are free again.
    await store.create(contact("C3", "Ana again", ana.phone_number, ana.email))
    assert ids(await store.by_name_prefix("ana", 10)) == ["C3"]


async def test_delete_with_a_stale_version_is_aborted(store):
    ana = contact("C1", "Ana", "+919330994400")
    await store.create(ana)
    await store.replace(bumped(ana), expected_version=1)
    with pytest.raises(Aborted):
        await store.delete("C1", expected_version=1)
    assert (await store.get("C1")).version == 2
    removed = await store.delete("C1", expected_version=2)
    assert removed is not None and removed.version == 2
    assert await store.get("C1") is None


async def test_list_is_in_id_order_and_pages_after_an_id(store):
    given = ["C07", "C02", "C10", "C01", "C05", "C09", "C03", "C08", "C04", "C06"]
    for i, cid in enumerate(given):
        await store.create(contact(cid, f"Person {i}", email=f"p{i}@example.com"))
    everything = sorted(given)
    assert ids(await store.list(None, 100)) == everything
    assert ids(await store.list(None, 3)) == everything[:3]
    pages, after = [], None
    while True:
        page = await store.list(after, 3)
        if not page:
            break
        assert len(page) <= 3
        pages.append(ids(page))
        after = page[-1].id
    assert pages == [everything[0:3], everything[3:6], everything[6:9], everything[9:]]
    assert ids(await store.list("C055", 2)) == ["C06", "C07"]
    assert await store.list("C10", 5) == []
    got = await store.list("C04", 1)
    assert got == [await store.get("C05")]


async def test_by_name_prefix_folds_case_and_accents_and_orders_by_name_then_id(store):
    names = {
        "C5": "Émile Zola",
        "C1": "emma stone",
        "C3": "Emil",
        "C4": "EMIL",
        "C2": "Bob Emil",
        "C6": "Emilia",
    }
    for i, (cid, name) in enumerate(names.items()):
        await store.create(contact(cid, name, email=f"p{i}@example.com"))
    # Folded: "emile zola", "emma stone", "emil" (C3, C4), "emilia"; ties by id.
    assert ids(await store.by_name_prefix("emil", 10)) == ["C3", "C4", "C5", "C6"]
    assert ids(await store.by_name_prefix("em", 10)) == ["C3", "C4", "C5", "C6", "C1"]
    assert ids(await store.by_name_prefix("em", 2)) == ["C3", "C4"]
    assert ids(await store.by_name_prefix("emile zola", 10)) == ["C5"]
    assert ids(await store.by_name_prefix("bob", 10)) == ["C2"]
    assert await store.by_name_prefix("emile zolas", 10) == []
    assert await store.by_name_prefix("zola", 10) == []
    assert await store.by_name_prefix("", 10) == []


async def test_by_words_needs_every_word_as_a_prefix_of_some_word(store):
    await store.create(contact("C1", "Ana Silva", "+919330994400", "ana.silva@acme.com", ("vip", "pune")))
    await store.create(contact("C2", "Anand Rao", "+919903300044", "rao@globex.org", ("pune",)))
    await store.create(contact("C3", "Bruno Díaz", "", "bruno@acme.com", ("mumbai",)))
    await store.create(contact("C4", "", "+918888888888", ""))

    async def found(*words: str) -> set[str]:
        return set(ids(await store.by_words(words, 10)))

    assert await found("ana") == {"C1", "C2"}
    assert await found("ana", "silva") == {"C1"}
    assert await found("pune") == {"C1", "C2"}
    assert await found("pune", "glob") == {"C2"}
    assert await found("acme") == {"C1", "C3"}
    assert await found("diaz") == {"C3"}  # the name is folded, the accent gone
    assert await found("mum", "bru", "acm") == {"C3"}
    assert await found("ana", "mumbai") == set()
    assert await found("zzz") == set()
    assert await store.by_words((), 10) == []
    limited = await store.by_words(("a",), 2)
    assert len(limited) == 2 and set(ids(limited)) <= {"C1", "C2", "C3"}


async def test_by_words_takes_words_as_the_domain_splits_them(store):
    """A word is what domain.words finds (\\w+): an underscore joins, a dot or an @ separates."""
    await store.create(contact("C1", "", "+919330994400", "x_y@ex.com", ("vip_gold", "a.b")))

    async def found(*words: str) -> list[str]:
        return ids(await store.by_words(words, 10))

    assert await found("vip_g") == ["C1"]
    assert await found("x_y") == ["C1"]
    assert await found("b") == ["C1"]
    assert await found("gold") == []
    assert await found("y") == []


async def test_names_and_words_longer_than_a_key_holds(store):
    """NFKD turns one character into up to 18, so a folded name can outgrow a DynamoDB sort key (1 KB)."""
    salute = "\ufdfa" * 40  # folds to about 1.3 KB of Arabic
    await store.create(contact("C1", salute + " alpha", "+919330994401"))
    await store.create(contact("C2", salute + " beta", "+919330994402"))
    await store.create(contact("C3", "ж" * 199, "+919330994403"))  # one word of 398 bytes
    assert len(fold(salute).encode()) > 1024
    assert ids(await store.by_name_prefix(fold(salute), 10)) == ["C1", "C2"]
    assert ids(await store.by_name_prefix(fold(salute + " b"), 10)) == ["C2"]
    assert ids(await store.by_name_prefix(fold(salute + " b"), 1)) == ["C2"]
    assert await store.by_name_prefix(fold(salute + " c"), 10) == []
    assert ids(await store.by_words(("ж" * 150,), 10)) == ["C3"]
    assert ids(await store.by_words(("ж" * 199,), 10)) == ["C3"]
    assert await store.by_words(("ж" * 120 + "x",), 10) == []
    assert await store.by_words(("ж" * 200,), 10) == []


async def test_create_many_gives_a_result_per_item_in_input_order(store):
    await store.create(contact("C0", "Existing", "+919330994400", "taken@example.com"))
    batch = [
        contact("C1", "One", "+919903300044", "one@example.com"),
        contact("C2", "Two", "+919330994400", "two@example.com"),  # number of C0
        contact("C3", "Three", "+918888888881", "three@example.com"),
        contact("C4", "Four", "+918888888882", "ONE@example.com"),  # address of C1, earlier in the batch
        contact("C5", "Five", "+918888888883", "TAKEN@example.com"),  # address of C0; its number stays free
        contact("C6", "Six", "+918888888883", "six@example.com"),  # the number C5 could not take
    ]
    results = await store.create_many(batch)
    assert len(results) == len(batch)
    assert [r is None for r in results] == [True, False, True, False, False, True]
    assert (results[1].reason, results[1].metadata) == (
        "PHONE_NUMBER_TAKEN",
        {"field": "requests[1].contact.phone_number"},
    )
    assert (results[3].reason, results[3].metadata) == ("EMAIL_TAKEN", {"field": "requests[3].contact.email"})
    assert (results[4].reason, results[4].metadata) == ("EMAIL_TAKEN", {"field": "requests[4].contact.email"})
    for error in (results[1], results[3], results[4]):
        assert isinstance(error, AlreadyExists)
    for c in batch:
        assert await store.get(c.id) == (c if c.id in ("C1", "C3", "C6") else None)
    assert (await store.find_by_email("one@example.com")).id == "C1"
    assert (await store.find_by_phone("+918888888883")).id == "C6"


async def test_a_contact_with_many_words_is_created_replaced_and_deleted(store):
    """Fifty tags and a long name: more words than one transaction could index twice over."""
    name = " ".join(f"name{i:02d}" for i in range(30))
    tags = tuple(f"tag{i:02d}x" for i in range(50))
    big = contact("C1", name, "+919330994400", "many.words@example.com", tags)
    await store.create(big)
    assert await store.get("C1") == big
    assert ids(await store.by_words(("name00",), 10)) == ["C1"]
    assert ids(await store.by_words(("name00", "tag49x"), 10)) == ["C1"]
    other = bumped(
        big,
        display_name=" ".join(f"other{i:02d}" for i in range(30)),
        tags=tuple(f"new{i:02d}y" for i in range(50)),
        email="other.words@example.org",
    )
    await store.replace(other, expected_version=1)
    assert await store.get("C1") == other
    assert await store.by_words(("name00",), 10) == []
    assert ids(await store.by_words(("other00",), 10)) == ["C1"]
    assert ids(await store.by_words(("other29", "new49y"), 10)) == ["C1"]
    assert await store.delete("C1") == other
    assert await store.by_words(("other00",), 10) == []


async def all_tagged(store, tags: tuple[str, ...], limit: int) -> tuple[list[str], int]:
    """Every contact list_tagged gives, page after page: their ids, and how many pages it took."""
    found, after, pages = [], None, 0
    while True:
        page, after = await store.list_tagged(tags, after, limit)
        assert len(page) <= limit
        found += ids(page)
        pages += 1
        if after is None:
            return found, pages
        assert pages < 100


async def test_list_tagged_is_an_index_in_id_order_that_follows_every_write(store):
    given = {"C05": ("vip", "pune"), "C02": ("vip",), "C09": ("pune",), "C01": ("vip", "pune", "new"), "C07": ()}
    for cid, tags in given.items():
        await store.create(contact(cid, f"Person {cid}", email=f"{cid.lower()}@example.com", tags=tags))
    assert (await all_tagged(store, ("vip",), 10))[0] == ["C01", "C02", "C05"]
    assert (await all_tagged(store, ("vip",), 1))[0] == ["C01", "C02", "C05"]  # page by page, nothing twice
    assert (await all_tagged(store, ("pune", "vip"), 10))[0] == ["C01", "C05"]  # every tag, whichever leads
    assert (await all_tagged(store, ("vip", "pune"), 1))[0] == ["C01", "C05"]
    assert (await all_tagged(store, ("nobody",), 10)) == ([], 1)
    page, after = await store.list_tagged(("vip",), "C01", 10)
    assert ids(page) == ["C02", "C05"] and after is None
    # A replace moves the contact between tags; a delete takes it out of every one
    c05 = await store.get("C05")
    await store.replace(bumped(c05, tags=("new",)), expected_version=c05.version)
    c07 = await store.get("C07")
    await store.replace(bumped(c07, tags=("vip",)), expected_version=c07.version)
    assert (await all_tagged(store, ("vip",), 10))[0] == ["C01", "C02", "C07"]
    assert (await all_tagged(store, ("new",), 10))[0] == ["C01", "C05"]
    await store.delete("C01")
    assert (await all_tagged(store, ("vip",), 10))[0] == ["C02", "C07"]
    assert (await all_tagged(store, ("pune",), 10))[0] == ["C09"]
    # What comes back is the contact as it is now
    page, _ = await store.list_tagged(("new",), None, 10)
    assert page == [await store.get("C05")]


async def test_list_tagged_keeps_up_with_a_replace_of_every_tag(store):
    """Fifty tags replaced by fifty others, with a long name: more entries than one transaction can hold."""
    old_tags = tuple(f"old{i:02d}" for i in range(50))
    big = contact("C1", " ".join(f"name{i:02d}" for i in range(30)), "+919330994400", "t@example.com", old_tags)
    await store.create(big)
    await store.create(contact("C2", "Other", tags=("old07", "new07")))
    assert (await all_tagged(store, ("old07",), 10))[0] == ["C1", "C2"]
    other = bumped(big, tags=tuple(f"new{i:02d}" for i in range(50)), display_name="Other words entirely")
    await store.replace(other, expected_version=1)
    assert await store.get("C1") == other
    assert (await all_tagged(store, ("old07",), 10))[0] == ["C2"]
    assert (await all_tagged(store, ("old49",), 10))[0] == []
    assert (await all_tagged(store, ("new07",), 10))[0] == ["C1", "C2"]
    assert (await all_tagged(store, ("new49",), 10))[0] == ["C1"]
    assert await store.by_words(("name00",), 10) == []
    back = bumped(other, tags=old_tags)
    await store.replace(back, expected_version=2)
    assert (await all_tagged(store, ("old49",), 10))[0] == ["C1"]
    assert await store.delete("C1") == back
    for tag in ("old00", "old49", "new00", "new49"):
        assert (await all_tagged(store, (tag,), 10))[0] == []


async def test_ping(store):
    await store.ping()


async def test_sqlite_a_file_from_before_the_tag_index_gets_it_filled_once(tmp_path):
    path = tmp_path / "contacts.sqlite3"
    store = SqliteContactStore(path)
    await store.create(contact("C1", tags=("vip", "pune")))
    await store.create(contact("C2", tags=("vip",)))
    await store.close()
    with sqlite3.connect(path) as db:  # as the file was before the tag table: none of its rows, version 0
        db.execute("DELETE FROM contact_tags")
        db.execute("PRAGMA user_version = 0")
    reopened = SqliteContactStore(path)
    try:
        assert ids((await reopened.list_tagged(("vip",), None, 10))[0]) == ["C1", "C2"]
        assert ids((await reopened.list_tagged(("pune",), None, 10))[0]) == ["C1"]
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA user_version").fetchone()[0] == sqlite_store.TAGS_VERSION
    finally:
        await reopened.close()


# DynamoDB only: cancellations moto never produces (it runs one transaction at a time), through botocore's stubber.


class _StubbedClients:
    def __init__(self, client):
        self._client = client

    async def client(self, service: str):
        return self._client


def _cancelled(*codes: str) -> dict:
    return {"CancellationReasons": [{"Code": code} for code in codes]}


@pytest.fixture
async def stubbed():
    session = get_session()
    async with session.create_client("dynamodb", region_name="us-east-1", endpoint_url="http://127.0.0.1:9") as client:
        with AioStubber(client) as stub:
            yield stub, DynamoContactStore(_StubbedClients(client), "ContactsTable")
            stub.assert_no_pending_responses()


async def test_dynamodb_create_retries_a_transaction_that_met_another(stubbed):
    stub, store = stubbed
    for _ in range(2):
        stub.add_client_error(
            "transact_write_items",
            "TransactionCanceledException",
            modeled_fields=_cancelled("None", "TransactionConflict", "None"),
        )
    stub.add_response("transact_write_items", {})
    await store.create(contact("C1", "", "+919330994400", "ana@example.com"))


async def test_dynamodb_a_failed_claim_is_final_even_beside_a_conflict(stubbed):
    stub, store = stubbed
    stub.add_client_error(
        "transact_write_items",
        "TransactionCanceledException",
        modeled_fields=_cancelled("None", "TransactionConflict", "ConditionalCheckFailed"),
    )
    with pytest.raises(AlreadyExists) as caught:
        await store.create(contact("C1", "", "+919330994400", "ana@example.com"))
    assert caught.value.reason == "EMAIL_TAKEN"


async def test_dynamodb_a_conflict_that_persists_is_reported_not_swallowed(stubbed):
    stub, store = stubbed
    for _ in range(6):
        stub.add_client_error(
            "transact_write_items", "TransactionCanceledException", modeled_fields=_cancelled("TransactionConflict")
        )
    with pytest.raises(ClientError):
        await store.create(contact("C1", "", "+919330994400"))


async def test_dynamodb_create_many_reports_a_fault_on_its_item_only(stubbed):
    stub, store = stubbed
    # Two independent contacts go in parallel, so which call meets the fault is not fixed: check by outcome.
    stub.add_client_error("transact_write_items", "InternalServerError", http_status_code=400)
    stub.add_response("transact_write_items", {})
    results = await store.create_many([contact("C1", "", "+919330994400"), contact("C2", "", "+919903300044")])
    assert sorted(type(r).__name__ for r in results) == ["NoneType", "Unavailable"]


@pytest.fixture
async def dynamo_store(moto_endpoint):
    aws = AwsClients(Settings.from_env({}, dynamodb_endpoint_url=moto_endpoint))
    table = f"contacts-{uuid.uuid4().hex[:12]}"
    await dynamodb_store.ensure_table(await aws.client("dynamodb"), table)
    try:
        yield DynamoContactStore(aws, table), aws, table
    finally:
        await aws.close()


async def _items(aws, table: str) -> list[dict]:
    client = await aws.client("dynamodb")
    return (await client.scan(TableName=table))["Items"]


async def test_dynamodb_a_tag_is_spread_over_its_shards(dynamo_store):
    """A tag every contact carries is written to TAG_SHARDS partition keys, not one, and read back in id order."""
    store, aws, table = dynamo_store
    made = [contact(f"C{i:03d}", tags=("everyone",)) for i in range(48)]
    assert await store.create_many(made) == [None] * 48
    keys = {i["pk"]["S"] for i in await _items(aws, table) if i["pk"]["S"].startswith("tag#everyone#")}
    assert keys == {f"tag#everyone#{s}" for s in range(dynamodb_store.TAG_SHARDS)}
    assert (await all_tagged(store, ("everyone",), 7))[0] == ids(made)


async def test_dynamodb_list_tagged_reads_a_bounded_number_of_pages(dynamo_store, monkeypatch):
    """Two tags whose common contacts are rare: each call reads TAG_READS index pages at most, answers with what
    it found and where to go on; going on finds every one, once."""
    store, _, _ = dynamo_store
    for i in range(30):
        await store.create(contact(f"C{i:02d}", tags=("a", "b") if i in (3, 25) else ("a",)))
    monkeypatch.setattr(dynamodb_store, "TAG_READS", 1)
    first, after = await store.list_tagged(("a", "b"), None, 2)
    assert (first, after) == ([], "C01")  # one read of two entries, neither with both tags: go on after C01
    found, pages = await all_tagged(store, ("a", "b"), 2)
    assert found == ["C03", "C25"] and pages > 2


async def test_dynamodb_entries_a_failed_tidy_left_are_harmless_and_go_with_the_next_write(dynamo_store, monkeypatch):
    store, aws, table = dynamo_store
    big = contact("C1", " ".join(f"name{i:02d}" for i in range(30)), tags=tuple(f"old{i:02d}" for i in range(50)))
    await store.create(big)

    async def down(*args, **kwargs):
        raise RuntimeError("DynamoDB is away")

    monkeypatch.setattr(dynamodb_store.dynamo, "batch_delete", down)
    other = bumped(big, tags=tuple(f"new{i:02d}" for i in range(50)), display_name="Other")
    await store.replace(other, expected_version=1)  # the write is done; retired entries could not be deleted
    assert await store.get("C1") == other
    assert (await all_tagged(store, ("old00",), 10))[0] == []  # ...and they change no answer
    assert await store.by_words(("name00",), 10) == []
    left = [i for i in await _items(aws, table) if i["pk"]["S"].startswith("tag#old")]
    assert left, "the failure left retired entries behind"
    monkeypatch.undo()
    assert await store.delete("C1") == other  # more owned than one transaction holds: tidied first
    assert await _items(aws, table) == []


async def test_dynamodb_reindex_gives_contacts_from_before_the_tag_index_their_entries(dynamo_store):
    store, aws, table = dynamo_store
    for cid, tags in (("C1", ("vip",)), ("C2", ("vip", "pune")), ("C3", ())):
        await store.create(contact(cid, f"Name {cid}", tags=tags))
    client = await aws.client("dynamodb")
    for item in await _items(aws, table):  # as a contact was written before tag entries existed
        if item["pk"]["S"].startswith("tag#"):
            await client.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})
        elif item["sk"]["S"] == "contact":
            owned = [k for k in item["owned"]["L"] if not k["M"]["pk"]["S"].startswith("tag#")]
            await client.put_item(TableName=table, Item={**item, "owned": {"L": owned}})
    assert (await all_tagged(store, ("vip",), 10))[0] == []
    before = {c: await store.get(c) for c in ("C1", "C2", "C3")}
    assert await reindex(store) == 3
    assert (await all_tagged(store, ("vip",), 10))[0] == ["C1", "C2"]
    assert (await all_tagged(store, ("pune",), 10))[0] == ["C2"]
    assert {c: await store.get(c) for c in before} == before  # the contacts themselves are unchanged
    assert ids(await store.by_words(("name",), 10)) == ["C1", "C2", "C3"]


async def test_dynamodb_a_word_search_reads_a_bounded_number_of_pages(moto_endpoint, monkeypatch):
    aws = AwsClients(Settings.from_env({}, dynamodb_endpoint_url=moto_endpoint))
    try:
        table = f"contacts-{uuid.uuid4().hex[:12]}"
        await dynamodb_store.ensure_table(await aws.client("dynamodb"), table)
        store = DynamoContactStore(aws, table)
        for i in range(1, 7):
            await store.create(contact(f"C{i}", f"aa{i}" + (" zed" if i == 6 else ""), f"+91933099440{i}"))
        assert ids(await store.by_words(("aa", "z"), 10)) == ["C6"]
        monkeypatch.setattr(dynamodb_store, "SEARCH_PAGE", 2)
        monkeypatch.setattr(dynamodb_store, "SEARCH_READS", 2)
        assert await store.by_words(("aa", "z"), 10) == []  # C6's entry is the sixth: past 2 reads of 2
        assert ids(await store.by_words(("aa",), 3)) == ["C1", "C2", "C3"]
    finally:
        await aws.close()
