"""Wiring of the bulk process: its stores, bulk-queue and bulk-dlq, the report bucket, messaging and contacts
as clients with this service's identity, BulkService, and the background work every bulk process does (the
supervisor; the chunk workers unless bulk_worker_chunks is 0). Several bulk processes are several workers."""

from __future__ import annotations

import os
import socket

from runtime.auth import ServiceTokens
from runtime.aws import AwsClients
from runtime.clients import service_channel
from runtime.pagination import PageTokens
from runtime.process import main as run_main
from runtime.server import GrpcProcess
from runtime.settings import Settings
from runtime.storage import open_table
from services.bulk.adapters.chunk_queue import ChunkQueue
from services.bulk.adapters.commerce import CommerceClient
from services.bulk.adapters.contacts import ContactsDirectory
from services.bulk.adapters.dynamodb_jobs import DynamoJobStore
from services.bulk.adapters.dynamodb_store import DynamoChunkStore
from services.bulk.adapters.messaging import MessagingClient
from services.bulk.adapters.reports import ReportBucket
from services.bulk.adapters.sqlite_store import SqliteChunkStore, SqliteJobStore
from services.bulk.adapters.store import ChunkStore, JobStore
from services.bulk.dead_letters import DeadLetters
from services.bulk.domain.limits import Limits
from services.bulk.domain.model import Channel
from services.bulk.expansion import Expander
from services.bulk.job_states import JobStates
from services.bulk.jobs import BulkConfig, Jobs
from services.bulk.reporting import Reporter
from services.bulk.servicer import BulkServicer
from services.bulk.supervisor import Supervisor
from services.bulk.worker import ChunkWorker
from wecare.bulk.v1 import bulk_service_pb2_grpc


def stores(settings: Settings, aws: AwsClients) -> tuple[JobStore, ChunkStore]:
    return (
        open_table(settings, aws, settings.bulk_jobs_table, sqlite=SqliteJobStore, dynamodb=DynamoJobStore),
        open_table(settings, aws, settings.bulk_job_chunks_table, sqlite=SqliteChunkStore, dynamodb=DynamoChunkStore),
    )


def config_of(settings: Settings, process_id: str) -> BulkConfig:
    return BulkConfig(
        region=settings.default_phone_region,
        senders={
            Channel.WHATSAPP: settings.whatsapp_phone_number_ids,
            Channel.SMS: settings.sms_origination_identities,
            Channel.EMAIL: (settings.email_sender,),
        },
        limits=Limits.from_settings(settings),
        chunk_size=settings.bulk_chunk_size,
        poll_seconds=settings.bulk_poll_seconds,
        lease_seconds=settings.bulk_lease_seconds,
        settle_seconds=settings.bulk_settle_seconds,
        max_receive=settings.bulk_max_receive_count,
        process_id=process_id,
    )


async def wire(process: GrpcProcess, aws: AwsClients) -> None:
    settings = process.settings
    process_id = f"{socket.gethostname()}:{os.getpid()}"
    config = config_of(settings, process_id)
    jobs_store, chunks = stores(settings, aws)
    identity = ServiceTokens(settings, "bulk")
    messaging_channel = service_channel(settings.messaging_address, identity.token)
    contacts_channel = service_channel(settings.contacts_address, identity.token)
    # Commerce: clicks and answers of a job's recipients, a form job's invitations.
    commerce_channel = service_channel(settings.commerce_address, identity.token)
    commerce = CommerceClient(commerce_channel)
    queue = ChunkQueue(aws, settings.bulk_queue, settings.bulk_dlq)
    reports = ReportBucket(
        aws, settings.media_bucket, settings.bulk_reports_prefix, settings.bulk_report_url_ttl_seconds
    )
    messaging = MessagingClient(messaging_channel)
    directory = ContactsDirectory(contacts_channel)
    states = JobStates(jobs_store, settings.bulk_poll_seconds)
    supervisor = Supervisor(jobs_store, chunks, report_delay=settings.bulk_report_delay_seconds)
    jobs = Jobs(
        jobs_store,
        chunks,
        queue,
        messaging,
        directory,
        reports,
        states,
        config,
        wake=supervisor.wake,
        commerce=commerce,
    )
    supervisor.jobs = jobs
    supervisor.tier = messaging.tier
    supervisor.expander = Expander(
        chunks,
        queue,
        directory,
        states,
        config.region,
        config.chunk_size,
        config.lease_seconds,
        owner=f"{process_id}/expander",
    )
    supervisor.reporter = Reporter(
        jobs_store,
        chunks,
        messaging,
        reports,
        owner=f"{process_id}/reporter",
        lease_seconds=config.lease_seconds,
        settle_seconds=config.settle_seconds,
        commerce=commerce,
    )
    process.add_service(
        bulk_service_pb2_grpc.add_BulkServiceServicer_to_server,
        BulkServicer(jobs, DeadLetters(queue, jobs_store, chunks), PageTokens(settings.effective_page_token_key)),
        "wecare.bulk.v1.BulkService",
    )
    process.depends_on("bulk-jobs-store", jobs_store.ping)
    process.depends_on("bulk-chunks-store", chunks.ping)
    process.depends_on("bulk-queue", queue.ping)
    process.run_in_background(supervisor.run)
    if settings.bulk_worker_chunks > 0:
        worker = ChunkWorker(
            chunks,
            queue,
            messaging,
            states,
            capacity=settings.bulk_worker_chunks,
            lease_seconds=config.lease_seconds,
            max_receive=config.max_receive,
            process_id=process_id,
            on_chunk_done=jobs.maybe_complete,
            commerce=commerce,
            on_halt=jobs.halt,
        )
        process.run_in_background(worker.run)
    process.on_close(jobs_store.close)
    process.on_close(chunks.close)
    process.on_close(messaging_channel.close)
    process.on_close(contacts_channel.close)
    process.on_close(commerce_channel.close)
    # For tests: the parts of this process by name.
    process.bulk = {"jobs": jobs, "supervisor": supervisor, "queue": queue, "chunks": chunks}  # type: ignore[attr-defined]


def main() -> None:
    run_main("bulk", lambda s: s.bulk_address, wire)


if __name__ == "__main__":
    main()
