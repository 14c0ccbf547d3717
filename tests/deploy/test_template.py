"""The CloudFormation template (deploy/aws/wecare.yaml): cfn-lint passes; its tables are the code's (keys, indexes,
TTL) with point-in-time recovery; queues dead-letter into queues that keep messages longer; the topic's
subscriptions (HTTPS to the gateway, or SQS to messaging's queue: one at a time, by the InboundDelivery parameter)
have a dead-letter queue, the HTTPS one a retry policy and a throttle sized for 1,000 sends/s, the queue admits only
the topic and only messaging reads it; the bucket is encrypted, private, and written only
under its three prefixes; the common log group keeps 14 days; IAM names no wildcard action."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.render import code_tables, logical_id
from deploy.services import PREFIXES, SERVICES
from runtime.settings import Settings
from tests.deploy import iam
from tests.deploy.manifests import ROOT, TEMPLATE, resources, template

CFN_LINT = str(Path(sys.executable).with_name("cfn-lint"))  # installed beside this interpreter (the dev extras)


def test_cfn_lint_passes():
    result = subprocess.run([CFN_LINT, str(TEMPLATE)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_can_fail(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        TEMPLATE.read_text().replace("RetentionInDays: 14", "RetentionInDays: 15"), encoding="utf-8"
    )  # 15 is not a retention CloudWatch offers
    result = subprocess.run([CFN_LINT, str(broken)], capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "E3030" in result.stdout


def _index_shape(indexes):
    return sorted(
        (i["IndexName"], tuple((k["AttributeName"], k["KeyType"]) for k in i["KeySchema"]), repr(i["Projection"]))
        for i in indexes or []
    )


@pytest.mark.parametrize("settings_field", sorted(code_tables()))
def test_tables_are_the_codes_definitions(settings_field):
    # Read from the committed file: a table changed in code but not in the template fails here, naming it.
    definition, ttl = code_tables()[settings_field]
    name = logical_id(settings_field)
    table = template()["Resources"][name]["Properties"]
    assert table["KeySchema"] == definition["KeySchema"], name
    assert sorted(map(repr, table["AttributeDefinitions"])) == sorted(map(repr, definition["AttributeDefinitions"]))
    assert _index_shape(table.get("GlobalSecondaryIndexes")) == _index_shape(definition.get("GlobalSecondaryIndexes"))
    assert table.get("BillingMode") == definition.get("BillingMode")
    assert table.get("TimeToLiveSpecification") == ({"AttributeName": ttl, "Enabled": True} if ttl else None), name


def test_every_table_keeps_point_in_time_recovery_and_is_retained():
    tables = resources("AWS::DynamoDB::Table")
    owned = {logical_id(t) for s in SERVICES for t in (*s.aws.tables, *s.aws.read_tables, *s.aws.append_tables)}
    assert set(tables) == owned
    for name, table in tables.items():
        props = table["Properties"]
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name
        assert props["SSESpecification"] == {"SSEEnabled": True}
        assert table["DeletionPolicy"] == "Retain" and props["DeletionProtectionEnabled"] is True


def test_dead_letter_queues_keep_messages_longer_than_their_sources():
    queues = resources("AWS::SQS::Queue")
    names = {q["Properties"]["QueueName"]["Fn::Sub"].removeprefix("${NamePrefix}") for q in queues.values()}
    assert names == {
        "whatsapp-inbound",
        "whatsapp-inbound-dlq",
        "inbound-dlq",
        "outbound-dlq",
        "bulk-queue",
        "bulk-dlq",
    }
    redriven = [q for q in queues.values() if "RedrivePolicy" in q["Properties"]]
    assert len(redriven) == 2, "bulk-queue redrives to bulk-dlq, whatsapp-inbound to whatsapp-inbound-dlq"
    for queue in redriven:
        target = queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert queues[target]["Properties"]["MessageRetentionPeriod"] > queue["Properties"]["MessageRetentionPeriod"]
        assert 1 < queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] <= 10
    for queue in queues.values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True


def subscriptions() -> dict[str, dict]:
    return {s["Properties"]["Protocol"]: s for s in resources("AWS::SNS::Subscription").values()}


def test_topic_subscription_dead_letters_and_retries():
    topics = resources("AWS::SNS::Topic")
    assert [t["Properties"]["TopicName"] for t in topics.values()] == [{"Ref": "TopicName"}]
    assert template()["Parameters"]["TopicName"]["Default"] == "base-wecare-digital"
    assert set(subscriptions()) == {"https", "sqs"}
    for subscription in subscriptions().values():
        props = subscription["Properties"]
        assert props["RawMessageDelivery"] is False  # the envelope's MessageId keys deduplication
        dlq = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert resources("AWS::SQS::Queue")[dlq]["Properties"]["QueueName"] == {
            "Fn::Sub": "${NamePrefix}whatsapp-inbound-dlq"
        }
    retry = subscriptions()["https"]["Properties"]["DeliveryPolicy"]["healthyRetryPolicy"]
    assert retry["numRetries"] >= 10 and retry["backoffFunction"] == "exponential"
    # SNS may write to that queue, and only for this topic
    policies = resources("AWS::SQS::QueuePolicy")
    (statement,) = policies["InboundDLQPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": "EventsTopic"}}}


STATUS_EVENTS_PER_SECOND = 3_000  # what 1,000 sends/s bring back (sent, delivered, read)


def test_the_https_subscription_is_sized_for_a_thousand_sends_a_second():
    policy = subscriptions()["https"]["Properties"]["DeliveryPolicy"]
    # Room above the steady 3,000 status events/s (plus inbound messages) to drain a backlog; 100 used to be here.
    assert policy["throttlePolicy"]["maxReceivesPerSecond"] >= 1.5 * STATUS_EVENTS_PER_SECOND
    retry = policy["healthyRetryPolicy"]
    backoff = (
        retry["numRetries"] - retry["numNoDelayRetries"] - retry["numMinDelayRetries"] - retry["numMaxDelayRetries"]
    )
    assert backoff >= 0
    longest = (
        retry["numMinDelayRetries"] * retry["minDelayTarget"]
        + (backoff + retry["numMaxDelayRetries"]) * retry["maxDelayTarget"]
    )
    assert 600 <= longest <= 3_600  # SNS refuses an HTTPS policy over an hour; under ten minutes drops outages


def test_one_subscription_at_a_time_chosen_by_the_inbound_delivery_parameter():
    t = template()
    assert t["Parameters"]["InboundDelivery"]["AllowedValues"] == ["https", "sqs"]
    assert t["Parameters"]["InboundDelivery"]["Default"] == Settings().inbound_delivery
    conditions = t["Conditions"]
    assert conditions["HttpsDelivery"] == {"Fn::Equals": [{"Ref": "InboundDelivery"}, "https"]}
    assert conditions["QueueDelivery"] == {"Fn::Equals": [{"Ref": "InboundDelivery"}, "sqs"]}
    assert subscriptions()["https"]["Condition"] == "HttpsDelivery"
    assert subscriptions()["sqs"]["Condition"] == "QueueDelivery"
    assert resources("AWS::SQS::QueuePolicy")["InboundQueuePolicy"]["Condition"] == "QueueDelivery"


def test_the_queue_path_admits_only_the_topic_and_only_messaging_reads_it():
    queues = resources("AWS::SQS::Queue")
    props = subscriptions()["sqs"]["Properties"]
    queue_id = props["Endpoint"]["Fn::GetAtt"][0]
    queue = queues[queue_id]["Properties"]
    assert queue["QueueName"] == {"Fn::Sub": "${NamePrefix}" + Settings().whatsapp_inbound_queue}
    dlq = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert queues[dlq]["Properties"]["QueueName"] == {"Fn::Sub": "${NamePrefix}whatsapp-inbound-dlq"}
    # A batch's ingest (media copies with their retries) finishes well inside the time the batch is hidden.
    assert queue["VisibilityTimeout"] >= 60
    policy = resources("AWS::SQS::QueuePolicy")["InboundQueuePolicy"]["Properties"]
    assert policy["Queues"] == [{"Ref": queue_id}]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": "EventsTopic"}}}
    arn = f"arn:aws:sqs:us-east-1:{iam.ACCOUNT}:whatsapp-inbound"
    readers = {
        s.name
        for s in SERVICES
        if s.aws.any
        and all(
            iam.decide(action, arn, _role(s.name)) == "Allow"
            for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueUrl")
        )
    }
    assert readers == {"messaging"}


def test_bucket_is_private_encrypted_and_written_only_under_its_prefixes():
    (bucket,) = resources("AWS::S3::Bucket").values()
    props = bucket["Properties"]
    assert template()["Parameters"]["MediaBucketName"]["Default"] == "stream.wecare.digital"
    assert all(props["PublicAccessBlockConfiguration"].values()) and len(props["PublicAccessBlockConfiguration"]) == 4
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    lifecycle = {r.get("Prefix"): r for r in props["LifecycleConfiguration"]["Rules"]}
    assert set(PREFIXES) <= set(lifecycle)
    assert all(lifecycle[p]["ExpirationInDays"] > 0 for p in PREFIXES)
    (policy,) = resources("AWS::S3::BucketPolicy").values()
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    only = statements["ThreePrefixesOnly"]
    assert only["Effect"] == "Deny" and only["Action"] == "s3:PutObject"
    assert [r["Fn::Sub"] for r in only["NotResource"]] == [
        f"arn:${{AWS::Partition}}:s3:::${{MediaBucketName}}/{p}*" for p in PREFIXES
    ]
    assert statements["TlsOnly"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_common_log_group_keeps_fourteen_days():
    (group,) = resources("AWS::Logs::LogGroup").values()
    assert group["Properties"] == {"LogGroupName": "/base-wecare-digital/common", "RetentionInDays": 14}


def _statements():
    for name, role in resources("AWS::IAM::Role").items():
        for policy in role["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                yield name, statement


def test_iam_names_no_wildcard_action_and_one_role_a_service():
    roles = resources("AWS::IAM::Role")
    assert set(roles) == {f"{s.name.capitalize()}Role" for s in SERVICES if s.aws.any} | {"LogShippingRole"}
    for name, statement in _statements():
        if statement["Effect"] == "Deny":
            assert statement["Sid"] == "AuditNeverRewritten", name  # the one Deny: below
            continue
        assert statement["Effect"] == "Allow", name
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in a and "?" not in a for a in actions), f"{name}: wildcard action in {actions}"
        assert "NotAction" not in statement and "NotResource" not in statement
        resources_ = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert "*" not in resources_, f"{name}: an action on every resource"


def test_s3_grants_stay_inside_the_three_prefixes():
    for name, statement in _statements():
        for resource in statement["Resource"]:
            text = resource.get("Fn::Sub", "") if isinstance(resource, dict) else resource
            if ":s3:::" in text:
                key = text.split("${MediaBucketName}/", 1)[1]
                assert any(key == p + "*" for p in PREFIXES), f"{name}: {text}"


# -- IAM pinned to this deployment's resources (tests/deploy/iam.py judges) -------------------------------------

PARAMETERS = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": iam.ACCOUNT, "NamePrefix": ""}
NUMBER = f"arn:aws:social-messaging:us-east-1:{iam.ACCOUNT}:phone-number-id/{'1' * 32}"
WABA = f"arn:aws:social-messaging:us-east-1:{iam.ACCOUNT}:waba/{'2' * 32}"
SMS = f"arn:aws:sms-voice:us-east-1:{iam.ACCOUNT}"
ORIGINATIONS = [f"{SMS}:pool/pool-{'3' * 32}", f"{SMS}:phone-number/phone-{'4' * 32}", f"{SMS}:sender-id/WECARE/IN"]


def _role(name: str, **parameters) -> dict:
    values = {**PARAMETERS, **{k: str(v.get("Default", "")) for k, v in template()["Parameters"].items()}}
    values |= {"WhatsAppPhoneNumberArns": [NUMBER], "WhatsAppWabaArns": [WABA], "SmsOriginationArns": ORIGINATIONS}
    values |= parameters
    role = resources("AWS::IAM::Role")[f"{name.capitalize()}Role"]
    return iam.resolve(role["Properties"]["Policies"][0]["PolicyDocument"], values)


def test_channel_resources_are_the_deployments_own_never_a_wildcard():
    messaging = _role("messaging")
    send = "social-messaging:SendWhatsAppMessage"
    assert iam.decide(send, NUMBER, messaging) == "Allow"
    assert iam.decide(send, NUMBER.replace("1" * 32, "9" * 32), messaging) == "ImplicitDeny"  # another number
    assert iam.decide("social-messaging:PostWhatsAppMessageMedia", NUMBER, messaging) == "Allow"
    assert iam.decide("social-messaging:ListWhatsAppMessageTemplates", WABA, messaging) == "Allow"
    assert iam.decide("social-messaging:ListWhatsAppMessageTemplates", WABA[:-1] + "9", messaging) == "ImplicitDeny"
    assert iam.decide(send, WABA, messaging) == "ImplicitDeny"  # the number's actions on the number only
    # SMS from every kind of identity the pool may use, and no other
    for arn in ORIGINATIONS:
        assert iam.decide("sms-voice:SendTextMessage", arn, messaging) == "Allow", arn
    for other in (f"{SMS}:pool/pool-{'5' * 32}", f"{SMS}:phone-number/phone-{'6' * 32}", f"{SMS}:sender-id/OTHER/IN"):
        assert iam.decide("sms-voice:SendTextMessage", other, messaging) == "ImplicitDeny", other
    # In the template itself, these statements name the parameters, not a pattern
    kinds = ("social-messaging", "sms-voice")
    channel = [s for _, s in _statements() if any(a.split(":")[0] in kinds for a in s["Action"])]
    named = sorted(s["Resource"]["Ref"] for s in channel)
    assert named == ["SmsOriginationArns", "WhatsAppPhoneNumberArns", "WhatsAppWabaArns", "WhatsAppWabaArns"]
    # commerce's forms live in those WABAs too
    flows = _role("commerce")
    assert iam.decide("social-messaging:CreateWhatsAppFlow", WABA, flows) == "Allow"
    assert iam.decide("social-messaging:CreateWhatsAppFlow", WABA[:-1] + "9", flows) == "ImplicitDeny"


@pytest.mark.parametrize(
    ("parameter", "value", "ok"),
    [
        ("WhatsAppPhoneNumberArns", NUMBER, True),
        ("WhatsAppPhoneNumberArns", NUMBER.rsplit("/", 1)[0] + "/*", False),
        ("WhatsAppPhoneNumberArns", WABA, False),
        ("WhatsAppWabaArns", WABA, True),
        ("WhatsAppWabaArns", "*", False),
        ("SmsOriginationArns", ORIGINATIONS[0], True),
        ("SmsOriginationArns", ORIGINATIONS[1], True),
        ("SmsOriginationArns", ORIGINATIONS[2], True),
        ("SmsOriginationArns", f"{SMS}:pool/*", False),
        ("SmsOriginationArns", f"{SMS}:configuration-set/default", False),
    ],
)
def test_channel_parameters_take_one_resource_of_their_kind_each(parameter, value, ok):
    """CloudFormation matches a CommaDelimitedList's AllowedPattern against each element."""
    pattern = template()["Parameters"][parameter]["AllowedPattern"]
    assert (re.fullmatch(pattern, value) is not None) == ok
    assert "Default" not in template()["Parameters"][parameter]  # each deployment says its own


def test_the_settings_ids_map_to_the_arns_the_parameters_take():
    params = iam.channel_parameters(Settings())
    for name, values in params.items():
        pattern = template()["Parameters"][name]["AllowedPattern"]
        assert values and all(re.fullmatch(pattern, v) for v in values), (name, values)


def test_the_audit_table_is_append_only_for_every_role():
    table = f"arn:aws:dynamodb:us-east-1:{iam.ACCOUNT}:table/AuditTable"
    writers = [s.name for s in SERVICES if "audit_table" in s.aws.append_tables]
    assert set(writers) == {s.name for s in SERVICES if s.aws.any}
    for name in writers:
        role = _role(name)
        assert iam.decide("dynamodb:PutItem", table, role) == "Allow", name
        for action in ("UpdateItem", "DeleteItem", "BatchWriteItem", "PartiQLUpdate"):
            action = f"dynamodb:{action}"
            assert iam.decide(action, table, role) == "ExplicitDeny", (name, action)
        # ...whatever else the role is given one day: the Deny wins over any Allow
        widened = {"Statement": [*role["Statement"], {"Effect": "Allow", "Action": "dynamodb:*", "Resource": table}]}
        assert iam.decide("dynamodb:DeleteItem", table, widened) == "ExplicitDeny", name
    # The other tables stay writable by their owners
    contacts = f"arn:aws:dynamodb:us-east-1:{iam.ACCOUNT}:table/ContactsTable"
    assert iam.decide("dynamodb:UpdateItem", contacts, _role("contacts")) == "Allow"
