"""`python -m services.contacts.reindex`: writes every contact again as it is, so the store's indexes hold each
one. Run once on a DynamoDB ContactsTable written before the tag index (tag entries come with every write since);
the SQLite store fills its tag table by itself when it opens the file. Safe while the service runs: a contact
that changes meanwhile was indexed by that change, and is left alone. Progress goes to the log."""

from __future__ import annotations

import asyncio
import logging

from runtime.aws import AwsClients
from runtime.errors import Aborted, NotFound
from runtime.logs import setup_logging
from runtime.settings import Settings
from services.contacts.adapters.store import ContactStore
from services.contacts.main import contact_store

log = logging.getLogger("wecare.contacts.reindex")
PAGE = 500


async def reindex(store: ContactStore) -> int:
    """Every contact replaced by itself (same version): the entries a store derives from it are put again."""
    done, after = 0, None
    while page := await store.list(after, PAGE):
        for contact in page:
            try:
                await store.replace(contact, contact.version)
            except (Aborted, NotFound):
                pass  # changed or gone meanwhile: that write kept the indexes
            done += 1
        after = page[-1].id
        log.info("reindexed", extra={"contacts": done, "last": after})
    return done


async def run() -> int:
    settings = Settings.from_env()
    setup_logging("contacts-reindex", settings.log_level)
    aws = AwsClients(settings, owner="contacts-reindex")
    store = contact_store(settings, aws)
    try:
        return await reindex(store)
    finally:
        await store.close()
        await aws.close()


if __name__ == "__main__":
    print(f"reindexed {asyncio.run(run())} contacts")
