"""PauseJob on the DynamoDB path at a small size (bench/pause_dynamodb.py, the same drill as `make bench pause`'s
1,000,000): a stack on the embedded AWS, a seeded 2,000-recipient contacts job in chunks of 100, paused once its
sends flow. After the pause no send starts later than the pause's promise (a second after PauseJob answers,
jobs.py) allows, with room for a loaded machine; every recipient of every chunk a worker touched is sent (bulk,
messaging and the sandbox log agree, once), withdrawn, or never handed, and none is in two states or none;
ResumeJob sends again, and the job completes with every recipient sent exactly once."""

from __future__ import annotations

from collections import Counter

import pytest

from bench import job_seed
from bench.pause_dynamodb import drill

pytestmark = pytest.mark.process

SIZE = 2_000
LATE = 3.0  # seconds after PauseJob answered: the promise is one, the rest is room for a loaded machine


async def test_pause_and_resume_a_seeded_job_on_dynamodb(tmp_path):
    f = await drill(tmp_path, SIZE, progress=lambda _: None, finish=True, env={"WECARE_BULK_CHUNK_SIZE": "100"})

    assert f["seed"].recipients == SIZE and f["seed"].chunks == SIZE // 100
    assert f["sent_before"] >= 40
    assert f["answer_to_last_s"] <= LATE, f"a send {f['answer_to_last_s']:.2f}s after PauseJob answered"
    paused = f["paused"]
    assert paused.wrong == [] and paused.duplicates == 0
    assert paused.states["sent"] == f["sent_before"] + f["sent_after"] == paused.counts["sent"]
    assert paused.states["withdrawn"] + paused.states["never handed"] > 0  # the pause left something to send
    assert paused.counts["total"] == SIZE and paused.counts["pending"] == SIZE - paused.counts["sent"]
    assert paused.touched_chunks < SIZE // 100  # the pause came before every chunk was taken

    assert f["final_state"] == "JOB_STATE_COMPLETED"
    ended = f["ended"]
    assert ended.wrong == [] and ended.duplicates == 0
    assert ended.states["sent"] == SIZE == ended.counts["sent"]
    sent = Counter(address for _, address in f["sends"])
    assert set(sent) == {job_seed.address(i) for i in range(SIZE)} and max(sent.values()) == 1
