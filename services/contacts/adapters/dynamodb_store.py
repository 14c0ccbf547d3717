"""ContactsTable on DynamoDB: the AWS implementation of ContactStore, with the semantics of sqlite_store.

One table with generic keys `pk`/`sk`. A contact owns the items below, and every write of a contact puts and
removes them in the same TransactWriteItems, so no reader ever sees half a change:

  item         pk                          sk                    attributes
  contact      contact#<id>                contact               doc (the contact as a map), version, owned
                                                                 (keys of its other items), words, list keys
  phone claim  phone#<E.164>               claim                 contact_id; put if attribute_not_exists(pk)
  email claim  email#<lowercased address>  claim                 contact_id; put if attribute_not_exists(pk)
  name entry   name#<first folded char>    <folded name>\\x01<id>  contact_id, name_key
  word entry   word#<first char of word>   <word>\\x01<id>         contact_id, words (" w1 w2 ...": all its words)
  tag entry    tag#<tag>#<shard of id>     <id>                  contact_id

- The claims make a number or an address one contact's: a taken one cancels the transaction, and the
  cancellation reasons (which line up with the items) tell which claim failed, so the conflict names the
  field as the SQLite store does (PHONE_NUMBER_TAKEN / EMAIL_TAKEN with metadata field).
- replace() and delete() condition the contact item on the version they read, so the claims and entries they
  move are the ones that belong to that version; a moved version is Aborted (ETAG_MISMATCH), a gone contact
  NotFound (told apart by ReturnValuesOnConditionCheckFailure=ALL_OLD).
- Name-prefix search is one Query on the name partition with begins_with(sk, prefix): the sort key orders by
  folded name then id ("\\x01" sorts below every printable character). Word search queries the entries of the
  longest given word (likely the rarest) and keeps, server side, those whose `words` contain " <w>" for every
  other word w: each given word is a prefix of some word of the contact.
- Only the words that are not a prefix of another word of the same contact get an entry (the longer one
  answers every prefix query the shorter would), and at most MAX_INDEXED_WORDS of them, name words first,
  then email, then tags. Words past the cap still match as further words of a multi-word search, through
  `words`.
- Tag entries are the audience-by-tag index: one a tag, keyed by the tag and the contact's id, so a tag's
  contacts come in id order. A tag may have millions of contacts (an import tags them all at once), so its
  entries are spread over TAG_SHARDS partition keys by the id, and a page merges the shards in id order.
- A transaction holds at most 100 items. Every put of a write goes in the contact's one transaction with the
  contact item, and so does every claim it releases (1 contact + 2 claims put + 2 released + 1 name + 44 words +
  50 tags = 100); the entries it retires (old name, words, tags) fill the rest, and those that do not fit are
  deleted just after (tidy()), kept meanwhile in the contact's `owned` so a later write or delete finds them.
  Every read checks what an entry leads to against the contact itself, so a retired entry not yet deleted
  changes no answer. A word search reads at most SEARCH_READS pages
  of entries (20,000): a search whose longest word is common and whose other words are rare may then return
  fewer matches than exist (and logs so), a bound on latency that search ranking can afford.
- ListContacts reads the GSI `list`: gsi1pk = contacts#<crc32(id) mod LIST_SHARDS>, gsi1sk = id. Ids grow with
  time, so one partition key would put every new contact on the same GSI partition (about 1,000 writes/s);
  eight shards spread them and a list page merges the shards in id order (runtime.dynamo.merged_query).
  A GSI is eventually consistent: a new contact shows in the list a moment after it exists. Every other read
  (get, find, search) is a strongly consistent read of the base table. Nothing on a request path scans.
- Key attributes are limited in bytes: names and words in sort keys are cut to fit, and a query for a longer
  prefix adds a filter on the full text, so results stay exact (only the order among names that share their
  first 800 bytes falls back to id order).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from runtime import dynamo
from runtime.aws import AwsClients
from runtime.errors import Aborted, AlreadyExists, DomainError, NotFound, Unavailable
from services.contacts.adapters.codec import from_document, to_document
from services.contacts.domain import Contact

log = logging.getLogger("wecare.contacts.dynamodb")

LIST_INDEX = "list"
LIST_SHARDS = 8
TAG_SHARDS = 8  # a tag's entries: 1,000 contacts a second all given one tag is 125 writes/s a partition
MAX_INDEXED_WORDS = 44
MAX_TRANSACTION = 100  # items in one TransactWriteItems
TAG_READS = 10  # index pages one list_tagged call reads at most before it answers with what it has
NAME_KEY_BYTES = 800  # sort keys take 1,024 bytes: room for the separator and the id
WORD_KEY_BYTES = 200
WRITE_CONCURRENCY = 16  # transactions in flight for one create_many
SEARCH_PAGE = 1000  # entries a search Query reads at most (entries are small: well under 1 MB)
SEARCH_READS = 20  # Query calls one search may make: bounds a word search whose filter keeps little
SEP = "\x01"  # below every character a folded name or a word holds (bar control characters)

# CreateTable arguments (without TableName): ensure_table() below for local runs and tests; the CloudFormation
# template is generated from this same dict.
TABLE: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
        {"AttributeName": "gsi1pk", "AttributeType": "S"},
        {"AttributeName": "gsi1sk", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": LIST_INDEX,
            "KeySchema": [
                {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["doc"]},
        }
    ],
    "BillingMode": "PAY_PER_REQUEST",
}


async def ensure_table(client, name: str) -> None:
    """Creates ContactsTable for a local run or a test; production tables come from CloudFormation."""
    await dynamo.ensure_table(client, name, TABLE)


def _contact_key(contact_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"contact#{contact_id}"}, "sk": {"S": "contact"}}


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def indexed_words(words: list[str]) -> list[str]:
    """The words that get a word entry: distinct, none a prefix of another, at most MAX_INDEXED_WORDS."""
    distinct = list(dict.fromkeys(words))
    kept = [w for w in distinct if not any(o != w and o.startswith(w) for o in distinct)]
    return kept[:MAX_INDEXED_WORDS]


class _Layout:
    """The items a contact owns, derived from it once."""

    def __init__(self, contact: Contact):
        self.contact = contact
        all_words = list(dict.fromkeys(contact.search_words()))
        self.words_text = "".join(" " + w for w in all_words)
        self.phone = _key(f"phone#{contact.phone_number}", "claim") if contact.phone_number else None
        self.email = _key(f"email#{contact.email_key}", "claim") if contact.email_key else None
        name_key = contact.name_key
        self.name = (
            _key(f"name#{name_key[0]}", dynamo.truncate_utf8(name_key, NAME_KEY_BYTES) + SEP + contact.id)
            if name_key
            else None
        )
        self.tags = [_key(f"tag#{t}#{dynamo.shard_of(contact.id, TAG_SHARDS)}", contact.id) for t in contact.tags]
        # Two words cut to the same key would be two writes of one item, which a transaction refuses.
        self.words = list(
            {
                _frozen(k): k
                for k in (
                    _key(f"word#{w[0]}", dynamo.truncate_utf8(w, WORD_KEY_BYTES) + SEP + contact.id)
                    for w in indexed_words(all_words)
                )
            }.values()
        )

    def owned(self) -> list[dict[str, Any]]:
        return [k for k in (self.phone, self.email, self.name) if k] + self.words + self.tags

    def contact_item(self, retiring: list[dict[str, Any]] = ()) -> dict[str, Any]:
        """The contact item; `retiring` are entries of an older version still to be deleted (tidy())."""
        c = self.contact
        item = {
            **_contact_key(c.id),
            "doc": dynamo.attribute(to_document(c)),
            "version": {"N": str(c.version)},
            "words": {"S": self.words_text},
            "owned": {"L": [{"M": k} for k in (*self.owned(), *retiring)]},
            "gsi1pk": {"S": f"contacts#{dynamo.shard_of(c.id, LIST_SHARDS)}"},
            "gsi1sk": {"S": c.id},
        }
        return item

    def entry_item(self, key: dict[str, Any]) -> dict[str, Any]:
        item = {**key, "contact_id": {"S": self.contact.id}}
        if key is self.name:
            item["name_key"] = {"S": self.contact.name_key}
        elif key in self.words:
            item["words"] = {"S": self.words_text}
        return item


def _owned_keys(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [k["M"] for k in item.get("owned", {}).get("L", [])]


def _frozen(key: dict[str, Any]) -> tuple[str, str]:
    return key["pk"]["S"], key["sk"]["S"]


def _conflict(contact: Contact, what: str, prefix: str) -> AlreadyExists:
    if what == "phone":
        return AlreadyExists(
            f"another contact already has phone number {contact.phone_number}",
            reason="PHONE_NUMBER_TAKEN",
            metadata={"field": f"{prefix}.phone_number"},
        )
    if what == "email":
        return AlreadyExists(
            f"another contact already has email {contact.email}",
            reason="EMAIL_TAKEN",
            metadata={"field": f"{prefix}.email"},
        )
    return AlreadyExists(f"{contact.name} already exists", reason="CONTACT_EXISTS")


def _first_failed(refused: dynamo.TransactionRefused, labels: list[str | None]) -> str:
    """Which claim failed, in the order the SQLite store reports them: phone, then email, then the contact."""
    failed = {label for i, label in enumerate(labels) if label and refused.failed(i)}
    for what in ("phone", "email", "contact"):
        if what in failed:
            return what
    raise refused


class DynamoContactStore:
    def __init__(self, aws: AwsClients, table: str):
        self._aws = aws
        self._table = table

    async def _client(self):
        return await self._aws.client("dynamodb")

    def _put(self, item: dict[str, Any], condition: str | None = None, **extra: Any) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self._table, "Item": item}
        if condition:
            put["ConditionExpression"] = condition
        put.update(extra)
        return {"Put": put}

    def _delete(self, key: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"Delete": {"TableName": self._table, "Key": key, **extra}}

    async def _read(self, contact_id: str) -> dict[str, Any] | None:
        client = await self._client()
        response = await client.get_item(TableName=self._table, Key=_contact_key(contact_id), ConsistentRead=True)
        return response.get("Item")

    @staticmethod
    def _decode(item: dict[str, Any]) -> Contact:
        return from_document(dynamo.native(item["doc"]))

    async def get(self, contact_id: str) -> Contact | None:
        item = await self._read(contact_id)
        return self._decode(item) if item else None

    async def create(self, contact: Contact) -> None:
        await self._create(contact, "contact")

    async def _create(self, contact: Contact, prefix: str) -> None:
        layout = _Layout(contact)
        unclaimed = "attribute_not_exists(pk)"
        items = [self._put(layout.contact_item(), unclaimed)]
        labels: list[str | None] = ["contact"]
        for what, key in (("phone", layout.phone), ("email", layout.email)):
            if key:
                items.append(self._put(layout.entry_item(key), unclaimed))
                labels.append(what)
        for key in ([layout.name] if layout.name else []) + layout.words + layout.tags:
            items.append(self._put(layout.entry_item(key)))
            labels.append(None)
        try:
            await dynamo.transact_write(await self._client(), items)
        except dynamo.TransactionRefused as refused:
            raise _conflict(contact, _first_failed(refused, labels), prefix) from None

    async def create_many(self, contacts: list[Contact]) -> list[DomainError | None]:
        """Like the SQLite store, each contact is tried in input order against what the earlier ones left:
        contacts that share an id, a number or an address form a group written one after another; groups
        are independent and go in parallel (at most WRITE_CONCURRENCY transactions in flight)."""
        results: list[DomainError | None] = [None] * len(contacts)
        gate = asyncio.Semaphore(WRITE_CONCURRENCY)

        async def run(group: list[int]) -> None:
            for i in group:
                async with gate:
                    try:
                        await self._create(contacts[i], f"requests[{i}].contact")
                    except AlreadyExists as exc:
                        results[i] = exc
                    except (ClientError, BotoCoreError) as exc:
                        # A fault on one item is that item's result; the others still go in.
                        log.warning("create of %s failed: %s", contacts[i].name, exc)
                        results[i] = Unavailable(f"{contacts[i].name} could not be written ({exc}); retry it")

        await asyncio.gather(*(run(g) for g in _groups(contacts)))
        return results

    async def replace(self, contact: Contact, expected_version: int) -> None:
        current = await self._read(contact.id)
        if current is None:
            raise NotFound(f"{contact.name} does not exist")
        if int(current["version"]["N"]) != expected_version:
            raise _stale(contact.name)
        layout = _Layout(contact)
        old = {_frozen(k): k for k in _owned_keys(current)}
        words_changed = current.get("words", {}).get("S") != layout.words_text
        items: list[dict[str, Any]] = [{}]  # the contact item, once what it owns is known
        labels: list[str | None] = ["contact"]
        new = {_frozen(k) for k in layout.owned()}
        for what, key in (("phone", layout.phone), ("email", layout.email), (None, layout.name)):
            if key and _frozen(key) not in old:
                claim = "attribute_not_exists(pk)" if what else None
                items.append(self._put(layout.entry_item(key), claim))
                labels.append(what)
        for key in layout.words:
            if words_changed or _frozen(key) not in old:  # entries carry the words text: rewrite when it moved
                items.append(self._put(layout.entry_item(key)))
                labels.append(None)
        for key in layout.tags:
            if _frozen(key) not in old:
                items.append(self._put(layout.entry_item(key)))
                labels.append(None)
        gone = [key for frozen, key in old.items() if frozen not in new]
        # Released claims go now (the number is free for another contact at once); retired entries as room allows.
        gone.sort(key=lambda k: not k["pk"]["S"].startswith(("phone#", "email#")))
        room = MAX_TRANSACTION - len(items)
        retiring = gone[room:]
        for key in gone[:room]:
            items.append(self._delete(key))
            labels.append(None)
        items[0] = self._put(
            layout.contact_item(retiring),
            "version = :expected",
            ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        try:
            await dynamo.transact_write(await self._client(), items)
        except dynamo.TransactionRefused as refused:
            if refused.failed(0):
                if refused.old_item(0) is None:
                    raise NotFound(f"{contact.name} does not exist") from None
                raise _stale(contact.name) from None
            raise _conflict(contact, _first_failed(refused, labels), "contact") from None
        if retiring:
            await self._tidy(contact, layout, retiring)

    async def _tidy(self, contact: Contact, layout: _Layout, retiring: list[dict[str, Any]]) -> None:
        """Deletes entries a write retired but could not fit in its transaction, then forgets them, unless the
        contact changed meanwhile (the later write then owns them: it deletes them or leaves them to its own
        tidy). A failure leaves them owned and harmless: every read checks entries against the contact."""
        client = await self._client()
        try:
            await dynamo.batch_delete(client, self._table, retiring)
            await client.update_item(
                TableName=self._table,
                Key=_contact_key(contact.id),
                UpdateExpression="SET #owned = :owned",
                ConditionExpression="version = :version",
                ExpressionAttributeNames={"#owned": "owned"},
                ExpressionAttributeValues={
                    ":owned": {"L": [{"M": k} for k in layout.owned()]},
                    ":version": {"N": str(contact.version)},
                },
            )
        except (ClientError, BotoCoreError, RuntimeError) as exc:
            # The write itself is done; what is left stays owned and is deleted by the next write or delete.
            if not dynamo.condition_refused(exc):
                log.warning("retired entries of %s left for later: %s", contact.name, exc)

    async def delete(self, contact_id: str, expected_version: int | None = None) -> Contact | None:
        for _ in range(5):
            current = await self._read(contact_id)
            if current is None:
                return None
            version = int(current["version"]["N"])
            if expected_version is not None and version != expected_version:
                raise Aborted(f"contacts/{contact_id} changed meanwhile; read it again", reason="ETAG_MISMATCH")
            if len(_owned_keys(current)) >= MAX_TRANSACTION:  # entries an interrupted tidy left: delete them first
                contact = self._decode(current)
                layout = _Layout(contact)
                mine = {_frozen(k) for k in layout.owned()}
                await self._tidy(contact, layout, [k for k in _owned_keys(current) if _frozen(k) not in mine])
                continue
            items = [
                self._delete(
                    _contact_key(contact_id),
                    ConditionExpression="version = :read",
                    ExpressionAttributeValues={":read": {"N": str(version)}},
                )
            ]
            items += [self._delete(k) for k in _owned_keys(current)]
            try:
                await dynamo.transact_write(await self._client(), items)
            except dynamo.TransactionRefused:
                continue  # changed or removed since the read: read again
            return self._decode(current)
        raise Aborted(f"contacts/{contact_id} keeps changing; retry", reason="CONCURRENT_UPDATES")

    async def list(self, after_id: str | None, limit: int) -> list[Contact]:
        if limit <= 0:
            return []
        page = min(limit, -(-limit // LIST_SHARDS) + 2)
        requests = []
        for shard in range(LIST_SHARDS):
            request: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": LIST_INDEX,
                "KeyConditionExpression": "gsi1pk = :shard" + (" AND gsi1sk > :after" if after_id else ""),
                "ExpressionAttributeValues": {":shard": {"S": f"contacts#{shard}"}},
                "Limit": page,
            }
            if after_id:
                request["ExpressionAttributeValues"][":after"] = {"S": after_id}
            requests.append(request)
        items = await dynamo.merged_query(await self._client(), requests, "gsi1sk", limit)
        return [self._decode(item) for item in items]

    async def list_tagged(
        self, tags: tuple[str, ...], after_id: str | None, limit: int
    ) -> tuple[list[Contact], str | None]:
        """The first tag's entries (its shards merged in id order), then the contacts they lead to, kept when they
        carry every tag: at most TAG_READS rounds of reads a call."""
        if not tags or limit <= 0:
            return [], None
        client = await self._client()
        found: list[Contact] = []
        cursor = after_id
        for _ in range(TAG_READS):
            want = min(limit - len(found), 1000)
            requests = []
            for shard in range(TAG_SHARDS):
                request: dict[str, Any] = {
                    "TableName": self._table,
                    "KeyConditionExpression": "pk = :pk" + (" AND sk > :after" if cursor else ""),
                    "ExpressionAttributeValues": {":pk": {"S": f"tag#{tags[0]}#{shard}"}},
                    "ProjectionExpression": "sk",
                    "ConsistentRead": True,
                    "Limit": min(want, -(-want // TAG_SHARDS) + 2),
                }
                if cursor:
                    request["ExpressionAttributeValues"][":after"] = {"S": cursor}
                requests.append(request)
            entries = await dynamo.merged_query(client, requests, "sk", want)
            ids = [e["sk"]["S"] for e in entries]
            wanted = set(tags)
            found += [c for c in await self._contacts(ids) if wanted <= set(c.tags)]
            if len(entries) < want:
                return found, None  # the index has no more
            cursor = ids[-1]
            if len(found) >= limit:
                break
        return found, cursor

    async def _claimed(self, key: dict[str, Any], matches) -> Contact | None:
        client = await self._client()
        claim = (await client.get_item(TableName=self._table, Key=key, ConsistentRead=True)).get("Item")
        if claim is None:
            return None
        contact = await self.get(claim["contact_id"]["S"])
        # Claim and contact are read one after the other: a contact that moved off the claim meanwhile is not it.
        return contact if contact is not None and matches(contact) else None

    async def find_by_phone(self, phone_number: str) -> Contact | None:
        if not phone_number:
            return None
        return await self._claimed(_key(f"phone#{phone_number}", "claim"), lambda c: c.phone_number == phone_number)

    async def find_by_email(self, email: str) -> Contact | None:
        key = email.strip().lower()
        if not key:
            return None
        return await self._claimed(_key(f"email#{key}", "claim"), lambda c: c.email_key == key)

    async def by_name_prefix(self, prefix: str, limit: int) -> list[Contact]:
        if not prefix or SEP in prefix or limit <= 0:
            return []
        short = dynamo.truncate_utf8(prefix, NAME_KEY_BYTES)
        request: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": f"name#{prefix[0]}"}, ":prefix": {"S": short}},
        }
        if short != prefix:
            request["FilterExpression"] = "begins_with(name_key, :full)"
            request["ExpressionAttributeValues"][":full"] = {"S": prefix}
        ids = await self._entries(request, limit)
        return [c for c in await self._contacts(ids) if c.name_key.startswith(prefix)]

    async def by_words(self, words: tuple[str, ...], limit: int) -> list[Contact]:
        words = tuple(w for w in dict.fromkeys(words) if w)
        if not words or limit <= 0 or any(SEP in w or " " in w for w in words):
            return []
        lead = max(words, key=len)
        short = dynamo.truncate_utf8(lead, WORD_KEY_BYTES)
        values: dict[str, Any] = {":pk": {"S": f"word#{lead[0]}"}, ":lead": {"S": short}}
        checks = []
        for i, word in enumerate(w for w in words if w != lead or short != lead):
            values[f":w{i}"] = {"S": " " + word}
            checks.append(f"contains(words, :w{i})")
        request: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :lead)",
            "ExpressionAttributeValues": values,
        }
        if checks:
            request["FilterExpression"] = " AND ".join(checks)
        ids = await self._entries(request, limit)
        # Entries and contacts are read one after the other: check the words again on what was read.
        found = []
        for contact in await self._contacts(ids):
            text = "".join(" " + w for w in contact.search_words())
            if all(" " + w in text for w in words):
                found.append(contact)
        return found

    async def _entries(self, request: dict[str, Any], limit: int) -> list[str]:
        """Contact ids from a query of name or word entries, in key order, each once, at most `limit`."""
        client = await self._client()
        # Limit counts entries before the filter: read whole pages when a filter may drop most of them.
        page = SEARCH_PAGE if "FilterExpression" in request else min(limit + 10, SEARCH_PAGE)
        request = {"TableName": self._table, "ConsistentRead": True, "Limit": page, **request}
        ids: dict[str, None] = {}
        for _ in range(SEARCH_READS):
            response = await client.query(**request)
            for item in response.get("Items", []):
                ids.setdefault(item["contact_id"]["S"], None)
                if len(ids) == limit:
                    return list(ids)
            start = response.get("LastEvaluatedKey")
            if not start:
                return list(ids)
            request["ExclusiveStartKey"] = start
        log.info(
            "search stopped after %d reads with %d of %d results",
            SEARCH_READS,
            len(ids),
            limit,
            extra={"key_condition": request["KeyConditionExpression"]},
        )
        return list(ids)

    async def _contacts(self, ids: list[str]) -> list[Contact]:
        """The contacts for ids, in the order of ids (one that is gone meanwhile is left out)."""
        if not ids:
            return []
        items = await dynamo.batch_get(await self._client(), self._table, [_contact_key(i) for i in ids])
        found = {c.id: c for c in (self._decode(item) for item in items)}
        return [found[i] for i in ids if i in found]

    async def ping(self) -> None:
        client = await self._client()
        await client.get_item(TableName=self._table, Key=_key("ping", "ping"))

    async def close(self) -> None:
        """Nothing of its own: the DynamoDB client belongs to AwsClients, closed with the process."""


def _stale(name: str) -> Aborted:
    return Aborted(f"{name} changed meanwhile; read it again and reapply the change", reason="ETAG_MISMATCH")


def _groups(contacts: list[Contact]) -> list[list[int]]:
    """Indexes of contacts linked by a shared id, number or address (union-find), each group in input order."""
    parent = list(range(len(contacts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[str, str], int] = {}
    for i, c in enumerate(contacts):
        for key in (("id", c.id), ("phone", c.phone_number), ("email", c.email_key)):
            if not key[1]:
                continue
            if key in first:
                parent[root(i)] = root(first[key])
            else:
                first[key] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(contacts)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())
