"""Invoice numbers across processes: three commerce processes (`python -m services.commerce`, as a pod runs it)
on one SQLite InvoiceTable issue 90 drafts at once, 30 each through their own address: the numbers of the year
are exactly 1..90, each once, and every process reads the same issued invoices. (The DynamoDB side of the same
promise is tests/commerce/test_invoice_store_contract.py's concurrent issuers.)"""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest

from localrun.procs import free_port, start_python, stop
from localrun.stack import grpc_serving
from runtime import ids
from wecare.commerce.v1 import commerce_service_pb2_grpc as pb_grpc
from wecare.commerce.v1 import invoices_pb2 as pb

pytestmark = pytest.mark.process

SERVICE = "wecare.commerce.v1.CommerceService"
PER_PROCESS = 30


async def test_three_processes_issue_consecutive_numbers_without_gaps(stack, tmp_path):
    addresses = [f"127.0.0.1:{free_port()}" for _ in range(3)]
    procs = []
    for n, address in enumerate(addresses):
        env = {**stack.settings_env(), "WECARE_DATA_DIR": str(tmp_path / "data"), "WECARE_COMMERCE_ADDRESS": address}
        procs.append(start_python("services.commerce", env, tmp_path / f"commerce-{n}.log"))
    try:
        deadline = time.monotonic() + 90
        while not all(grpc_serving(a, SERVICE) for a in addresses):
            assert all(p.poll() is None for p in procs) and time.monotonic() < deadline, "a commerce did not start"
            await asyncio.sleep(0.2)
        token = (("authorization", f"Bearer {stack.token('operator')}"),)
        channels = [grpc.aio.insecure_channel(a) for a in addresses]
        stubs = [pb_grpc.CommerceServiceStub(c) for c in channels]
        drafts = []
        for i in range(3 * PER_PROCESS):
            invoice = pb.Invoice(
                contact=f"contacts/{ids.new_id()}",
                line_items=[
                    pb.LineItem(description=f"Service {i}", unit_price_paise=10000 + i, gst_rate_basis_points=1800)
                ],
            )
            drafts.append(await stubs[i % 3].CreateInvoice(pb.CreateInvoiceRequest(invoice=invoice), metadata=token))

        async def issue_all(stub, mine):  # all of a process's issues in flight at once
            return await asyncio.gather(
                *(stub.IssueInvoice(pb.IssueInvoiceRequest(name=d.name), metadata=token) for d in mine)
            )

        batches = await asyncio.gather(*(issue_all(stubs[n], drafts[n::3]) for n in range(3)))
        issued = [invoice for batch in batches for invoice in batch]
        sequences = sorted(int(i.number.rsplit("/", 1)[1]) for i in issued)
        assert sequences == list(range(1, 3 * PER_PROCESS + 1))
        years = {i.number.split("/")[1] for i in issued}
        assert len(years) == 1
        for n, invoice in enumerate(issued):  # every process reads what the others issued
            seen = await stubs[(n + 1) % 3].GetInvoice(pb.GetInvoiceRequest(name=invoice.name), metadata=token)
            assert seen.number == invoice.number and seen.status == pb.INVOICE_STATUS_ISSUED
        for channel in channels:
            await channel.close()
    finally:
        for proc in procs:
            assert stop(proc, timeout=30) == 0
