"""Issue 2's figures: a bare grpc.aio baseline, GetContact and CreateContact over gRPC, GetContact over the
gateway, and search latency at 100,000 contacts — all against the stack as `make run` starts it."""

from __future__ import annotations

import random
import sys
import time

import aiohttp
import grpc

from bench.baseline_server import METHOD
from bench.load import Measurement, closed_loop, sequential
from bench.report import Report
from localrun.procs import free_port, start_python, stop
from wecare.contacts.v1 import contacts_service_pb2 as pb
from wecare.contacts.v1 import contacts_service_pb2_grpc as pb_grpc

CONCURRENCY = 16
SECONDS = 3.0  # one closed-loop run (thousands of calls); the median of REPEATS runs is reported
REPEATS = 3
SEARCH_CONTACTS = 100_000
SEARCHES = 2_000
FIRST = [
    "Asha",
    "Ravi",
    "Priya",
    "Amit",
    "Sunita",
    "Vikram",
    "Neha",
    "Rahul",
    "Kavita",
    "Arjun",
    "Meera",
    "Sanjay",
    "Pooja",
    "Rohan",
    "Anita",
    "Deepak",
    "Lakshmi",
    "Imran",
    "Fatima",
    "John",
    "Maria",
    "Chen",
    "Wei",
    "Émile",
]
LAST = [
    "Verma",
    "Sharma",
    "Patel",
    "Kumar",
    "Singh",
    "Reddy",
    "Iyer",
    "Khan",
    "Das",
    "Nair",
    "Gupta",
    "Mehta",
    "Rao",
    "Joshi",
    "Bose",
    "Menon",
    "Pillai",
    "Shah",
    "Chopra",
    "Malhotra",
    "D'Souza",
    "Fernandes",
]


async def _rates(call, label: str, report: Report) -> Measurement:
    runs = []
    for _ in range(REPEATS):
        runs.append(await closed_loop(call, CONCURRENCY, SECONDS))
    best = sorted(runs, key=lambda m: m.rate)[len(runs) // 2]  # the median run
    report.progress(f"{label}: " + ", ".join(f"{m.rate:,.0f}/s" for m in runs))
    return best


def _contact(i: int) -> pb.Contact:
    rng = random.Random(i)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return pb.Contact(
        display_name=f"{first} {last}",
        phone_number=f"+9198{i:08d}",
        email=f"{first.lower()}.{last.lower().replace(chr(39), '')}.{i}@example.com",
        tags=[rng.choice(["vip", "north", "south", "trial", "corporate"])],
    )


async def run(stack, report: Report) -> None:
    operator = (("authorization", f"Bearer {stack.token('operator')}"),)
    viewer = (("authorization", f"Bearer {stack.token('viewer')}"),)

    # Baseline: a bare grpc.aio server in its own process, the same client and concurrency.
    port = free_port()
    baseline = start_python("bench.baseline_server", {}, None, "--port", str(port))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            echo = channel.unary_unary(METHOD)
            await channel.channel_ready()
            base = await _rates(lambda i: echo(b"x" * 64), "baseline", report)
    finally:
        stop(baseline, timeout=10)
    report.row("baseline: bare grpc.aio unary, no interceptors", base, base)

    async with grpc.aio.insecure_channel(stack.addresses["contacts"]) as channel:
        contacts = pb_grpc.ContactsServiceStub(channel)
        seed = await contacts.CreateContact(pb.CreateContactRequest(contact=_contact(10_000_000)), metadata=operator)
        get = await _rates(
            lambda i: contacts.GetContact(pb.GetContactRequest(name=seed.name), metadata=viewer), "GetContact", report
        )
        report.row("GetContact over gRPC (auth, audit chain, SQLite)", get, base, target=0.5)
        offset = [20_000_000]

        def create(i: int):
            offset[0] += 1
            return contacts.CreateContact(pb.CreateContactRequest(contact=_contact(offset[0])), metadata=operator)

        made = await _rates(create, "CreateContact", report)
        report.row("CreateContact over gRPC (durable write + audit record)", made, base)

        gateway = f"http://{stack.addresses['gateway']}/v1/{seed.name}"
        headers = {"authorization": viewer[0][1]}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as http:

            async def http_get(i: int):
                async with http.get(gateway, headers=headers) as reply:
                    assert reply.status == 200, reply.status
                    await reply.read()

            over_http = await _rates(http_get, "GetContact via gateway", report)
        report.row("GetContact over the gateway (HTTP/JSON -> gRPC)", over_http, base)

        # Search at 100,000 contacts: imported the way a business imports them, 1,000 a call.
        began = time.perf_counter()
        for start in range(0, SEARCH_CONTACTS, 1000):
            batch = [pb.CreateContactRequest(contact=_contact(i)) for i in range(start, start + 1000)]
            result = await contacts.BatchCreateContacts(
                pb.BatchCreateContactsRequest(requests=batch), metadata=operator
            )
            failed = [r.error.message for r in result.results if r.HasField("error")]
            assert not failed, failed[:3]
            if start % 20_000 == 0:
                report.progress(f"imported {start + 1000:,} contacts")
        imported = time.perf_counter() - began
        report.note(
            f"imported {SEARCH_CONTACTS:,} contacts with BatchCreateContacts in {imported:.1f}s "
            f"({SEARCH_CONTACTS / imported:,.0f} contacts/s)"
        )

        rng = random.Random(7)
        queries = []
        for i in range(SEARCHES):
            n = rng.randrange(SEARCH_CONTACTS)
            kind = i % 4
            c = _contact(n)
            queries.append(
                [
                    c.phone_number.replace("+91", "0"),
                    c.email,
                    c.display_name[: rng.randint(2, 6)],
                    c.display_name.split()[-1],
                ][kind]
            )

        def search(i: int):
            return contacts.SearchContacts(pb.SearchContactsRequest(query=queries[i], page_size=20), metadata=viewer)

        latency = await sequential(search, SEARCHES)
        report.latency_row(
            f"SearchContacts at {SEARCH_CONTACTS:,} contacts (sequential, phone/email/prefix/word)",
            latency,
            target_p99_ms=20,
        )


if __name__ == "__main__":
    sys.exit("run `make bench`")
