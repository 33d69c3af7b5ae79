"""Matrix 7 — TLS: verified by default for every provider. A server signed by a private CA (a
self-signed PBX) fails with a message that names the certificate problem and `--ca-bundle`, and
works with `--ca-bundle`; `--insecure` (flag or profile) warns on every run.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from harness import PROVIDERS, loaded, run_cli, running, status_text, tui_app

from cdrtui.config import Config, Profile
from cdrtui.secrets import keyring_set

INSECURE = "warning: TLS certificate verification is OFF"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "pbx-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*(names or ("127.0.0.1", "localhost"))).configure_cert(context)
    return context


@pytest.fixture
def tls_sim(request: pytest.FixtureRequest, ca: trustme.CA) -> Iterator[object]:
    with running(request.param, calls=20, tls=server_context(ca)) as sim:
        yield sim


@pytest.mark.parametrize("tls_sim", PROVIDERS, indirect=True)
def test_a_private_ca_is_refused_by_default_and_accepted_with_ca_bundle(tls_sim, ca_file: str) -> None:
    provider = tls_sim.provider
    refused = run_cli(tls_sim, provider, debug=False)
    assert refused.code == 4 and refused.out == "" and len(refused.errors) == 1
    assert "TLS certificate did not verify (unable to get local issuer certificate)" in refused.err
    assert "--ca-bundle PATH" in refused.err and "--insecure" in refused.err
    trusted = run_cli(tls_sim, provider, "--ca-bundle", ca_file)
    assert trusted.code == 0 and len(trusted.rows()) == 20 and INSECURE not in trusted.err


@pytest.mark.parametrize("tls_sim", PROVIDERS, indirect=True)
def test_insecure_works_and_warns_every_time(tls_sim) -> None:
    for _ in range(2):
        run = run_cli(tls_sim, tls_sim.provider, "--insecure", debug=False)
        assert run.code == 0 and run.errors == [
            f"cdrtui: {INSECURE} (--insecure); anyone on the path can read and alter traffic"
        ]


def test_a_certificate_for_another_host_names_the_mismatch(ca: trustme.CA, ca_file: str) -> None:
    with running("portsip", calls=5, tls=server_context(ca, "pbx.other.example")) as sim:
        run = run_cli(sim, "portsip", "--ca-bundle", ca_file, debug=False)
    assert run.code == 4 and "certificate is not valid for '127.0.0.1'" in run.err and "--ca-bundle" in run.err


def test_https_to_a_plain_http_port_says_check_the_scheme() -> None:
    with running("portsip", calls=5) as sim:
        url = sim.env()["CDRTUI_PORTSIP_BASE_URL"].replace("http://", "https://")
        run = run_cli(sim, "portsip", env={"CDRTUI_PORTSIP_BASE_URL": url}, debug=False)
    assert run.code == 4 and "TLS failed" in run.err and "scheme and port" in run.err


def test_a_ca_bundle_that_is_not_a_certificate_is_a_usage_error(tmp_path: Path) -> None:
    junk = tmp_path / "not-a-ca.pem"
    junk.write_text("hello\n")
    with running("portsip", calls=5) as sim:
        run = run_cli(sim, "portsip", "--ca-bundle", str(junk), debug=False)
    assert run.code == 2 and len(run.errors) == 1 and "not a usable CA bundle" in run.err
    assert "Traceback" not in run.err


def test_a_profile_that_turns_verification_off_warns_too(ca: trustme.CA) -> None:
    with running("portsip", calls=5, tls=server_context(ca)) as sim:
        creds = sim.credentials()
        config = Config.load()
        config.profiles["lab"] = Profile(
            "lab",
            "portsip",
            base_url=sim.base_url,
            insecure=True,
            fields={"username": creds["username"], "domain": creds["domain"]},
        )
        config.save()
        keyring_set("lab", "password", creds["password"])
        run = run_cli(None, "portsip", "--profile", "lab", debug=False)
    assert run.code == 0 and len(run.rows()) == 5
    assert run.errors == [
        f"cdrtui: {INSECURE} for profile 'lab' (insecure = true); anyone on the path can read and alter traffic"
    ]


async def test_the_tui_marks_an_unverified_session(ca: trustme.CA) -> None:
    with running("portsip", calls=5, tls=server_context(ca)) as sim:
        app = tui_app([sim])
        app.sessions[0].provider.verify = False
        async with app.run_test(size=(140, 30)) as pilot:
            started = time.monotonic()
            while not loaded(app) and time.monotonic() - started < 60:
                await pilot.pause(0.05)
            assert loaded(app)
            assert "TLS NOT VERIFIED" in status_text(app)
