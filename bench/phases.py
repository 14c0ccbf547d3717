"""A py-spy profile (raw format: `frame;frame;... count` a line, outermost frame first, each frame
`function (file:line)`) grouped by the phase of a send each sample belongs to.

A sample's phase: `waiting` when its innermost frame is a thread waiting (py-spy's idle test misses a futex wait
in a pool thread or a select that has just returned: they are not CPU and are left out of the shares), then
`spans, metrics, logs` when any frame is tracing, metrics or logging (a span started inside a provider call is
the span's cost, not the SDK's), otherwise the first rule matching a frame from the innermost outwards, and
`event loop, grpc, threads` when none does. The rules match function and class names (and a few library paths),
not module paths, so that they survive messaging's modules moving; they were written against today's stacks
and should be read again when the code changes (the `unattributed` leaves of a summary show what they miss)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

WAITING = "waiting (not CPU)"
OBSERVABILITY = "spans, metrics, logs"
LOOP = "event loop, grpc, threads"

_WAIT_LEAVES = re.compile(
    r"^(\S*select|_worker|Condition\.wait|Event\.wait|Thread\.join|_wait_for_tstate_lock|Queue\.get|SimpleQueue\.get)"
    r" \(.*(selectors\.py|concurrent/futures/thread\.py|threading\.py|queue\.py)"
)
_OBSERVABILITY = re.compile(
    r"opentelemetry/|prometheus_client/|/logging/|runtime/(tracing|metrics|logs)\.py|"
    r"^(\w+\.)?(_send_span|_start_span|_end_span)\b"
)

# Per process kind: (phase, pattern on one frame), tried in order on each frame from the innermost outwards.
RULES: dict[str, list[tuple[str, re.Pattern]]] = {
    "messaging": [
        ("result record", re.compile(r"\b(record_results|Results\.\w+)\b")),
        ("hand-off (queue read, mark)", re.compile(r"\b(hand_off|HandOff\.\w+|_refill)\b|SendQueue\.queued\b")),
        (
            "ingest (status events)",
            re.compile(
                r"\b(IngestEvents|apply_status(es)?|StatusBatch\.\w+|parse_event|seen_events|commit_events|"
                r"\w*FeedReader\.\w+|Ingest\w*)\b|/inbound/"
            ),
        ),
        (
            "durable accept (stream in, checks, store, progress)",
            re.compile(
                r"\b(SendMessages|prepare_many|send_many|_store_and_notify|note_outbound|consent_key|_recipient|"
                r"progress_to_proto|batch_changes|last_inbound_many|inbound_count|suppressed_many|"
                r"(Acceptance|Sends|Tracker)\.\w+)\b|Store\.accept\b"
            ),
        ),
        (
            "provider call (SDK, HTTP client)",
            re.compile(r"\bWhatsAppProvider\.|botocore/|aiohttp/client|aiohappyeyeballs/"),
        ),
        # A write's BEGIN IMMEDIATE and COMMIT run after its function has returned: the stack no longer says
        # whose write it was.
        ("store commits (any write)", re.compile(r"SqliteDatabase\.write\.<locals>\.run\b")),
        (
            "dispatch scheduling",
            re.compile(
                r"\b(Dispatcher|Scheduler|Caller|CallGate|CallWindow|PairGuard|SenderRate|SenderLane|AccountBudgets|MediaIds|Housekeeping)\."
            ),
        ),
        ("coordination", re.compile(r"coordination|\b(Leases|SenderMarks)\.|update_document")),
    ],
    "sandbox": [
        ("status events out (IngestEvents client)", re.compile(r"\bEventSink\.run\b|/grpc/|/grpc_")),
        ("status events made", re.compile(r"\b(status_event|_envelope|EventSink\.schedule)\b")),
        ("sandbox log write", re.compile(r"\bLogWriter\.|\bCall\.line\b")),
        ("send handler (checks, answer)", re.compile(r"\bSandbox\.|check_meta_message|_rest\.")),
        ("HTTP server (aiohttp)", re.compile(r"aiohttp/")),
    ],
    "client": [
        ("stream send (grpc, protobuf)", re.compile(r"\bstream_send\b|/grpc/|_pb2")),
    ],
    "contacts": [
        ("contacts lookups", re.compile(r"\bContactsServicer\.|services/contacts/")),
    ],
}


PROVIDER = "provider call (SDK, HTTP client)"
# The provider call's parts (the SDK's per-call work is issue 13's second target), innermost match first.
PROVIDER_PARTS: list[tuple[str, re.Pattern]] = [
    ("endpoint resolution", re.compile(r"regions\.py|endpoint_provider|_resolve_endpoint")),
    ("signing", re.compile(r"\bauth\.py|signers\.py|credentials\.py|hmac\.py")),
    ("User-Agent", re.compile(r"useragent\.py")),
    ("parameter validation, serialisation", re.compile(r"validate\.py|serialize\.py|\bencode\b|message_object")),
    ("response parsing", re.compile(r"parsers\.py|_do_get_response|StreamingBody|\.read\b")),
    ("hooks and their emitter", re.compile(r"hooks\.py|handlers\.py")),
    ("request object, headers, invocation id", re.compile(r"uuid\.py|awsrequest\.py|/email/")),
    ("HTTP (aiohttp client, connections, socket)", re.compile(r"aiohttp/|aiohappyeyeballs/|httpsession\.py|asyncio/")),
    ("SDK call plumbing", re.compile(r"botocore/")),
]


@dataclass
class Summary:
    samples: int = 0  # every sample but waiting
    waiting: int = 0
    phases: Counter = field(default_factory=Counter)
    leaves: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    provider_parts: Counter = field(default_factory=Counter)

    def shares(self) -> list[tuple[str, int, float]]:
        return [(p, n, n / self.samples if self.samples else 0.0) for p, n in self.phases.most_common()]


def kind_of(name: str) -> str:
    """messaging-2 -> messaging: every messaging process takes messaging's rules."""
    return name.split("-")[0]


def phase_of(frames: list[str], kind: str) -> str:
    if frames and _WAIT_LEAVES.match(frames[-1]):
        return WAITING
    if any(_OBSERVABILITY.search(f) for f in frames):
        return OBSERVABILITY
    for frame in reversed(frames):
        for phase, pattern in RULES.get(kind, []):
            if pattern.search(frame):
                return phase
    return LOOP


def leaf(frame: str) -> str:
    """`function (file:line)` -> `function (file)` with the file's last two parts."""
    m = re.match(r"^(.*) \((.*?)(?::\d+)?\)$", frame)
    if not m:
        return frame
    parts = m.group(2).split("/")
    return f"{m.group(1)} ({'/'.join(parts[-2:])})"


def summarise(lines, kind: str) -> Summary:
    out = Summary()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames, n = stack.split(";"), int(count)
        phase = phase_of(frames, kind)
        if phase == WAITING:
            out.waiting += n
            continue
        out.samples += n
        out.phases[phase] += n
        out.leaves[phase][leaf(frames[-1])] += n
        if phase == PROVIDER:
            out.provider_parts[part_of(frames)] += n
    return out


def part_of(frames: list[str]) -> str:
    """Which part of a provider call a sample is in: the innermost frame a part's rule knows."""
    for frame in reversed(frames):
        for part, pattern in PROVIDER_PARTS:
            if pattern.search(frame):
                return part
    return "our call around it"


def summarise_file(path: Path, kind: str) -> Summary:
    with open(path, encoding="utf-8", errors="replace") as f:
        return summarise(f, kind)


def markdown(name: str, s: Summary, cpu_us: float | None = None, top: int = 3) -> str:
    """One process's phases, largest first, each with its share, its µs per send when the process's CPU per
    send is given (the share of that: py-spy samples a running or runnable thread, so shares are of its busy
    time, an approximation of CPU), and its top leaf functions."""
    head = f"**{name}**: {s.samples:,} samples ({s.waiting:,} waiting left out)"
    if cpu_us is not None:
        head += f", {cpu_us:,.0f} µs CPU per send"
    columns = ("phase", "samples", "share", "µs per send", "top leaf functions (samples)")
    lines = [head, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for phase, n, share in s.shares():
        leaves = ", ".join(f"{fn} {k}" for fn, k in s.leaves[phase].most_common(top))
        per_send = f"{share * cpu_us:,.0f}" if cpu_us is not None else "-"
        lines.append(f"| {phase} | {n:,} | {share:.0%} | {per_send} | {leaves} |")
    if s.provider_parts:
        lines += ["", f"{name}'s provider call by part:", "", "| part | samples | share of the call | µs per send |"]
        lines.append("|---|---|---|---|")
        total = sum(s.provider_parts.values())
        for part, n in s.provider_parts.most_common():
            per_send = f"{n / s.samples * cpu_us:,.0f}" if cpu_us is not None else "-"
            lines.append(f"| {part} | {n:,} | {n / total:.0%} | {per_send} |")
    return "\n".join(lines)
