"""The one typed settings object, read from the environment once at start and passed down.

Every address, table, queue, bucket, prefix, limit, region and credential of a deployment is here with the
default of docs/DESIGN.md; handlers never read the environment themselves."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from runtime import service_identity

PREFIX = "WECARE_"


def setting(default: Any, env: str | None = None, secret: bool = False) -> Any:
    """A field read from `WECARE_<NAME>` (or `env`), with a default."""
    return field(default=default, metadata={"env": env, "secret": secret})


@dataclass(frozen=True)
class Settings:
    # Deployment
    environment: str = setting("local")  # local | dev | production: production refuses local-only settings
    region: str = setting("us-east-1", env="AWS_REGION")
    default_phone_region: str = setting("IN")
    # Meta's day-long rules run this many times faster (runtime/timescale.py): local tests only, production refuses it.
    time_scale: float = setting(1.0)
    # Where each process listens / is reached.
    contacts_address: str = setting("127.0.0.1:50051")
    messaging_address: str = setting("127.0.0.1:50052")
    bulk_address: str = setting("127.0.0.1:50053")
    ai_address: str = setting("127.0.0.1:50054")
    commerce_address: str = setting("127.0.0.1:50055")
    gateway_address: str = setting("127.0.0.1:8080")
    listen_address: str = setting("")  # overrides the process's own address (e.g. 0.0.0.0:50051 in a pod)
    metrics_port: int = setting(0)  # Prometheus /metrics; 0 = off
    # gRPC TLS between the processes (off locally, on in the prod overlay). A server given a certificate and key
    # serves TLS only; a client given a CA file dials TLS and trusts that CA alone.
    tls_cert_file: str = setting("")
    tls_key_file: str = setting("")
    tls_ca_file: str = setting("")
    # A plaintext listener serving grpc.health.v1 only, for kubelet's native gRPC probes (they cannot speak TLS).
    health_port: int = setting(0)  # 0 = off: probes use the service port
    # Storage
    store: str = setting("sqlite")  # sqlite (embedded default) | dynamodb
    data_dir: Path = setting(Path(".run/data"))
    table_prefix: str = setting("")
    contacts_table: str = setting("ContactsTable")
    audit_table: str = setting("AuditTable")
    whatsapp_inbound_table: str = setting("WhatsAppInboundTable")
    whatsapp_outbound_table: str = setting("WhatsAppOutboundTable")
    bulk_jobs_table: str = setting("BulkJobsTable")
    bulk_job_chunks_table: str = setting("BulkJobChunksTable")
    docs_table: str = setting("DocsTable")
    forms_table: str = setting("FormsTable")
    link_table: str = setting("LinkTable")
    invoice_table: str = setting("InvoiceTable")
    pay_table: str = setting("PayTable")
    # AWS endpoints: empty means AWS itself; locally they point at the embedded AWS (moto server).
    aws_endpoint_url: str = setting("")
    dynamodb_endpoint_url: str = setting("")
    media_bucket: str = setting("stream.wecare.digital")
    media_incoming_prefix: str = setting("whatsapp-media/whatsapp-media-incoming/")
    media_outgoing_prefix: str = setting("whatsapp-media/whatsapp-media-outgoing/")
    # Identity
    cognito_issuer: str = setting("")
    cognito_jwks_url: str = setting("")  # its own setting: locally moto serves it, the issuer stays AWS's
    cognito_client_id: str = setting("")
    # The Cognito API the console's browser signs in against; empty: the issuer's host (AWS's own). Locally the
    # embedded AWS, whose Cognito answers browsers (CORS) as AWS's does.
    cognito_endpoint_url: str = setting("")
    # Service identities (runtime/service_identity.py): this process's own Ed25519 private key, and every
    # service's public keys as `<service>=<key>` (several for one service while its key is rotated).
    service_key: str = setting("", secret=True)
    service_public_keys: tuple[str, ...] = setting(())
    service_token_ttl_seconds: int = setting(300)
    page_token_key: str = setting("", secret=True)
    # Telemetry
    log_level: str = setting("INFO")
    trace_file: str = setting("")  # JSON lines of finished spans, for local runs and tests
    aws_call_log: str = setting("")  # JSON lines naming every AWS call and its resources (the IAM check in tests)
    # JSON lines describing every DynamoDB request's items and sizes (runtime/capacity_log.py; `make bench dynamodb`)
    dynamodb_capacity_log: str = setting("")
    otlp_endpoint: str = setting("", env="OTEL_EXPORTER_OTLP_ENDPOINT")
    # Shutdown: health turns NOT_SERVING, then after drain_seconds the server stops taking new calls and
    # gives in-flight calls grace_seconds to finish.
    drain_seconds: float = setting(0.0)
    grace_seconds: float = setting(20.0)
    # Gateway
    cors_origins: tuple[str, ...] = setting(("http://localhost:3000",))
    max_body_bytes: int = setting(1_048_576)
    console_dir: Path = setting(Path("console/dist"))  # the built operator console (`make console`), served at `/`
    # Gateway: request rate limits (gateway/ratelimit.py), per person and per client address; 0 = off (the local
    # run). X-Forwarded-For is believed only from these proxies (CIDRs: the load balancer's subnets).
    rate_limit_user_per_second: float = setting(0.0)
    rate_limit_user_burst: int = setting(0)
    rate_limit_address_per_second: float = setting(0.0)
    rate_limit_address_burst: int = setting(0)
    trusted_proxies: tuple[str, ...] = setting(())
    # Gateway: the SNS endpoint (docs/DESIGN.md "Inbound events"). Only these topics are taken (full ARNs: SNS signs
    # every account's topics with the same certificate); none listed refuses every message.
    sns_topic_arns: tuple[str, ...] = setting(())
    sns_max_age_seconds: float = setting(3600.0)
    sns_max_body_bytes: int = setting(524_288)  # a 256 KB SNS message with its JSON escaping
    # Gateway: the public `GET /l/{code}` of tracked links (gateway/links.py), limited per client address; 0 = off.
    link_rate_per_second: float = setting(0.0)
    link_rate_burst: int = setting(0)
    # Commerce: tracked links. Short URLs are `<links_base_url>/l/<code>` (the gateway's public address).
    links_base_url: str = setting("http://127.0.0.1:8080")
    # Commerce: invoices. The seller as printed on them; its state decides CGST+SGST (same state) or IGST.
    invoice_business_name: str = setting("WECARE Digital")
    invoice_business_gstin: str = setting("")
    invoice_business_state_code: str = setting("29")  # GST state code (29 Karnataka)
    invoice_business_address: str = setting("")
    # Commerce: payments. The provider's API (Razorpay; locally the sandbox) and its keys; the webhook secret
    # the gateway verifies `POST /v1/events/payments` with (empty: every webhook is refused). A phone set up for
    # WhatsApp payments names its payment configuration here (empty: invoices go with a payment link).
    payment_api_url: str = setting("https://api.razorpay.com")
    payment_key_id: str = setting("")
    payment_key_secret: str = setting("", secret=True)
    payment_webhook_secret: str = setting("", secret=True)
    payment_webhook_max_body_bytes: int = setting(262_144)
    payment_link_days: int = setting(30)  # a link expires this long after its invoice's due date
    payments_sweep_seconds: float = setting(30.0)  # how often receipts still owed are sent again
    whatsapp_payments_configuration: str = setting("")
    # Messaging: inbound. Media copies are retried with backoff, then go to inbound-dlq; the inbox stream polls
    # the store's change feed (it sees what every messaging process ingests).
    inbound_media_attempts: int = setting(4)
    inbound_media_backoff_seconds: float = setting(0.25)
    inbound_watch_poll_seconds: float = setting(0.5)
    # How the SNS topic's events reach messaging (docs/DESIGN.md "Inbound events"): `https` through the gateway's
    # subscription, or `sqs`: the topic's queue (whatsapp_inbound_queue), read in batches by inbound_queue_pollers
    # long polls in every messaging process. The template's InboundDelivery parameter makes the same choice.
    inbound_delivery: str = setting("https")
    inbound_queue_pollers: int = setting(4)
    # Messaging: channels. Empty endpoints mean AWS itself; locally EUM Social and EUM SMS are the sandbox.
    social_messaging_endpoint_url: str = setting("")
    sms_voice_endpoint_url: str = setting("")
    whatsapp_phone_number_ids: tuple[str, ...] = setting(
        ("phone-number-id-00000000000000000000919330994400", "phone-number-id-00000000000000000000919903300044")
    )
    whatsapp_wabas: tuple[str, ...] = setting(
        ("waba-00000000000000000000000000000001", "waba-00000000000000000000000000000002")
    )
    whatsapp_meta_api_version: str = setting("v20.0")
    sms_origination_identities: tuple[str, ...] = setting(("pool-00000000000000000000000000000001",))
    email_sender: str = setting("one@wecare.digital")
    # Messaging: limits (docs/DESIGN.md "Limits the dispatcher enforces"); per-phone overrides as `<id>=<rate>`.
    whatsapp_phone_rate: float = setting(80.0)
    whatsapp_phone_rates: tuple[str, ...] = setting(())
    whatsapp_account_rate: float = setting(1000.0)
    whatsapp_media_post_rate: float = setting(100.0)
    whatsapp_media_get_rate: float = setting(100.0)
    whatsapp_pair_interval_seconds: float = setting(6.0)
    sms_rate: float = setting(20.0)  # per origination identity (the pool's MPS)
    email_rate: float = setting(14.0)  # the SES account's send rate
    dispatch_pace: float = setting(0.99)  # calls are paced at this fraction of each limit
    marketing_requires_opt_in: bool = setting(False)
    # Messaging: Meta's rules beyond the per-second limits (docs/DESIGN.md). The portfolio's messaging tier (unique
    # customers reached with business-initiated messages in a rolling 24 hours, all phones together) until an
    # event says otherwise, 0 unlimited; the share of it kept for utility and authentication; the platform's own
    # cap on marketing messages a contact gets in a rolling period (0: off); 131049's re-attempts.
    whatsapp_messaging_tier: int = setting(0)
    whatsapp_tier_reserve: float = setting(0.1)
    whatsapp_marketing_cap: int = setting(0)
    whatsapp_marketing_cap_seconds: float = setting(7 * 24 * 3600.0)
    whatsapp_limited_retry_seconds: float = setting(24 * 3600.0)
    whatsapp_limited_reattempts: int = setting(1)
    # Messaging: durability and queues.
    dispatch_max_attempts: int = setting(5)
    dispatch_reconcile_seconds: float = setting(60.0)  # in doubt this long without a status event -> unknown
    dispatch_call_timeout_seconds: float = setting(2.0)
    # How the WhatsApp and SMS sends are made: lean (runtime/aws_lean.py: the SDK's request without its per-call
    # work) or sdk (the aiobotocore client, as every other AWS call is made).
    provider_client: str = setting("lean")
    send_messages_max: int = setting(25_000)
    media_url_ttl_seconds: int = setting(900)
    outbound_dlq: str = setting("outbound-dlq")
    inbound_dlq: str = setting("inbound-dlq")
    whatsapp_inbound_dlq: str = setting("whatsapp-inbound-dlq")
    whatsapp_inbound_queue: str = setting("whatsapp-inbound")
    # Sandbox (embedded default only): the local EUM Social / EUM SMS and its log of accepted calls.
    sandbox_address: str = setting("127.0.0.1:4599")
    sandbox_log: Path = setting(Path(".run/sandbox-sent.jsonl"))
    sandbox_config: str = setting("")  # JSON: status delays, injected faults (localrun.sandbox.config.Config)
    sandbox_payment_webhook_url: str = setting("")  # where its payment webhooks go; empty: the gateway's
    # Local run (embedded default only): how many messaging processes `make run` starts on the one store (they share
    # the limits through it); 0 = one a core, at most 2 (localrun/stack.py messaging_processes).
    messaging_processes: int = setting(0)
    # Bulk: its queues and reports, chunking, workers. A chunk's SQS visibility and its recipients' claims last
    # bulk_lease_seconds and are renewed while a worker works it, so a killed worker's chunk comes back then.
    bulk_queue: str = setting("bulk-queue")
    bulk_dlq: str = setting("bulk-dlq")
    bulk_max_receive_count: int = setting(5)  # bulk-queue's redrive to bulk-dlq (localrun.bootstrap reads it too)
    bulk_reports_prefix: str = setting("base-wecare-digital/reports/")
    bulk_report_url_ttl_seconds: int = setting(900)
    bulk_chunk_size: int = setting(500)  # recipients a chunk: hundreds, so few messages cross SQS
    bulk_worker_chunks: int = setting(4)  # chunks one bulk process works at once (0: serve the API only)
    bulk_lease_seconds: float = setting(30.0)
    bulk_poll_seconds: float = setting(0.25)  # how often a worker looks at its job's state (pause, cancel)
    bulk_settle_seconds: float = setting(10.0)  # a report waits this long at most for sends still in flight
    bulk_report_delay_seconds: float = setting(2.0)  # a finished job's report waits for late statuses this long
    # AI: the provider (local: the embedded default, retrieval over DocsTable; bedrock: production), Bedrock's
    # knowledge base and model, when to say "I don't know", and how long and how many sessions are kept.
    ai_provider: str = setting("local")
    # local provider: the answer's closeness to the question less its share in words the knowledge base never uses;
    # chosen on the development half of tests/fixtures/kb (python -m bench.ai_eval)
    ai_min_confidence: float = setting(0.30)
    ai_session_ttl_seconds: int = setting(30 * 24 * 3600)
    ai_max_sessions: int = setting(20)  # per person; one more forgets the oldest
    bedrock_knowledge_base_id: str = setting("FZBPKGTOYE")
    bedrock_model_id: str = setting("amazon.nova-pro-v1:0")  # a model id, or an inference-profile ARN
    bedrock_min_score: float = setting(0.4)  # Bedrock retrieval score below which the answer is "I don't know"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        environ = os.environ if environ is None else environ
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            name = f.metadata.get("env") or PREFIX + f.name.upper()
            if name in environ:
                values[f.name] = _parse(hints[f.name], environ[name], name)
        values.update(overrides)
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """Refuses combinations that would be unsafe in a real deployment."""
        if self.store not in ("sqlite", "dynamodb"):
            raise ValueError(f"WECARE_STORE must be sqlite or dynamodb, not {self.store!r}")
        if self.inbound_delivery not in ("https", "sqs"):
            raise ValueError(f"WECARE_INBOUND_DELIVERY must be https or sqs, not {self.inbound_delivery!r}")
        if self.inbound_queue_pollers < 1:
            raise ValueError("WECARE_INBOUND_QUEUE_POLLERS must be at least 1")
        if self.ai_provider not in ("local", "bedrock"):
            raise ValueError(f"WECARE_AI_PROVIDER must be local or bedrock, not {self.ai_provider!r}")
        if self.provider_client not in ("lean", "sdk"):
            raise ValueError(f"WECARE_PROVIDER_CLIENT must be lean or sdk, not {self.provider_client!r}")
        if self.messaging_processes < 0:
            raise ValueError(f"WECARE_MESSAGING_PROCESSES is 0 (one a core) or more, not {self.messaging_processes}")
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ValueError("WECARE_TLS_CERT_FILE and WECARE_TLS_KEY_FILE are set together or not at all")
        if not self.time_scale > 0:
            raise ValueError(f"WECARE_TIME_SCALE must be above 0, not {self.time_scale}")
        if not 0 <= self.whatsapp_tier_reserve < 1:
            raise ValueError("WECARE_WHATSAPP_TIER_RESERVE is a share of the tier: at least 0, below 1")
        if self.whatsapp_limited_retry_seconds < 24 * 3600:
            raise ValueError("WECARE_WHATSAPP_LIMITED_RETRY_SECONDS: Meta asks for 24 hours at least (86400)")
        if not 0 <= self.whatsapp_limited_reattempts <= 3:
            raise ValueError("WECARE_WHATSAPP_LIMITED_REATTEMPTS: 0 to 3 (Meta penalises fast retries)")
        keys = service_identity.check(self)  # stricter outside the local environment, dev included
        if keys and self.environment != "production":
            raise ValueError("service identity: " + "; ".join(keys))
        if self.environment == "production":
            problems = list(keys)
            if not self.page_token_key or self.page_token_key == LOCAL_PAGE_TOKEN_KEY:
                problems.append("WECARE_PAGE_TOKEN_KEY must be set to the deployment's secret")
            if not self.cognito_jwks_url.startswith("https://"):
                problems.append("WECARE_COGNITO_JWKS_URL must be an https URL of the real user pool")
            if self.aws_endpoint_url or self.dynamodb_endpoint_url:
                problems.append("AWS endpoint overrides are for the local run only")
            if self.time_scale != 1.0:
                problems.append("WECARE_TIME_SCALE compresses Meta's day for local tests only")
            if not self.links_base_url.startswith("https://"):
                problems.append("WECARE_LINKS_BASE_URL must be the https address of the gateway (short links)")
            if problems:
                raise ValueError("unsafe production settings: " + "; ".join(problems))

    def table(self, name: str) -> str:
        return self.table_prefix + name

    @property
    def effective_page_token_key(self) -> str:
        return self.page_token_key or LOCAL_PAGE_TOKEN_KEY

    def redacted(self) -> dict[str, Any]:
        """For start-up logs: every setting, secrets masked."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = "***" if f.metadata.get("secret") and value else str(value)
        return out


# A key for the local run only; Settings.check refuses it in production.
LOCAL_PAGE_TOKEN_KEY = "local-only-page-token-key-change-me-in-any-deployment"


def _parse(kind: Any, raw: str, name: str) -> Any:
    try:
        if kind is bool:
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(raw)
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is Path:
            return Path(raw)
        if kind == tuple[str, ...]:
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        return raw
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a valid {getattr(kind, '__name__', kind)}") from exc
