"""Creates, in the embedded AWS (a moto server), the resources docs/DESIGN.md lists for the running system: the media
bucket and its three prefixes, the SQS queues (bulk-queue redriving to bulk-dlq), the SNS topic, the SES identity,
and a Cognito user pool with its app client, the three role groups and one local user in each.

Idempotent: run again against the same moto, it finds and reuses what is there. It returns the connection facts
and writes them to `<run dir>/local.env`: the settings the services need (WECARE_COGNITO_*, the endpoint) and,
under WECARE_LOCAL_*, facts for people and tools on this machine only (the pool id, the local users' passwords).

boto3 is fine here: this is a script, not a service's event loop."""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

BUCKET = "stream.wecare.digital"
PREFIXES = (
    "whatsapp-media/whatsapp-media-incoming/",
    "whatsapp-media/whatsapp-media-outgoing/",
    "base-wecare-digital/reports/",
)
TOPIC = "base-wecare-digital"
SES_IDENTITY = "one@wecare.digital"
# Queue -> its dead-letter queue (None: it is itself a dead-letter queue, or has none).
QUEUES: dict[str, str | None] = {
    "whatsapp-inbound-dlq": None,
    "inbound-dlq": None,
    "outbound-dlq": None,
    "bulk-dlq": None,
    "bulk-queue": "bulk-dlq",
}
DEAD_LETTER_QUEUES = {"whatsapp-inbound-dlq", "inbound-dlq", "outbound-dlq", "bulk-dlq"}
USER_POOL = "wecare-local"
APP_CLIENT = "wecare-local-app"
# The app client is public (no secret), as a browser app's must be: the console signs in with USER_PASSWORD_AUTH
# and refreshes; `make token` and the tests use ADMIN_USER_PASSWORD_AUTH.
AUTH_FLOWS = ("ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH")
ROLES = ("viewer", "operator", "admin")  # the Cognito groups; each local user is named after its group
DAY = 86_400


@dataclass(frozen=True)
class Options:
    """What the local resources are made with. Read once from the environment by the stack."""

    region: str = "us-east-1"
    bulk_max_receive_count: int = 5  # receives of one bulk chunk before it goes to bulk-dlq
    # A dead letter outlives its source message: SQS keeps a moved message's original enqueue time.
    source_retention_seconds: int = 4 * DAY
    dlq_retention_seconds: int = 14 * DAY

    @classmethod
    def from_env(cls, environ: Mapping[str, str], region: str) -> Options:
        """`region` is the services' own (Settings.region), so the resources are where they will look."""
        count = environ.get("WECARE_BULK_MAX_RECEIVE_COUNT")
        return cls(region=region, bulk_max_receive_count=int(count) if count else cls.bulk_max_receive_count)


@dataclass(frozen=True)
class LocalAws:
    """The connection facts of one bootstrapped embedded AWS."""

    endpoint_url: str
    region: str
    user_pool_id: str
    client_id: str
    passwords: dict[str, str]  # local user name -> password
    queue_urls: dict[str, str] = field(default_factory=dict)
    topic_arn: str = ""

    @property
    def issuer(self) -> str:
        # The issuer stays AWS's even though moto serves the keys: tokens carry it as AWS would.
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        return f"{self.endpoint_url}/{self.user_pool_id}/.well-known/jwks.json"

    def settings_env(self) -> dict[str, str]:
        """What every local process needs in its environment to use the embedded AWS and its user pool."""
        return {
            "WECARE_AWS_ENDPOINT_URL": self.endpoint_url,
            "WECARE_COGNITO_ISSUER": self.issuer,
            "WECARE_COGNITO_JWKS_URL": self.jwks_url,
            "WECARE_COGNITO_CLIENT_ID": self.client_id,
            "WECARE_COGNITO_ENDPOINT_URL": self.endpoint_url,  # where the console's browser signs in
            "AWS_REGION": self.region,
        }

    def local_env(self) -> dict[str, str]:
        """Facts for people and local tools only (`make token`); never passed to a service."""
        env = {"WECARE_LOCAL_USER_POOL_ID": self.user_pool_id}
        for user, password in self.passwords.items():
            env[f"WECARE_LOCAL_{user.upper()}_USER"] = user
            env[f"WECARE_LOCAL_{user.upper()}_PASSWORD"] = password
        return env

    def write(self, path: Path) -> None:
        lines = ["# Written by localrun.bootstrap for the local run only. Passwords here are for moto's Cognito."]
        lines += [f"{key}={value}" for key, value in {**self.settings_env(), **self.local_env()}.items()]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(path)


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def bootstrap(endpoint_url: str, env_file: Path, options: Options | None = None) -> LocalAws:
    """Creates (or finds) every local resource in the moto server at endpoint_url; writes the facts to env_file."""
    options = options or Options()
    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name=options.region
    )
    config = Config(retries={"mode": "standard", "max_attempts": 3})

    def client(service: str):
        return session.client(service, endpoint_url=endpoint_url, config=config)

    _bucket(client("s3"))
    queue_urls = _queues(client("sqs"), options)
    topic_arn = client("sns").create_topic(Name=TOPIC)["TopicArn"]  # create_topic returns the existing one
    _ses_identity(client("sesv2"))
    known = read_env_file(env_file) if env_file.exists() else {}
    pool_id, client_id, passwords = _user_pool(client("cognito-idp"), known)
    local = LocalAws(endpoint_url, options.region, pool_id, client_id, passwords, queue_urls, topic_arn)
    local.write(env_file)
    return local


def _bucket(s3) -> None:
    try:
        s3.head_bucket(Bucket=BUCKET)
    except ClientError:
        s3.create_bucket(Bucket=BUCKET)
    for prefix in PREFIXES:
        s3.put_object(Bucket=BUCKET, Key=prefix, Body=b"")  # a folder marker: an empty object named like the prefix


def _queues(sqs, options: Options) -> dict[str, str]:
    urls: dict[str, str] = {}
    for name, dead_letter in QUEUES.items():  # dead-letter queues come first in QUEUES
        retention = options.dlq_retention_seconds if name in DEAD_LETTER_QUEUES else options.source_retention_seconds
        attributes = {"MessageRetentionPeriod": str(retention)}
        if dead_letter:
            dlq_arn = sqs.get_queue_attributes(QueueUrl=urls[dead_letter], AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(options.bulk_max_receive_count)}
            )
        try:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)  # the same options as a fresh start
        except ClientError as exc:
            if "NonExistentQueue" not in exc.response["Error"]["Code"]:
                raise
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        urls[name] = url
    return urls


def _ses_identity(sesv2) -> None:
    try:
        sesv2.get_email_identity(EmailIdentity=SES_IDENTITY)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NotFoundException":
            raise
        sesv2.create_email_identity(EmailIdentity=SES_IDENTITY)


def _user_pool(idp, known: Mapping[str, str]) -> tuple[str, str, dict[str, str]]:
    pool_id = _find(idp.list_user_pools, "UserPools", "Name", USER_POOL, MaxResults=60)
    if pool_id is None:
        pool_id = idp.create_user_pool(PoolName=USER_POOL)["UserPool"]["Id"]
    client_id = _find(idp.list_user_pool_clients, "UserPoolClients", "ClientName", APP_CLIENT, UserPoolId=pool_id)
    if client_id is None:
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id, ClientName=APP_CLIENT, GenerateSecret=False, ExplicitAuthFlows=list(AUTH_FLOWS)
        )["UserPoolClient"]["ClientId"]
    else:  # a pool from an earlier run: the same flows as a fresh one
        idp.update_user_pool_client(
            UserPoolId=pool_id, ClientId=client_id, ClientName=APP_CLIENT, ExplicitAuthFlows=list(AUTH_FLOWS)
        )
    passwords = {}
    for role in ROLES:
        try:
            idp.get_group(GroupName=role, UserPoolId=pool_id)
        except idp.exceptions.ResourceNotFoundException:
            idp.create_group(GroupName=role, UserPoolId=pool_id, Description=f"WECARE role {role}")
        user = role
        try:
            idp.admin_get_user(UserPoolId=pool_id, Username=user)
        except idp.exceptions.UserNotFoundException:
            idp.admin_create_user(UserPoolId=pool_id, Username=user, MessageAction="SUPPRESS")
        # Keep the password a developer already has from an earlier run's local.env; otherwise make one.
        password = known.get(f"WECARE_LOCAL_{user.upper()}_PASSWORD") or _new_password()
        idp.admin_set_user_password(UserPoolId=pool_id, Username=user, Password=password, Permanent=True)
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=user, GroupName=role)
        passwords[user] = password
    return pool_id, client_id, passwords


def _find(list_call, items_key: str, name_key: str, name: str, **kwargs) -> str | None:
    token = None
    while True:
        page = list_call(**kwargs, **({"NextToken": token} if token else {}))
        for item in page.get(items_key, []):
            if item.get(name_key) == name:
                return item.get("Id") or item.get("ClientId")
        token = page.get("NextToken")
        if not token:
            return None


def _new_password() -> str:
    # Meets Cognito's default policy: upper, lower, digit and symbol.
    alphabet = string.ascii_letters + string.digits
    return "Wc1!" + "".join(secrets.choice(alphabet) for _ in range(16))
