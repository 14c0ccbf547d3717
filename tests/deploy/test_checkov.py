"""checkov on the two files that are deployed: the prod overlay as `kubectl kustomize` builds it, and the
CloudFormation template. No finding may fail; a finding accepted on purpose is suppressed on its resource with
the reason beside it (Deployment annotations `checkov.io/skipN`, the template's `Metadata.checkov.skip`), and
docs/DEPLOY.md lists each. checkov pins its own boto3, so it runs from its own virtual environment (`make test`
installs it: .tools/checkov)."""

from __future__ import annotations

import copy
import json
import subprocess

import pytest
import yaml

from tests.deploy.manifests import ROOT, TEMPLATE, built, template

CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
# What the suppressions accept today; a new one must be added here and explained in docs/DEPLOY.md.
ACCEPTED = {
    "CKV_K8S_35",  # keys from the Secret as environment variables
    "CKV_K8S_43",  # images by tag in the overlays
    "CKV_K8S_23",  # fluent-bit reads root's log files
    "CKV_K8S_40",
    "CKV_K8S_38",  # fluent-bit's kubernetes filter reads the API
    "CKV_AWS_119",  # DynamoDB with the AWS owned key
    "CKV_AWS_27",  # SQS with SSE-SQS
    "CKV_AWS_18",  # bucket: CloudTrail data events instead of access logs
    "CKV_AWS_26",  # SNS: EUM Social cannot publish to an aws/sns-encrypted topic
    "CKV_AWS_158",  # log group: CloudWatch's own encryption
}


OWN_CHECKS = ROOT / "tests" / "deploy" / "checkov_checks"  # the platform's own: CKV_WECARE_*


def run_checkov(folder, *files) -> list[dict]:
    args = [str(CHECKOV), *(a for f in files for a in ("-f", str(f))), "--external-checks-dir", str(OWN_CHECKS)]
    result = subprocess.run(
        [*args, "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(folder), "BC_SKIP_MAPPING": "TRUE"},
    )
    parsed = json.loads(result.stdout)
    return parsed if isinstance(parsed, list) else [parsed]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> list[dict]:
    assert CHECKOV.exists(), "checkov is missing: `make test` installs it (or make .tools/checkov/.installed-3.3.30)"
    folder = tmp_path_factory.mktemp("checkov")
    manifests = folder / "prod.yaml"
    manifests.write_text(built("prod"), encoding="utf-8")
    return run_checkov(folder, manifests, TEMPLATE)


def test_both_files_are_scanned(report):
    kinds = {r["check_type"]: r["summary"] for r in report}
    assert set(kinds) == {"kubernetes", "cloudformation"}
    assert all(s["parsing_errors"] == 0 and s["passed"] > 50 for s in kinds.values()), kinds


def test_no_finding_fails(report):
    failed = [
        f"{f['check_id']} {f['check_name']} on {f['resource']}" for r in report for f in r["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)


def test_every_accepted_finding_says_why_and_is_documented(report):
    skipped = [f for r in report for f in r["results"]["skipped_checks"]]
    assert {f["check_id"] for f in skipped} == ACCEPTED
    for finding in skipped:
        why = finding["check_result"].get("suppress_comment") or ""
        assert len(why) > 20, f"{finding['check_id']} on {finding['resource']} is accepted without a reason"
    deploy_doc = (ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    for check in ACCEPTED:
        assert check in deploy_doc, f"docs/DEPLOY.md does not explain {check}"


def _own(report: list[dict], outcome: str) -> set[tuple[str, str]]:
    return {
        (f["check_id"], f["resource"])
        for r in report
        for f in r["results"][outcome]
        if f["check_id"].startswith("CKV_WECARE_")
    }


def test_the_platforms_own_checks_pass_on_every_role(report):
    passed = _own(report, "passed_checks")
    roles = {resource for _, resource in passed}
    assert {"AWS::IAM::Role.MessagingRole", "AWS::IAM::Role.ContactsRole"} <= roles
    assert {check for check, _ in passed} == {"CKV_WECARE_1", "CKV_WECARE_2"}


def test_the_platforms_own_checks_can_fail(tmp_path):
    """The template as it was (phone numbers by pattern), and an audit writer allowed UpdateItem: both found."""
    broken = copy.deepcopy(template())
    messaging = broken["Resources"]["MessagingRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    numbers = next(s for s in messaging if s["Resource"] == {"Ref": "WhatsAppPhoneNumberArns"})
    numbers["Resource"] = [{"Fn::Sub": "arn:${AWS::Partition}:social-messaging:${AWS::Region}:${AWS::AccountId}:*"}]
    contacts = broken["Resources"]["ContactsRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    next(s for s in contacts if s["Sid"] == "AuditAppend")["Action"].append("dynamodb:UpdateItem")
    path = tmp_path / "wecare.yaml"
    path.write_text(yaml.safe_dump(broken, sort_keys=False), encoding="utf-8")
    failed = _own(run_checkov(tmp_path, path), "failed_checks")
    assert failed == {("CKV_WECARE_1", "AWS::IAM::Role.MessagingRole"), ("CKV_WECARE_2", "AWS::IAM::Role.ContactsRole")}
