"""The AWS store path as a whole process: the same stack with WECARE_STORE=dynamodb keeps contacts and the audit
log in DynamoDB (moto's, on the embedded AWS) and serves the same API through the gateway."""

from __future__ import annotations

import pytest
import requests

from localrun.handle import running_stack

pytestmark = pytest.mark.process


def test_contacts_on_dynamodb_through_the_gateway(tmp_path):
    with running_stack(tmp_path, extra_env={"WECARE_STORE": "dynamodb"}) as stack:
        base = f"http://{stack.addresses['gateway']}/v1"
        auth = {"Authorization": f"Bearer {stack.token('admin')}"}
        made = requests.post(
            f"{base}/contacts",
            json={"displayName": "Asha Verma", "phoneNumber": "098123 45678"},
            headers=auth,
            timeout=10,
        )
        assert made.status_code == 200, made.text
        name = made.json()["name"]
        again = requests.post(f"{base}/contacts", json={"phoneNumber": "+919812345678"}, headers=auth, timeout=10)
        assert again.status_code == 409  # the number's claim item, in DynamoDB
        found = requests.get(f"{base}/contacts:search", params={"query": "asha"}, headers=auth, timeout=10).json()
        assert [c["name"] for c in found["contacts"]] == [name]
        patched = requests.patch(
            f"{base}/{name}",
            params={"updateMask": "email"},
            json={"email": "asha@example.com"},
            headers=auth,
            timeout=10,
        )
        assert patched.json()["email"] == "asha@example.com"
        audit = requests.get(f"{base}/auditRecords", params={"resource": name}, headers=auth, timeout=10).json()
        assert [r["method"].rsplit("/", 1)[1] for r in audit["auditRecords"]] == ["UpdateContact", "CreateContact"]

        dynamodb = stack.aws_client("dynamodb")
        tables = dynamodb.list_tables()["TableNames"]
        assert {"ContactsTable", "AuditTable"} <= set(tables)
        assert (
            dynamodb.scan(TableName="ContactsTable", Select="COUNT")["Count"] > 0
        )  # a test may scan; services never do
        assert not (stack.run.data / "ContactsTable.sqlite3").exists()
