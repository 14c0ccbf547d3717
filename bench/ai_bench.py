"""The ai section. First the answers' quality on the knowledge-base fixture (bench/ai_eval.py): top-1 and top-3
passage recall, correct answers and refusals on the development and the held-out half, with the threshold
chosen on the development half, and the time per question. Then the local provider over a synthetic knowledge
base of 10,000 passages: index build time (every sentence encoded, then again after a restart, when the vectors
stored in DocsTable are read instead; only the first run on a machine encodes, and keeps the vectors in
.cache/bench-ai/ for the next runs, which report its figures with their date: bench/vector_cache.py),
QueryKnowledgeBase latency (p50/p99, the assistant's whole path: retrieval, extraction, redaction, the session
write to SQLite; target p99 < 50 ms) and the time to the first streamed piece of a suggested reply.

Measured in process, over private SQLite DocsTables in temporary folders, so the figures are the service's
own cost without the network and interceptors in front of it (which the contacts section measures). The
section takes the `stack` argument of the harness but does not need it. About a minute on 2 cores (2-4 minutes
the first time on a machine, most of it encoding the 10,000 passages' sentences); CPU-bound, so other work on
the machine shows in the figures (the load average is printed beside them, and CPU time, which is steadier)."""

from __future__ import annotations

import os
import random
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from spellchecker import SpellChecker

from bench import ai_eval, vector_cache
from bench.load import Measurement, sequential
from bench.report import Report
from localrun.procs import ROOT
from runtime import ids
from runtime.settings import Settings
from services.ai.adapters.local.dense import UNITS
from services.ai.adapters.local.minilm import MiniLmEncoder
from services.ai.adapters.local.provider import LocalProvider
from services.ai.adapters.sqlite_store import SqliteDocsStore
from services.ai.assistant import Assistant, SessionPolicy, SuggestionPiece
from services.ai.domain import documents
from services.ai.domain.conversations import ContactCard, Conversation, ConversationMessage, Direction
from services.ai.domain.documents import ContentType, DocumentInput

PASSAGES = 10_000
PASSAGES_PER_DOCUMENT = 20
QUERIES = 400
REPLIES = 50
SEED = 5
# A care company's vocabulary, plus rarer words (vocabulary()) so the index has a realistic long tail.
COMMON = (
    "plan visit caregiver doctor consultation refund payment billing cancel reschedule booking home medicine "
    "delivery order pharmacy prescription senior family basic annual monthly grace period charge fee credit "
    "support whatsapp message stop start hours weekend sunday saturday city pin code hub surcharge nurse "
    "report record privacy delete data employee company invoice quota specialist language video call reminder"
).split()
FILLER = "the a of to and for in on with your you we our is are can be will within after before".split()


def vocabulary(rng: random.Random) -> list[str]:
    """The care company's words and a long tail of 6,000 real English words (pyspellchecker's list): a knowledge
    base is written in words, and the encoder's cost follows how many pieces its tokenizer cuts them into."""
    english = sorted(
        w for w, count in SpellChecker(language="en").word_frequency.items() if w.isalpha() and 5 <= len(w) <= 12
    )
    return COMMON + rng.sample(english, 6_000)


def sentence(rng: random.Random, words: list[str]) -> str:
    picked = [rng.choice(COMMON) if rng.random() < 0.5 else rng.choice(words) for _ in range(rng.randint(6, 14))]
    mixed = [w if rng.random() < 0.7 else f"{rng.choice(FILLER)} {w}" for w in picked]
    return " ".join(mixed).capitalize() + f" within {rng.randint(1, 60)} days."


def synthetic_documents(rng: random.Random, words: list[str]) -> list[str]:
    out = []
    for d in range(PASSAGES // PASSAGES_PER_DOCUMENT):
        parts = [f"# Document {d} about {rng.choice(COMMON)}"]
        for p in range(PASSAGES_PER_DOCUMENT):
            heading = f"{rng.choice(COMMON).capitalize()} {rng.choice(words)} {p}"
            body = " ".join(sentence(rng, words) for _ in range(rng.randint(2, 5)))
            parts.append(f"## {heading}\n\n{body}")
        out.append("\n\n".join(parts))
    return out


def typo(rng: random.Random, word: str) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def questions(rng: random.Random, texts: list[str]) -> list[str]:
    """Questions made of words from one random passage, written loosely (a fifth of the words with a typo);
    a quarter are about nothing in the base."""
    out = []
    for _ in range(QUERIES):
        if rng.random() < 0.25:
            out.append(f"do u have {rng.choice(['referral bonus', 'dog walking', 'emi option', 'thyroid test'])}?")
            continue
        passage = rng.choice(rng.choice(texts).split("\n## ")[1:])
        words = [w.strip(".#").lower() for w in passage.split() if len(w) > 3]
        picked = [typo(rng, w) if rng.random() < 0.2 else w for w in rng.sample(words, min(6, len(words)))]
        out.append("hi " + " ".join(picked) + " kitna??")
    return out


class OneConversation:
    """The conversation port for the benchmark: one customer who wrote a minute ago."""

    def __init__(self, text: str):
        self._conversation = Conversation(
            (ConversationMessage(Direction.INBOUND, text, time.time() - 60),), time.time() - 60
        )

    async def recent(self, contact, limit=20):
        return self._conversation


class OneContact:
    async def get(self, name):
        return ContactCard(name, "Asha Verma", "+919812345678", "asha@example.com")


async def quality(report: Report) -> None:
    report.progress("ai: the knowledge-base fixture's questions, both halves")
    halves = ai_eval.by_half(await ai_eval.ask_all(min_confidence=0.0))
    threshold = ai_eval.choose_threshold(halves["dev"])
    default = Settings().ai_min_confidence
    for half, name in (("dev", "development half"), ("heldout", "held-out half")):
        s = ai_eval.score([o.at(threshold) for o in halves[half]])
        report.add(
            f"ai: fixture, {name} ({s.questions} questions): top-1 / top-3 recall / correct / refusals",
            f"{s.top1:.2f} / {s.top3:.2f} / {s.correct:.2f} / {s.refusals:.2f}",
            latency=f"{s.p50_ms:.2f} / {s.p99_ms:.2f}",
            verdict="" if half == "dev" else _verdict(s),
        )
    report.note(
        f"ai: refusal threshold chosen on the development half: {threshold} "
        f"(WECARE_AI_MIN_CONFIDENCE default {default}); the held-out half is only scored"
    )


def _verdict(s: ai_eval.Scores) -> str:
    missed = [
        name
        for name, value, target in (("top-3", s.top3, 0.9), ("correct", s.correct, 0.8), ("refusals", s.refusals, 0.95))
        if value < target
    ]
    return "targets 0.9 / 0.8 / 0.95 " + (f"MISSED ({', '.join(missed)})" if missed else "met")


async def first_build(store: SqliteDocsStore, report: Report) -> vector_cache.FirstBuild:
    """The first index build over the stored passages: every sentence encoded (and its vectors stored)."""
    report.progress(f"ai: indexing {PASSAGES:,} passages (every sentence encoded)")
    load = os.getloadavg()[0]
    cpu, began = time.process_time(), time.perf_counter()
    index = await LocalProvider(store, Settings().ai_min_confidence).index()
    return vector_cache.FirstBuild(
        seconds=round(time.perf_counter() - began, 1),
        cpu_seconds=round(time.process_time() - cpu, 1),
        passages=len(index),
        sentences=len(index.dense),
        load=round(load, 1),
        cores=os.cpu_count() or 1,
        measured=datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
    )


async def run(stack, report: Report) -> None:
    await quality(report)
    rng = random.Random(SEED)
    words = vocabulary(rng)
    with tempfile.TemporaryDirectory(prefix="wecare-ai-bench-") as tmp:
        store = SqliteDocsStore(Path(tmp) / "DocsTable.sqlite3")
        try:
            report.progress(f"ai: writing {PASSAGES:,} passages")
            texts = synthetic_documents(rng, words)
            for text in texts:
                document = documents.new_document(
                    ids.new_id(), DocumentInput("", text, ContentType.MARKDOWN), time.time(), "bench"
                )
                await store.create_document(document)
            cache = vector_cache.path_for(texts)
            cached = vector_cache.load(cache)
            if cached is None:
                first = await first_build(store, report)
            else:
                key, vectors, first = cached
                await store.put_passage_vectors(key, vectors)
            where = cache.relative_to(ROOT)
            report.add(
                f"ai: local index build, first ({first.passages:,} passages, {first.sentences:,} sentences encoded)",
                f"{first.seconds:.1f} s",
                verdict=f"{first.cpu_seconds:.0f} s of CPU; load average {first.load:.1f} on {first.cores} cores"
                + (
                    f"; measured by this run, its vectors kept in {where} for the next runs"
                    if cached is None
                    else f"; measured on this machine's first run ({first.measured} UTC), its vectors kept in {where}"
                    " (this run read them; delete the folder to measure again)"
                ),
            )
            # A restart: a new process loads the encoder, and its provider reads the stored vectors (no encoding).
            cpu, began = time.process_time(), time.perf_counter()
            encoder = MiniLmEncoder()
            provider = LocalProvider(store, Settings().ai_min_confidence, encoder)
            index = await provider.index()
            restart, restart_cpu = time.perf_counter() - began, time.process_time() - cpu
            key = f"{encoder.key}/{UNITS}"
            stored = await store.passage_vector_ids(key)
            report.add(
                f"ai: local index build after a restart ({len(index):,} passages, vectors read from DocsTable)",
                f"{restart:.1f} s",
                verdict=f"{restart_cpu:.1f} s of CPU, loading the encoder included",
            )
            if len(stored) != len(index):
                report.note(f"ai: only {len(stored):,} of {len(index):,} passages had stored vectors under {key}")
            if cached is not None and cached[0] != key:
                # Another encoder's vectors: the build above encoded every sentence, so it was this machine's
                # first build for this encoder, and the cache is made again from it.
                report.note(f"ai: the cached vectors were {cached[0]}'s, not {key}'s: the restart row encoded them all")
                first = replace(first, seconds=round(restart, 1), cpu_seconds=round(restart_cpu, 1))
            if cached is None or cached[0] != key:
                vector_cache.save(cache, key, await store.passage_vectors(key, stored), first)

            assistant = Assistant(store, provider, None, None, SessionPolicy())
            asked = questions(rng, texts)
            answered = [0]

            async def query(i: int) -> None:
                answer, _ = await assistant.query(f"bench-{i % 7}", asked[i], None, 3)
                answered[0] += answer.answered

            report.progress(f"ai: {QUERIES} questions")
            load, cpu = os.getloadavg()[0], time.process_time()
            measured = await sequential(query, QUERIES)
            per_query = (time.process_time() - cpu) / QUERIES * 1000
            report.latency_row(f"ai: QueryKnowledgeBase, local, {len(index):,} passages", measured, target_p99_ms=50)
            report.note(
                f"ai: {answered[0]} of {QUERIES} synthetic questions answered (3 in 4 are drawn from a passage); "
                f"{per_query:.1f} ms of CPU a question on average; load average {load:.1f} on {os.cpu_count()} cores"
            )

            firsts: list[float] = []
            whole: list[float] = []
            for i in range(REPLIES):
                replying = Assistant(store, provider, OneContact(), OneConversation(asked[i]), SessionPolicy())
                began = time.perf_counter()
                first = None
                async for event in replying.suggest("bench-op", "contacts/01J0000000000000000000000A", None, ""):
                    if first is None and isinstance(event, SuggestionPiece):
                        first = time.perf_counter() - began
                firsts.append((first or 0.0) * 1000)
                whole.append((time.perf_counter() - began) * 1000)
            ttft = Measurement(REPLIES, sum(whole) / 1000, firsts)
            report.add(
                "ai: GenerateResponse, local: time to first streamed piece",
                f"{ttft.percentile(50):.2f} ms (p50)",
                latency=f"{ttft.percentile(50):.2f} / {ttft.percentile(99):.2f}",
            )
        finally:
            await store.close()


async def _alone() -> None:
    report = Report()
    await run(None, report)
    print(report.markdown())


if __name__ == "__main__":
    import asyncio

    asyncio.run(_alone())
