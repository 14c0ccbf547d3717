"""The IAM evaluator the deployment tests judge with (tests/deploy/iam.py): Allow/Deny precedence, wildcards,
NotResource, conditions, and agreement with moto's evaluator where moto applies (no conditions, exact-case
actions, no `?`); and the map from recorded calls to the actions AWS authorises them as."""

from __future__ import annotations

import json

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult

from tests.deploy import iam

POLICY = {
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:Query"],
            "Resource": ["arn:aws:dynamodb:us-east-1:1:table/T", "arn:aws:dynamodb:us-east-1:1:table/T/index/*"],
        },
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/media/in/*"},
        {"Effect": "Allow", "Action": "sqs:Send?essage", "Resource": "arn:aws:sqs:us-east-1:1:q"},
        {"Effect": "Deny", "Action": "dynamodb:Query", "Resource": "arn:aws:dynamodb:us-east-1:1:table/T/index/secret"},
    ]
}
CASES = [
    ("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:1:table/T", "Allow"),
    ("dynamodb:getitem", "arn:aws:dynamodb:us-east-1:1:table/T", "Allow"),  # actions are case-insensitive
    ("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:1:table/t", "ImplicitDeny"),  # resources are not
    ("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:1:table/T2", "ImplicitDeny"),
    ("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:1:table/T", "ImplicitDeny"),
    ("dynamodb:Query", "arn:aws:dynamodb:us-east-1:1:table/T/index/by_name", "Allow"),
    ("dynamodb:Query", "arn:aws:dynamodb:us-east-1:1:table/T/index/secret", "ExplicitDeny"),
    ("s3:PutObject", "arn:aws:s3:::b/media/in/x.jpg", "Allow"),
    ("s3:PutObject", "arn:aws:s3:::b/media/inx.jpg", "ImplicitDeny"),
    ("s3:PutObject", "arn:aws:s3:::b/media/in", "ImplicitDeny"),
    ("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q", "Allow"),
    ("sqs:SendMessageBatch", "arn:aws:sqs:us-east-1:1:q", "ImplicitDeny"),
    ("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q2", "ImplicitDeny"),
]


@pytest.mark.parametrize(("action", "resource", "verdict"), CASES)
def test_decisions(action, resource, verdict):
    assert iam.decide(action, resource, POLICY) == verdict


# moto matches actions case-sensitively and knows no `?` wildcard: those cases are ours alone.
MOTO_CASES = [c for c in CASES if c[0] != "dynamodb:getitem" and not c[0].startswith("sqs:")]


@pytest.mark.parametrize(("action", "resource", "verdict"), MOTO_CASES)
def test_agrees_with_moto_where_moto_applies(action, resource, verdict):
    moto = IAMPolicy(json.dumps(POLICY)).is_action_permitted(action, resource)
    expected = {
        "Allow": PermissionResult.PERMITTED,
        "ExplicitDeny": PermissionResult.DENIED,
        "ImplicitDeny": PermissionResult.NEUTRAL,
    }[verdict]
    assert moto == expected


def test_not_resource_and_conditions():
    bucket = {
        "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "NotResource": ["arn:aws:s3:::b/ok/*"]},
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "arn:aws:s3:::b/*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ]
    }
    role = {"Statement": [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "*"}]}
    assert iam.decide("s3:PutObject", "arn:aws:s3:::b/ok/1", role, bucket) == "Allow"
    assert iam.decide("s3:PutObject", "arn:aws:s3:::b/no/1", role, bucket) == "ExplicitDeny"
    assert iam.decide("s3:GetObject", "arn:aws:s3:::b/no/1", role, bucket) == "Allow"  # the deny is on writes
    insecure = {"aws:SecureTransport": "false"}
    assert iam.decide("s3:GetObject", "arn:aws:s3:::b/ok/1", role, bucket, **insecure) == "ExplicitDeny"


def test_sub_resolution():
    value = {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${NamePrefix}bulk-queue"}
    params = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "1", "NamePrefix": "dev-"}
    assert iam.resolve(value, params) == "arn:aws:sqs:us-east-1:1:dev-bulk-queue"


def call(signing_name: str, operation: str, **params):
    return {"owner": "x", "signing_name": signing_name, "operation": operation, "region": "us-east-1", "params": params}


def test_calls_map_to_what_aws_authorises():
    transact = call("dynamodb", "TransactWriteItems", TransactItems=[{"Put": "T"}, {"ConditionCheck": "U"}])
    assert [(r.action, r.resource.rsplit(":", 1)[1]) for r in iam.requests_of(transact)] == [
        ("dynamodb:PutItem", "table/T"),
        ("dynamodb:ConditionCheckItem", "table/U"),
    ]
    query = iam.requests_of(call("dynamodb", "Query", TableName="T", IndexName="by_name"))
    assert query[0].resource.endswith(":table/T/index/by_name")
    batch = iam.requests_of(call("sqs", "SendMessageBatch", QueueUrl="http://x/123456789012/bulk-queue"))
    assert batch == [iam.Request("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:bulk-queue")]
    copy = iam.requests_of(call("s3", "CopyObject", Bucket="b", Key="k2", CopySource="b/k1"))
    assert copy == [iam.Request("s3:PutObject", "arn:aws:s3:::b/k2"), iam.Request("s3:GetObject", "arn:aws:s3:::b/k1")]
    stream = iam.requests_of(call("bedrock", "ConverseStream", modelId="amazon.nova-pro-v1:0"))
    assert stream[0].action == "bedrock:InvokeModelWithResponseStream"
    with pytest.raises(iam.UnmappedCall):
        iam.requests_of(call("kms", "Decrypt", KeyId="k"))


def test_channel_calls_map_to_their_resources_arns():
    """EUM Social takes `phone-number-id-<id>` / `waba-<id>` and authorises on ARNs ending `phone-number-id/<id>`
    and `waba/<id>`; EUM SMS authorises SendTextMessage on the identity it is given, whatever its kind."""
    hexa = "0123456789abcdef0123456789abcdef"
    number = f"phone-number-id-{hexa}"
    send = iam.requests_of(call("social-messaging", "SendWhatsAppMessage", originationPhoneNumberId=number))
    assert send[0].resource == f"arn:aws:social-messaging:us-east-1:{iam.ACCOUNT}:phone-number-id/{hexa}"
    templates = iam.requests_of(call("social-messaging", "ListWhatsAppMessageTemplates", id=f"waba-{hexa}"))
    assert templates[0].resource.endswith(f":waba/{hexa}")
    sms = f"arn:aws:sms-voice:us-east-1:{iam.ACCOUNT}"
    for identity, resource in (
        ("pool-abc", f"{sms}:pool/pool-abc"),
        ("phone-def", f"{sms}:phone-number/phone-def"),
        ("WECARE", f"{sms}:sender-id/WECARE/IN"),  # in the destination's country
        (f"{sms}:pool/pool-xyz", f"{sms}:pool/pool-xyz"),
    ):
        to = "+919812345678"
        made = call("sms-voice", "SendTextMessage", OriginationIdentity=identity, DestinationPhoneNumber=to)
        assert iam.requests_of(made) == [iam.Request("sms-voice:SendTextMessage", resource)]
