"""A small IAM evaluator for the template's policies, and the map from a recorded AWS call (runtime/aws.py's call
log) to the IAM actions and resource ARNs AWS authorises it as.

Evaluation as AWS does it within one account: an explicit Deny in any policy that applies wins; otherwise an
Allow in the identity policy (or the resource policy) allows; otherwise the call is denied. Actions match
case-insensitively with `*` and `?`; resources case-sensitively with the same wildcards; NotAction/NotResource
invert the match; the condition operators the template uses (Bool, StringEquals, StringLike, ArnEquals,
ArnLike) are evaluated against the request's context keys, and a statement whose condition does not hold does
not apply. moto's evaluator (moto.iam.access_control.IAMPolicy) is a cross-check in the tests; it matches
actions case-sensitively and treats an unmet condition as a Deny, so it is not used as the judge."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ACCOUNT = "123456789012"  # moto's account: the ARNs of the local run


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, case_sensitive: bool) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


def resolve(value: Any, parameters: Mapping[str, Any]) -> Any:
    """The template's Fn::Sub / Ref values with parameters and pseudo parameters filled in (a Ref of a
    CommaDelimitedList parameter is its list)."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        return re.sub(r"\$\{([^}]+)\}", lambda m: parameters[m.group(1)], value["Fn::Sub"])
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return parameters[value["Ref"]]
    if isinstance(value, list):
        return [resolve(v, parameters) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, parameters) for k, v in value.items()}
    return value


def _condition_holds(condition: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    for operator, tests in condition.items():
        for key, expected in tests.items():
            actual = context.get(key)
            if actual is None:
                return False
            wanted = [str(e).lower() if operator == "Bool" else str(e) for e in _listify(expected)]
            if operator in ("Bool", "StringEquals", "ArnEquals"):
                ok = (actual.lower() if operator == "Bool" else actual) in wanted
            elif operator in ("StringLike", "ArnLike"):
                ok = any(fnmatch.fnmatchcase(actual, w) for w in wanted)
            else:
                raise ValueError(f"condition operator {operator} is not evaluated here")
            if not ok:
                return False
    return True


def _applies(statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, str]) -> bool:
    if "Action" in statement:
        if not any(_wildcard(a, action, False) for a in _listify(statement["Action"])):
            return False
    elif any(_wildcard(a, action, False) for a in _listify(statement["NotAction"])):
        return False
    if "Resource" in statement:
        if not any(_wildcard(r, resource, True) for r in _listify(statement["Resource"])):
            return False
    elif any(_wildcard(r, resource, True) for r in _listify(statement["NotResource"])):
        return False
    return _condition_holds(statement.get("Condition", {}), context)


def decide(
    action: str, resource: str, identity: Mapping[str, Any], resource_policy: Mapping[str, Any] | None = None, **ctx
) -> str:
    """ "Allow", "ExplicitDeny" or "ImplicitDeny" for one action on one resource."""
    context = {"aws:SecureTransport": "true", **ctx}
    allowed = False
    for document in (identity, resource_policy or {"Statement": []}):
        for statement in _listify(document["Statement"]):
            if not _applies(statement, action, resource, context):
                continue
            if statement["Effect"] == "Deny":
                return "ExplicitDeny"
            allowed = True
    return "Allow" if allowed else "ImplicitDeny"


# -- recorded calls -> (action, resource) --------------------------------------------------------------------

_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
_SQS_BATCH = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


@dataclass(frozen=True)
class Request:
    action: str
    resource: str


class UnmappedCall(Exception):
    """A call this map does not know how AWS authorises: add it here (and to the service's policy)."""


def requests_of(call: Mapping[str, Any], account: str = ACCOUNT) -> list[Request]:
    service, op, params, region = call["signing_name"], call["operation"], call["params"], call["region"]

    def arn(svc: str, resource: str) -> str:
        return f"arn:aws:{svc}:{region}:{account}:{resource}"

    if service == "dynamodb":
        if op in ("TransactWriteItems", "TransactGetItems"):
            return [
                Request(
                    "dynamodb:" + ("GetItem" if op == "TransactGetItems" else _TRANSACT[kind]),
                    arn(service, f"table/{t}"),
                )
                for item in params["TransactItems"]
                for kind, t in item.items()
            ]
        if op in ("BatchGetItem", "BatchWriteItem"):
            return [Request(f"dynamodb:{op}", arn(service, f"table/{t}")) for t in params["RequestItems"]]
        table = f"table/{params['TableName']}"
        if params.get("IndexName"):
            table += f"/index/{params['IndexName']}"
        return [Request(f"dynamodb:{op}", arn(service, table))]
    if service == "s3":
        obj = f"arn:aws:s3:::{params.get('Bucket')}/{params.get('Key')}"
        if op in ("PutObject", "GetObject", "DeleteObject"):
            return [Request(f"s3:{op}", obj)]
        if op == "HeadObject":
            return [Request("s3:GetObject", obj)]
        if op == "CopyObject":
            return [Request("s3:PutObject", obj), Request("s3:GetObject", f"arn:aws:s3:::{params['CopySource']}")]
        raise UnmappedCall(f"s3:{op}")
    if service == "sqs":
        name = params["QueueName"] if "QueueName" in params else params["QueueUrl"].rstrip("/").rsplit("/", 1)[1]
        return [Request("sqs:" + _SQS_BATCH.get(op, op), arn(service, name))]
    if service == "social-messaging":
        # The API takes `phone-number-id-<id>` and `waba-<id>`; their ARNs end `phone-number-id/<id>`, `waba/<id>`.
        if "originationPhoneNumberId" in params:
            number = params["originationPhoneNumberId"]
            resource = number if number.startswith("arn:") else arn(service, _arn_id(number, "phone-number-id"))
            return [Request(f"social-messaging:{op}", resource)]
        if "id" in params:
            waba = params["id"]
            resource = waba if waba.startswith("arn:") else arn(service, _arn_id(waba, "waba"))
            return [Request(f"social-messaging:{op}", resource)]
        raise UnmappedCall(f"social-messaging:{op}")
    if service == "sms-voice" and op == "SendTextMessage":
        return [Request("sms-voice:SendTextMessage", _origination(params, arn))]
    if service == "ses" and op == "SendEmail":
        return [Request("ses:SendEmail", arn(service, f"identity/{params['FromEmailAddress']}"))]
    if service == "bedrock":
        if op in ("Retrieve", "RetrieveAndGenerate"):
            return [Request(f"bedrock:{op}", arn(service, f"knowledge-base/{params['knowledgeBaseId']}"))]
        if op in ("ConverseStream", "Converse"):
            action = "InvokeModelWithResponseStream" if op == "ConverseStream" else "InvokeModel"
            return [Request(f"bedrock:{action}", f"arn:aws:bedrock:{region}::foundation-model/{params['modelId']}")]
    raise UnmappedCall(f"{service}:{op}")


def _arn_id(api_id: str, kind: str) -> str:
    """`phone-number-id-abc` -> `phone-number-id/abc` (the API's id, the ARN's resource)."""
    if not api_id.startswith(kind + "-"):
        raise UnmappedCall(f"{api_id!r} is not a {kind} id")
    return f"{kind}/{api_id.removeprefix(kind + '-')}"


def _origination(params: Mapping[str, Any], arn) -> str:
    """The origination identity SendTextMessage is authorised on: an ARN as given, a pool or phone number by its
    id, or a sender ID in the destination's country (sms-voice ARNs keep the id's prefix: pool/pool-...)."""
    identity = params["OriginationIdentity"]
    if identity.startswith("arn:"):
        return identity
    if identity.startswith("pool-"):
        return arn("sms-voice", f"pool/{identity}")
    if identity.startswith("phone-"):
        return arn("sms-voice", f"phone-number/{identity}")
    if identity.startswith("+"):
        raise UnmappedCall("an origination phone number given as E.164: its ARN needs its id")
    import phonenumbers

    country = phonenumbers.region_code_for_number(phonenumbers.parse(params["DestinationPhoneNumber"]))
    return arn("sms-voice", f"sender-id/{identity}/{country}")


def channel_parameters(settings, region: str = "us-east-1", account: str = ACCOUNT) -> dict[str, list[str]]:
    """The template's channel ARN parameters for a deployment's settings (what an operator passes)."""

    def arn(service: str, resource: str) -> str:
        return f"arn:aws:{service}:{region}:{account}:{resource}"

    return {
        "WhatsAppPhoneNumberArns": [
            arn("social-messaging", _arn_id(i, "phone-number-id")) for i in settings.whatsapp_phone_number_ids
        ],
        "WhatsAppWabaArns": [arn("social-messaging", _arn_id(i, "waba")) for i in settings.whatsapp_wabas],
        "SmsOriginationArns": [
            _origination({"OriginationIdentity": i, "DestinationPhoneNumber": "+919812345678"}, lambda s, r: arn(s, r))
            for i in settings.sms_origination_identities
        ],
    }
