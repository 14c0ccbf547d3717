"""The platform's own checkov checks on the CloudFormation template (tests/deploy/test_checkov.py runs them with
--external-checks-dir), beside checkov's: checkov runs from its own environment, so this file imports nothing of
the project.

CKV_WECARE_1  a role's EUM Social / EUM SMS actions name the deployment's own resources (the template's ARN list
              parameters), never a pattern: no `*` in their resources.
CKV_WECARE_2  a role that may write the audit table may only append to it: an explicit Deny of every other write."""

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.common.util.type_forcers import force_list

CHANNELS = ("social-messaging:", "sms-voice:")
REWRITES = {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}


def _statements(conf):
    for policy in force_list((conf.get("Properties") or {}).get("Policies") or []):
        document = policy.get("PolicyDocument") if isinstance(policy, dict) else None
        if isinstance(document, dict):
            yield from force_list(document.get("Statement") or [])


def _texts(value):
    """Every literal string in a resource value (Fn::Sub templates included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for inner in value.values():
            yield from _texts(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _texts(inner)


class ChannelResourcesPinned(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="WECARE: channel actions name the deployment's own resources, never a pattern",
            id="CKV_WECARE_1",
            categories=[CheckCategories.IAM],
            supported_resources=["AWS::IAM::Role"],
        )

    def scan_resource_conf(self, conf):
        for statement in _statements(conf):
            actions = [a for a in force_list(statement.get("Action") or []) if isinstance(a, str)]
            if statement.get("Effect") == "Allow" and any(a.startswith(CHANNELS) for a in actions):
                if any("*" in text for text in _texts(statement.get("Resource"))):
                    return CheckResult.FAILED
        return CheckResult.PASSED


class AuditAppendOnly(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="WECARE: a role that writes the audit table only appends to it",
            id="CKV_WECARE_2",
            categories=[CheckCategories.IAM],
            supported_resources=["AWS::IAM::Role"],
        )

    def scan_resource_conf(self, conf):
        writes, denied = False, set()
        for statement in _statements(conf):
            actions = {a for a in force_list(statement.get("Action") or []) if isinstance(a, str)}
            on_audit = any("AuditTable" in text for text in _texts(statement.get("Resource")))
            if not on_audit:
                continue
            if statement.get("Effect") == "Allow":
                if actions & REWRITES or "dynamodb:*" in actions:
                    return CheckResult.FAILED
                writes = writes or "dynamodb:PutItem" in actions
            elif statement.get("Effect") == "Deny":
                denied |= actions
        if writes and not REWRITES <= denied:
            return CheckResult.FAILED
        return CheckResult.PASSED


checks = (ChannelResourcesPinned(), AuditAppendOnly())
