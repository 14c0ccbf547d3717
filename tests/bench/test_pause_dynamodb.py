"""PauseJob on the DynamoDB path at a small size (bench/pause_dynamodb.py, the drill `make bench pause` runs on
1,000,000 recipients): a stack on the embedded AWS, a seeded 200-recipient contacts job in chunks of 100, paused
once 30 of its sends are in the sandbox log. After the pause no send starts later than the pause's promise (a
second after PauseJob answers, services/bulk/jobs.py) allows, with room for a loaded machine; every recipient of
every chunk a worker touched is sent (messaging and the sandbox log agree, once), withdrawn, or never handed, none
in two states or none, and bulk's counters agree; ResumeJob sends again, and the job completes with every
recipient sent exactly once. On moto (one DynamoDB request at a time) this takes about two minutes."""

from __future__ import annotations

from collections import Counter

import pytest

from bench import job_seed
from bench.pause_dynamodb import add_rows, drill
from bench.report import Report

pytestmark = pytest.mark.process

SIZE, CHUNK, PAUSE_AFTER = 200, 100, 30
LATE = 3.0  # seconds after PauseJob answered: the promise is one, the rest is room for a loaded machine


@pytest.mark.timeout(600)
async def test_pause_and_resume_a_seeded_job_on_dynamodb(tmp_path):
    f = await drill(
        tmp_path, SIZE, lambda _: None, finish=True, env={"WECARE_BULK_CHUNK_SIZE": str(CHUNK)}, pause_after=PAUSE_AFTER
    )

    assert (f["seed"].recipients, f["seed"].chunks) == (SIZE, SIZE // CHUNK)
    assert f["sent_before"] >= PAUSE_AFTER
    assert f["answer_to_last_s"] <= LATE, f"a send {f['answer_to_last_s']:.2f}s after PauseJob answered"
    paused = f["paused"]
    assert paused.wrong == [] and paused.duplicates == 0
    states = paused.states
    assert states["sent"] + states["sent, bulk told on resume"] == f["sent_before"] + f["sent_after"]
    assert paused.counts["sent"] == states["sent"]  # bulk's counters: the outcomes it recorded
    assert paused.counts["total"] == SIZE and paused.counts["pending"] == SIZE - paused.counts["sent"]
    assert states["withdrawn"] + states["never handed"] > 0  # the pause came with the job unsent

    assert f["final_state"] == "JOB_STATE_COMPLETED"
    ended = f["ended"]
    assert ended.wrong == [] and ended.duplicates == 0
    assert ended.states["sent"] == SIZE == ended.counts["sent"]
    sent = Counter(address for _, address in f["sends"])
    assert set(sent) == {job_seed.address(i) for i in range(SIZE)} and max(sent.values()) == 1

    report = Report()
    add_rows(report, f, SIZE)  # the bench's rows are made from these figures
    assert len(report.rows) == 7
    assert all("every recipient in one state held" in report.rows[i][4] for i in (2, 3))  # at the pause, at the end
    window = f["resume_window"]  # the AWS requests between ResumeJob and its first send, from the traces
    assert window[("bulk", "DynamoDB", "UpdateItem")] > 0 and window[("bulk", "SQS", "SendMessageBatch")] > 0
    assert "DynamoDB requests in" in report.rows[5][1]
