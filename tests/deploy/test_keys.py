"""python -m deploy.keys: a key pair for every service the access table names, public halves into the overlay's
ConfigMap file, private halves into a folder of the operator's (mode 0600); a rotation publishes a second key of
one service, and --retire keeps only its newest. The keys it writes are the ones the services take."""

from __future__ import annotations

import stat

import pytest

from deploy import keys
from runtime.auth import service_identities
from runtime.service_identity import ServiceKeys, ServiceTokens, public_text
from runtime.settings import Settings


@pytest.fixture
def overlay(tmp_path, monkeypatch):
    monkeypatch.setattr(keys, "OVERLAYS", tmp_path / "deploy" / "k8s" / "overlays")
    folder = keys.OVERLAYS / "prod"
    folder.mkdir(parents=True)
    return folder / keys.FILE


def settings(path, private: str) -> Settings:
    line = path.read_text().splitlines()[-1]
    return Settings.from_env({line.split("=", 1)[0]: line.split("=", 1)[1], "WECARE_SERVICE_KEY": private})


def test_first_run_makes_every_services_key_pair(overlay, tmp_path, capsys):
    out = tmp_path / "secret-keys"
    assert keys.main(["prod", "--out", str(out)]) == 0
    entries = keys.read(overlay)
    assert [e.partition("=")[0] for e in entries] == list(service_identities())
    for name in service_identities():
        private_file = out / f"{name}.key"
        assert stat.S_IMODE(private_file.stat().st_mode) == 0o600
        private = private_file.read_text()
        assert f"{name}={public_text(private)}" in entries
        configured = settings(overlay, private)  # Settings.check: published, well formed
        token = ServiceTokens(configured, name).token()  # the key is that service's
        assert ServiceKeys(configured).verify(token, _kid(token)).service == name
    printed = capsys.readouterr().out
    assert f"create secret generic bulk-service-key --from-file=key={out / 'bulk.key'}" in printed
    # Run again: nothing new is needed, nothing changes
    before = overlay.read_text()
    assert keys.main(["prod"]) == 0
    assert overlay.read_text() == before


def test_rotation_publishes_a_second_key_then_retires_the_old(overlay, tmp_path):
    keys.main(["prod", "--out", str(tmp_path / "first")])
    old = (tmp_path / "first" / "bulk.key").read_text()
    keys.main(["prod", "--out", str(tmp_path / "second"), "--service", "bulk"])
    new = (tmp_path / "second" / "bulk.key").read_text()
    assert sorted((tmp_path / "second").iterdir()) == [tmp_path / "second" / "bulk.key"]
    bulk = [e for e in keys.read(overlay) if e.startswith("bulk=")]
    assert bulk == [f"bulk={public_text(old)}", f"bulk={public_text(new)}"]
    for private in (old, new):  # during the rotation both keys are bulk's
        ServiceTokens(settings(overlay, private), "bulk")
    keys.main(["prod", "--retire", "bulk"])
    assert [e for e in keys.read(overlay) if e.startswith("bulk=")] == [f"bulk={public_text(new)}"]
    with pytest.raises(ValueError, match="publish it"):
        settings(overlay, old)
    assert len(keys.read(overlay)) == len(service_identities())


def test_refuses_unknown_services_and_new_keys_without_a_folder(overlay):
    with pytest.raises(SystemExit):
        keys.main(["prod", "--service", "payroll", "--out", "/nonexistent"])
    with pytest.raises(SystemExit):
        keys.main(["prod"])  # keys to make, nowhere to put the private halves
    assert not overlay.exists()


def _kid(token: str) -> str:
    import jwt

    return jwt.get_unverified_header(token)["kid"]
