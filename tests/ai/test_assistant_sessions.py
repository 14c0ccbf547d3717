"""Sessions through the assistant with a controlled clock: kept 30 days after their last use (each use starts
the 30 days again), gone after that, and at most 20 a person (the 21st forgets the oldest)."""

from __future__ import annotations

import pytest

from runtime.errors import FailedPrecondition, NotFound
from services.ai.adapters.local.provider import LocalProvider
from services.ai.adapters.sqlite_store import SqliteDocsStore
from services.ai.assistant import Assistant, SessionPolicy

DAY = 24 * 3600.0


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def assistant(tmp_path):
    store = SqliteDocsStore(tmp_path / "docs.sqlite3")
    clock = Clock(1_718_000_000.0)
    yield Assistant(store, LocalProvider(store, 0.32), None, None, SessionPolicy(30 * DAY, 20), clock), clock
    await store.close()


async def test_a_session_lives_30_days_after_its_last_use(assistant):
    helper, clock = assistant
    _, session = await helper.query("alice", "what does basic cost?", None, 3)
    assert session.expire_time == clock.now + 30 * DAY

    clock.now += 29 * DAY
    _, used = await helper.query("alice", "and family?", session.id, 3)
    assert used.id == session.id and used.expire_time == clock.now + 30 * DAY and len(used.turns) == 4

    clock.now += 29 * DAY  # 58 days after it began, 29 after its last use: still there
    assert (await helper.get_session("alice", session.id)).turns == used.turns

    clock.now += 2 * DAY
    with pytest.raises(NotFound):
        await helper.get_session("alice", session.id)
    with pytest.raises(NotFound):
        await helper.query("alice", "still there?", session.id, 3)
    assert await helper.list_sessions("alice", None, 20) == []


async def test_the_21st_session_forgets_the_oldest(assistant):
    helper, clock = assistant
    started = []
    for i in range(21):
        clock.now += 1
        _, session = await helper.query("bob", f"question {i}", None, 3)
        started.append(session.id)
    assert [s.id for s in await helper.list_sessions("bob", None, 50)] == list(reversed(started[1:]))
    with pytest.raises(NotFound):
        await helper.get_session("bob", started[0])


async def test_suggestions_need_a_conversation_source(assistant):
    helper, _ = assistant
    with pytest.raises(FailedPrecondition) as refused:
        [e async for e in helper.suggest("op", "contacts/01J0000000000000000000000A", None, "")]
    assert refused.value.reason == "CONVERSATIONS_UNAVAILABLE"


def test_a_session_keeps_its_latest_turns_within_one_items_size():
    from services.ai.domain import sessions
    from services.ai.domain.sessions import Speaker, Turn

    session = sessions.start("01J0000000000000000000000S", "alice", "hello", 0.0)
    for i in range(60):  # long answers in Devanagari: 3 bytes a character
        session = sessions.record(session, (Turn(Speaker.ASSISTANT, f"{i} " + "क" * 5000, float(i)),), float(i))
    assert len(session.turns) <= sessions.MAX_TURNS
    assert sum(len(t.text.encode()) for t in session.turns) <= sessions.MAX_SESSION_BYTES
    assert session.turns[-1].text.startswith("59 ") and len(session.turns[-1].text) == sessions.MAX_TURN_CHARS
