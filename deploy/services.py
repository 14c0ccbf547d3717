"""The platform's processes as deployed: one entry a process. `python -m deploy.render` turns this table into the
kustomize base (deploy/k8s/base/) and the CloudFormation template (deploy/aws/wecare.yaml); a test fails when
the committed files are not what it renders.

A new service is one more `Service(...)` below (its port, whom it calls, its settings, what it may do in AWS),
then `python -m deploy.render`. Its DynamoDB tables come from the code (localrun/tables.py TABLES); a table the
code does not define yet is listed in PROVISIONAL_TABLES until it does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NAMESPACE = "wecare"
IMAGE = "wecare"  # the one image (deploy/Dockerfile); overlays set its registry and tag
METRICS_PORT = 9464
HEALTH_PORT = 9090  # the plaintext health listener the prod overlay's probes use (the service port speaks TLS)
LIVENESS_SERVICE = "liveness"  # runtime/server.py keeps it SERVING while the process runs

# docs/DESIGN.md "AWS resources": the bucket's three prefixes, by the Settings field that names each.
INCOMING = "whatsapp-media/whatsapp-media-incoming/"
OUTGOING = "whatsapp-media/whatsapp-media-outgoing/"
REPORTS = "base-wecare-digital/reports/"
PREFIXES = (INCOMING, OUTGOING, REPORTS)

# DynamoDB actions by intent. Transactions are authorised item by item (Put/Update/Delete/ConditionCheck).
TABLE_READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:DescribeTable")
TABLE_WRITE = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
)
QUEUE_SEND = ("sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes")
QUEUE_CONSUME = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueUrl",
    "sqs:GetQueueAttributes",
)


@dataclass(frozen=True)
class Aws:
    """What a service may do in AWS; render.py turns it into one least-privilege policy."""

    tables: tuple[str, ...] = ()  # read and write (Settings field names, e.g. "contacts_table")
    read_tables: tuple[str, ...] = ()  # read only
    append_tables: tuple[str, ...] = ()  # PutItem only (the audit log), plus the health probe's GetItem
    send_queues: tuple[str, ...] = ()
    consume_queues: tuple[str, ...] = ()
    read_prefixes: tuple[str, ...] = ()
    write_prefixes: tuple[str, ...] = ()  # PutObject (multipart included), AbortMultipartUpload and DeleteObject
    # Further statements as (actions, resources); resources are Fn::Sub strings of the template, or one
    # `list:<Parameter>`: a CommaDelimitedList parameter of ARNs (the deployment's own resource ids, pinned).
    statements: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()

    @property
    def any(self) -> bool:
        return any(
            (
                self.tables,
                self.read_tables,
                self.append_tables,
                self.send_queues,
                self.consume_queues,
                self.read_prefixes,
                self.write_prefixes,
                self.statements,
            )
        )


@dataclass(frozen=True)
class Service:
    name: str  # the Deployment, the Service (its DNS name), the ServiceAccount, the IAM role's suffix
    module: str  # `python -m <module>`
    port: int
    address_setting: str  # the Settings field other processes read its address from
    protocol: str = "grpc"  # grpc | http (the gateway)
    calls: tuple[str, ...] = ()  # services it dials: NetworkPolicy egress here, ingress there
    settings: dict[str, str] = field(default_factory=dict)  # its own ConfigMap, beside the shared one
    secrets: tuple[tuple[str, str], ...] = ()  # (environment variable, key in the wecare-keys Secret) of its own
    aws: Aws = Aws()
    cpu: tuple[str, str] = ("100m", "1")  # request, limit
    memory: tuple[str, str] = ("256Mi", "512Mi")
    replicas: tuple[int, int] = (2, 10)  # the autoscaler's range
    readiness: str = ""  # http only: the readiness path (gRPC services use grpc.health.v1)
    liveness: str = ""


AUDIT = Aws(append_tables=("audit_table",))  # every service's interceptor appends to the audit log
# Never to an append-only table (the audit log), whatever else a role is given: an explicit Deny.
REWRITES = (
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
    "dynamodb:PartiQLInsert",
)

SERVICES: tuple[Service, ...] = (
    Service(
        "contacts",
        "services.contacts",
        50051,
        "contacts_address",
        aws=Aws(tables=("contacts_table",), read_tables=("audit_table",), append_tables=("audit_table",)),
    ),
    Service(
        "messaging",
        "services.messaging",
        50052,
        "messaging_address",
        calls=("contacts", "commerce"),
        # The same as the template's InboundDelivery parameter (docs/RUNBOOK.md "Inbound capacity").
        settings={"WECARE_INBOUND_DELIVERY": "https"},
        aws=Aws(
            tables=("whatsapp_inbound_table", "whatsapp_outbound_table"),
            append_tables=("audit_table",),
            send_queues=("inbound_dlq", "outbound_dlq"),
            consume_queues=("inbound_dlq", "outbound_dlq", "whatsapp_inbound_dlq", "whatsapp_inbound_queue"),
            read_prefixes=(INCOMING, OUTGOING),
            write_prefixes=(INCOMING, OUTGOING),
            statements=(
                (
                    (
                        "social-messaging:SendWhatsAppMessage",
                        "social-messaging:PostWhatsAppMessageMedia",
                        "social-messaging:GetWhatsAppMessageMedia",
                    ),
                    ("list:WhatsAppPhoneNumberArns",),
                ),
                (
                    ("social-messaging:ListWhatsAppMessageTemplates", "social-messaging:GetWhatsAppMessageTemplate"),
                    ("list:WhatsAppWabaArns",),
                ),
                # Every kind of origination identity a send may go out from: the pool, and the phone numbers and
                # sender IDs in it (sms-voice authorises SendTextMessage on PhoneNumber, Pool and SenderId).
                (("sms-voice:SendTextMessage",), ("list:SmsOriginationArns",)),
                (
                    ("ses:SendEmail",),
                    ("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SesIdentity}",),
                ),
            ),
        ),
        cpu=("250m", "2"),
        memory=("384Mi", "1Gi"),
    ),
    Service(
        "bulk",
        "services.bulk",
        50053,
        "bulk_address",
        calls=("messaging", "contacts", "commerce"),
        aws=Aws(
            tables=("bulk_jobs_table", "bulk_job_chunks_table"),
            append_tables=("audit_table",),
            send_queues=("bulk_queue", "bulk_dlq"),
            consume_queues=("bulk_queue", "bulk_dlq"),
            read_prefixes=(REPORTS,),
            write_prefixes=(REPORTS,),
        ),
    ),
    Service(
        "ai",
        "services.ai",
        50054,
        "ai_address",
        calls=("messaging", "contacts"),
        settings={"WECARE_AI_PROVIDER": "bedrock"},
        aws=Aws(
            tables=("docs_table",),
            append_tables=("audit_table",),
            statements=(
                (
                    ("bedrock:Retrieve", "bedrock:RetrieveAndGenerate"),
                    (
                        "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:knowledge-base/${KnowledgeBaseId}",
                    ),
                ),
                (
                    ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"),
                    ("arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/${BedrockModelId}",),
                ),
            ),
        ),
        memory=("512Mi", "1536Mi"),
    ),
    Service(
        "commerce",
        "services.commerce",
        50055,
        "commerce_address",
        # Forms: a form's answers are written onto the contact, its WhatsApp Flow lives in EUM Social. Invoices:
        # their PDFs in the outgoing prefix (messaging sends them from there), invoices and receipts sent through
        # messaging; the payment provider is outside (HTTPS egress).
        calls=("contacts", "messaging"),
        secrets=(("WECARE_PAYMENT_KEY_SECRET", "payment-key-secret"),),
        aws=Aws(
            tables=("link_table", "forms_table", "invoice_table", "pay_table"),
            append_tables=("audit_table",),
            read_prefixes=(OUTGOING,),
            write_prefixes=(OUTGOING,),
            statements=(
                (
                    (  # a form's WhatsApp Flow, in the WABA it lives in
                        "social-messaging:CreateWhatsAppFlow",
                        "social-messaging:ListWhatsAppFlows",
                        "social-messaging:UpdateWhatsAppFlow",
                        "social-messaging:UpdateWhatsAppFlowAssets",
                        "social-messaging:GetWhatsAppFlow",
                        "social-messaging:GetWhatsAppFlowPreview",
                        "social-messaging:PublishWhatsAppFlow",
                        "social-messaging:DeprecateWhatsAppFlow",
                        "social-messaging:DeleteWhatsAppFlow",
                    ),
                    ("list:WhatsAppWabaArns",),
                ),
            ),
        ),
    ),
    Service(
        "gateway",
        "gateway",
        8080,
        "gateway_address",
        protocol="http",
        calls=("contacts", "messaging", "bulk", "ai", "commerce"),
        secrets=(("WECARE_PAYMENT_WEBHOOK_SECRET", "payment-webhook-secret"),),  # verifies /v1/events/payments
        readiness="/readyz",
        liveness="/healthz",
    ),
)

# Queue Settings fields -> their names (docs/DESIGN.md "AWS resources"); the template owns them, the ConfigMap
# passes the names on.
QUEUES = {
    "whatsapp_inbound_dlq": "whatsapp-inbound-dlq",
    "whatsapp_inbound_queue": "whatsapp-inbound",  # the topic's queue (InboundDelivery sqs)
    "inbound_dlq": "inbound-dlq",
    "outbound_dlq": "outbound-dlq",
    "bulk_queue": "bulk-queue",
    "bulk_dlq": "bulk-dlq",
}
# source -> (its dead-letter queue, receives before it moves)
SOURCE_QUEUES = {"bulk_queue": ("bulk_dlq", 5), "whatsapp_inbound_queue": ("whatsapp_inbound_dlq", 5)}

# Tables docs/DESIGN.md gives to services whose DynamoDB store has not landed yet: the generic pk/sk layout, TTL on
# expire_at. When the code defines one (localrun/tables.py), its definition replaces this and render says so.
_GENERIC: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "BillingMode": "PAY_PER_REQUEST",
}
PROVISIONAL_TABLES: dict[str, tuple[dict[str, Any], str | None]] = {
    "whatsapp_inbound_table": (_GENERIC, "expire_at"),
    "whatsapp_outbound_table": (_GENERIC, "expire_at"),
}


def by_name(name: str) -> Service:
    return next(s for s in SERVICES if s.name == name)
