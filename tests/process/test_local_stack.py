"""What `make run` sets up, checked on the session's running stack from outside.

Proves: the embedded AWS holds exactly what docs/DESIGN.md "AWS resources" lists (the bucket with its three
prefixes, the five queues with bulk-queue redriving to bulk-dlq and dead letters kept longer than their sources,
the topic, the SES identity, the user pool with its app client, groups and one user in each) and bootstrapping it
again finds and reuses all of it; the run dir holds the data, the logs and the spans of the calls made; the
connection facts in local.env are the ones the services use (their JWKS answers with the pool's key); the stack
came up within the three minutes of docs/DESIGN.md "The local run: the embedded default"; the gateway's calls to
messaging are spread over both of its processes."""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request

import grpc
import pytest

from localrun import jsonl
from localrun.bootstrap import BUCKET, PREFIXES, QUEUES, ROLES, SES_IDENTITY, TOPIC, USER_POOL, Options, bootstrap
from wecare.contacts.v1 import contacts_service_pb2 as pb
from wecare.contacts.v1 import contacts_service_pb2_grpc

pytestmark = pytest.mark.process

DAY = 86_400


@pytest.fixture(scope="module")
def aws(stack):
    return stack.aws_client


def test_stack_was_healthy_within_three_minutes(stack):
    assert 0 < stack.ready_seconds < 180


def test_bucket_has_exactly_the_three_prefixes(aws):
    # The stack is shared by the session's process tests, which may have stored objects under the prefixes
    # (media, invoice PDFs, reports): every key lives under one of the three, and each of them exists.
    pages = aws("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert set(PREFIXES) <= set(keys)
    assert [k for k in keys if not k.startswith(tuple(PREFIXES))] == []


def test_queues_and_their_dead_letter_redrive(aws):
    sqs = aws("sqs")
    urls = sqs.list_queues()["QueueUrls"]
    assert sorted(url.rsplit("/", 1)[1] for url in urls) == sorted(QUEUES)

    def attributes(name):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]

    bulk, bulk_dlq = attributes("bulk-queue"), attributes("bulk-dlq")
    redrive = json.loads(bulk["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == bulk_dlq["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == Options.from_env(os.environ, "").bulk_max_receive_count  # 5 by default
    assert int(bulk["MessageRetentionPeriod"]) == 4 * DAY
    for dlq in ("bulk-dlq", "whatsapp-inbound-dlq", "inbound-dlq", "outbound-dlq"):
        assert int(attributes(dlq)["MessageRetentionPeriod"]) == 14 * DAY


def test_topic_and_ses_identity(aws):
    topics = [t["TopicArn"].rsplit(":", 1)[1] for t in aws("sns").list_topics()["Topics"]]
    assert topics == [TOPIC]
    assert aws("sesv2").get_email_identity(EmailIdentity=SES_IDENTITY)["IdentityType"] == "EMAIL_ADDRESS"


def test_user_pool_client_groups_and_users(stack, aws):
    idp = aws("cognito-idp")
    pool_id = stack.facts["WECARE_LOCAL_USER_POOL_ID"]
    assert [p["Id"] for p in idp.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == USER_POOL] == [pool_id]
    client = idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=stack.facts["WECARE_COGNITO_CLIENT_ID"])
    assert "ALLOW_ADMIN_USER_PASSWORD_AUTH" in client["UserPoolClient"]["ExplicitAuthFlows"]
    for role in ROLES:
        members = idp.list_users_in_group(UserPoolId=pool_id, GroupName=role)["Users"]
        assert [u["Username"] for u in members] == [role]
        assert members[0]["UserStatus"] == "CONFIRMED"  # a permanent password: no change forced at first sign-in


def test_bootstrap_again_finds_and_reuses_everything(stack, aws, tmp_path):
    # As a second `make run` against the same moto would: with the run dir's local.env already there.
    env_file = tmp_path / "local.env"
    shutil.copy(stack.run.local_env, env_file)
    again = bootstrap(stack.facts["WECARE_AWS_ENDPOINT_URL"], env_file)
    assert again.passwords == {role: stack.facts[f"WECARE_LOCAL_{role.upper()}_PASSWORD"] for role in ROLES}
    assert again.user_pool_id == stack.facts["WECARE_LOCAL_USER_POOL_ID"]
    assert again.client_id == stack.facts["WECARE_COGNITO_CLIENT_ID"]
    assert again.jwks_url == stack.facts["WECARE_COGNITO_JWKS_URL"]
    assert len(aws("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]) == 1
    assert len(aws("sqs").list_queues()["QueueUrls"]) == len(QUEUES)
    assert len(aws("sns").list_topics()["Topics"]) == 1
    assert stack.token("admin")  # the stack's own local.env still signs in


def test_connection_facts_match_the_user_pool(stack):
    facts = stack.facts
    pool_id = facts["WECARE_LOCAL_USER_POOL_ID"]
    assert facts["WECARE_COGNITO_ISSUER"] == f"https://cognito-idp.{facts['AWS_REGION']}.amazonaws.com/{pool_id}"
    assert facts["WECARE_COGNITO_JWKS_URL"] == f"{facts['WECARE_AWS_ENDPOINT_URL']}/{pool_id}/.well-known/jwks.json"
    with urllib.request.urlopen(facts["WECARE_COGNITO_JWKS_URL"], timeout=5) as reply:
        assert [k["kid"] for k in json.load(reply)["keys"]] == ["dummy"]
    assert (stack.run.local_env.stat().st_mode & 0o077) == 0  # passwords: readable by their owner only


def test_run_dir_holds_data_logs_and_spans(stack):
    trace_id = os.urandom(16).hex()
    with grpc.insecure_channel(stack.addresses["contacts"]) as channel:
        contacts_service_pb2_grpc.ContactsServiceStub(channel).ListContacts(
            pb.ListContactsRequest(page_size=1),
            metadata=[
                ("authorization", f"Bearer {stack.token('viewer')}"),
                ("traceparent", f"00-{trace_id}-{os.urandom(8).hex()}-01"),
            ],
        )
    assert {"ContactsTable.sqlite3", "AuditTable.sqlite3"} <= {p.name for p in stack.run.data.iterdir()}
    assert '"message": "serving"' in stack.run.log("contacts").read_text()
    assert stack.run.log("moto").stat().st_size > 0
    deadline = time.monotonic() + 10  # spans are exported in batches
    while time.monotonic() < deadline:
        if stack.run.traces.exists() and trace_id in stack.run.traces.read_text():
            break
        time.sleep(0.1)
    spans = jsonl.records(stack.run.traces)
    (span,) = [s for s in spans if s["trace_id"] == trace_id]
    assert span["service"] == "wecare-contacts"
    assert span["name"] == "wecare.contacts.v1.ContactsService/ListContacts"


def test_the_gateways_calls_reach_every_messaging_process(stack):
    logs = [stack.run.log("messaging"), stack.run.log("messaging-2")]
    assert all('"message": "serving"' in log.read_text() for log in logs)
    token = stack.token("operator")
    traces = set()
    for n in range(30):
        trace_id = os.urandom(16).hex()
        traces.add(trace_id)
        request = urllib.request.Request(
            f"http://{stack.addresses['gateway']}/v1/messages/msg-{n}-{os.urandom(4).hex()}",
            headers={"Authorization": f"Bearer {token}", "traceparent": f"00-{trace_id}-{os.urandom(8).hex()}-01"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:  # no such message: messaging itself says so
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code in (400, 404)
    deadline = time.monotonic() + 10  # spans are exported in batches
    while time.monotonic() < deadline:
        spans = jsonl.records(stack.run.traces)  # complete lines: the processes are still writing
        answered = [s for s in spans if s["trace_id"] in traces and s["service"] == "wecare-messaging"]
        if len({s["trace_id"] for s in answered}) == len(traces):
            break
        time.sleep(0.2)
    assert len({s["trace_id"] for s in answered}) == len(traces)
    assert len({s["instance"] for s in answered}) == 2  # round robin over both processes
