"""`make token`: a bearer token for a local user, from the embedded AWS's Cognito (ADMIN_USER_PASSWORD_AUTH).

Reads the connection facts `make run` wrote to `<run dir>/local.env` and prints the token as the last line of
output, so `TOKEN=$(make token | tail -1)` works. `--user operator|viewer` for another role, `--id-token` for the
ID token instead of the access token."""

from __future__ import annotations

import argparse
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from localrun.bootstrap import ROLES, read_env_file
from localrun.rundir import RunDir


class StackNotUp(Exception):
    pass


def fetch_token(run_dir: RunDir, user: str = "admin", id_token: bool = False) -> str:
    """A fresh token for `user` from the local stack whose facts are in run_dir's local.env."""
    env_file = run_dir.local_env
    if not env_file.exists():
        raise StackNotUp(f"{env_file} does not exist: start the local stack with `make run` first")
    facts = read_env_file(env_file)
    endpoint = facts["WECARE_AWS_ENDPOINT_URL"]
    password = facts.get(f"WECARE_LOCAL_{user.upper()}_PASSWORD")
    if password is None:
        raise StackNotUp(f"no local user {user!r} in {env_file}")
    idp = boto3.client(
        "cognito-idp",
        endpoint_url=endpoint,
        region_name=facts.get("AWS_REGION", "us-east-1"),
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
    )
    try:
        reply = idp.admin_initiate_auth(
            UserPoolId=facts["WECARE_LOCAL_USER_POOL_ID"],
            ClientId=facts["WECARE_COGNITO_CLIENT_ID"],
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": facts[f"WECARE_LOCAL_{user.upper()}_USER"], "PASSWORD": password},
        )
    except EndpointConnectionError:
        raise StackNotUp(f"the embedded AWS at {endpoint} is not answering: start the stack with `make run`") from None
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code == "NotAuthorizedException":  # the pool is there but the password in local.env is not its own
            raise StackNotUp(
                f"{endpoint} refused the password in {env_file} for {user!r}: restart `make run`"
            ) from None
        # Another moto on that port, or one restarted without bootstrapping: the pool in local.env is not there.
        raise StackNotUp(f"{endpoint} does not know the local user pool ({code}): restart `make run`") from None
    except BotoCoreError as exc:
        raise StackNotUp(f"cannot reach the embedded AWS at {endpoint} ({exc}): start it with `make run`") from None
    result = reply["AuthenticationResult"]
    return result["IdToken"] if id_token else result["AccessToken"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make token", description=__doc__.splitlines()[0])
    parser.add_argument("--user", choices=sorted(ROLES), default="admin", help="local user (default admin)")
    parser.add_argument("--id-token", action="store_true", help="print the ID token instead of the access token")
    args = parser.parse_args(argv)
    try:
        token = fetch_token(RunDir.from_env(), args.user, args.id_token)
    except StackNotUp as exc:
        print(f"make token: {exc}", file=sys.stderr)
        return 1
    print(
        f"# {'ID' if args.id_token else 'access'} token for local user {args.user!r}; send as `authorization: Bearer`"
    )
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
