"""The CloudFormation template (deploy/aws/wecare.yaml): cfn-lint passes; its tables are the code's (keys, indexes,
TTL) with point-in-time recovery; queues dead-letter into queues that keep messages longer; the topic's HTTPS
subscription has a dead-letter queue and a retry policy; the bucket is encrypted, private, and written only
under its three prefixes; the common log group keeps 14 days; IAM names no wildcard action."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from deploy.render import code_tables, logical_id
from deploy.services import PREFIXES, SERVICES
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
    assert names == {"whatsapp-inbound-dlq", "inbound-dlq", "outbound-dlq", "bulk-queue", "bulk-dlq"}
    redriven = [q for q in queues.values() if "RedrivePolicy" in q["Properties"]]
    assert redriven, "bulk-queue redrives to bulk-dlq"
    for queue in redriven:
        target = queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert queues[target]["Properties"]["MessageRetentionPeriod"] > queue["Properties"]["MessageRetentionPeriod"]
        assert 1 < queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] <= 10
    for queue in queues.values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True


def test_topic_subscription_dead_letters_and_retries():
    topics = resources("AWS::SNS::Topic")
    assert [t["Properties"]["TopicName"] for t in topics.values()] == [{"Ref": "TopicName"}]
    assert template()["Parameters"]["TopicName"]["Default"] == "base-wecare-digital"
    (subscription,) = resources("AWS::SNS::Subscription").values()
    props = subscription["Properties"]
    assert props["Protocol"] == "https" and props["RawMessageDelivery"] is False
    dlq = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert resources("AWS::SQS::Queue")[dlq]["Properties"]["QueueName"] == {
        "Fn::Sub": "${NamePrefix}whatsapp-inbound-dlq"
    }
    retry = props["DeliveryPolicy"]["healthyRetryPolicy"]
    assert retry["numRetries"] >= 10 and retry["backoffFunction"] == "exponential"
    # SNS may write to that queue, and only for this topic
    (queue_policy,) = resources("AWS::SQS::QueuePolicy").values()
    (statement,) = queue_policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": "EventsTopic"}}}


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
