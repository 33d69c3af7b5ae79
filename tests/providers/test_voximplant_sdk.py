"""The vendor's own clients against the Voximplant simulator (issue 13).

1. The official Python SDK, `voximplant-apiclient` (the `test` extra), lists calls from the simulator
   over TLS, as tests/perf/bench.py figure 6 runs it: endpoint = host:port, CA via REQUESTS_CA_BUNDLE.
2. A replay of the requests the SDKs make, as their public code builds them (apiclient-python
   `_perform_request`/`build_auth_header`, apiclient-go `NewRequest`), with plain httpx.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from cdrtui.simulators.core import SimServer
from cdrtui.simulators.voximplant import SID_BASE, VoximplantSim

UTC = timezone.utc
ANCHOR = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
SINCE, UNTIL = ANCHOR - timedelta(days=40), ANCHOR + timedelta(minutes=1)


def expected_ids(total: int) -> list[int]:
    return [SID_BASE + total - 1 - p for p in range(total)]


@contextmanager
def served(tls: bool = False, **kwargs: Any) -> Iterator[tuple[VoximplantSim, SimServer, str | None]]:
    """The simulator, over TLS with a throw-away CA when asked (the SDK only speaks https)."""
    sim = VoximplantSim(anchor=ANCHOR, **kwargs)
    if not tls:
        with SimServer(sim) as server:
            yield sim, server, None
        return
    trustme = pytest.importorskip("trustme", reason="trustme (the test extra) makes the simulator's certificate")
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with ca.cert_pem.tempfile() as ca_file, SimServer(sim, ssl_context=context) as server:
        yield sim, server, ca_file


# --- 1. the official Python SDK ---------------------------------------------------------------

try:
    from voximplant.apiclient import VoximplantAPI, VoximplantException
except ImportError as exc:  # the only reason to skip: the vendor's package is not installed here
    VoximplantAPI = VoximplantException = None  # type: ignore[assignment,misc]
    SDK_MISSING: str | None = f"voximplant-apiclient cannot be imported ({exc}); pip install -e '.[test]'"
else:
    SDK_MISSING = None

needs_sdk = pytest.mark.skipif(SDK_MISSING is not None, reason=SDK_MISSING or "")


@contextmanager
def sdk(monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> Iterator[tuple[Any, VoximplantSim]]:
    with served(tls=True, **kwargs) as (sim, server, ca_file):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))  # the SDK's own way to trust a CA
        endpoint = server.origin.removeprefix("https://")
        yield VoximplantAPI(sim.credentials()["credentials"], endpoint=endpoint), sim


def sdk_list_all(api: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """Paging as the SDK's docs show: count, offset += count until a short page."""
    sessions: list[dict[str, Any]] = []
    while True:
        res = api.get_call_history(SINCE, UNTIL, count=1000, offset=len(sessions), **kwargs)
        sessions.extend(res["result"])
        if len(res["result"]) < 1000:
            return sessions


@needs_sdk
def test_the_official_sdk_reads_the_account(monkeypatch: pytest.MonkeyPatch) -> None:
    with sdk(monkeypatch, calls=5, currency="EUR") as (api, sim):
        info = api.get_account_info()
    assert info["result"]["currency"] == "EUR" and info["result"]["account_id"] == sim.account_id
    assert sim.claims[-1]["iss"] == str(sim.account_id) and sim.claims[-1]["exp"] - sim.claims[-1]["iat"] == 29


@needs_sdk
@pytest.mark.parametrize("total_count", ["documented", "never"])
def test_the_official_sdk_lists_every_call(monkeypatch: pytest.MonkeyPatch, total_count: str) -> None:
    with sdk(monkeypatch, calls=2300, total_count=total_count) as (api, sim):
        flags = {"with_calls": True, "with_records": True, "with_other_resources": True, "desc_order": True}
        sessions = sdk_list_all(api, **flags)
        first = api.get_call_history(SINCE, UNTIL, count=5)
    assert [s["call_session_history_id"] for s in sessions] == expected_ids(2300)
    # The SDK's parsing ran: dates became aware datetimes, nested lists kept their shape.
    assert all(isinstance(s["start_date"], datetime) and s["start_date"].tzinfo is not None for s in sessions)
    legs = [leg for s in sessions for leg in s.get("calls", [])]
    assert legs and all(isinstance(leg["start_time"], datetime) for leg in legs)
    assert any(s.get("records") for s in sessions) and any(s.get("other_resource_usage") for s in sessions)
    assert ("total_count" in first) == (total_count == "documented") and first["count"] == 5
    assert first["result"][0]["call_session_history_id"] == SID_BASE  # ascending unless desc_order
    sent = sim.history_params[-1]
    assert sent["cmd"] == "GetCallHistory" and sent["from_date"] == SINCE.strftime("%Y-%m-%d %H:%M:%S")
    assert sim.history_params[0]["with_calls"] == "True"  # Python's bool, as the SDK sends it


@needs_sdk
def test_the_official_sdk_sees_the_documented_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with sdk(monkeypatch, calls=5) as (api, _sim):
        with pytest.raises(VoximplantException) as too_far:
            api.get_call_history(SINCE, UNTIL, offset=10_001)
        with pytest.raises(VoximplantException) as backwards:
            api.get_call_history(UNTIL, SINCE)
        api.credentials = {**api.credentials, "key_id": "not-our-key"}
        with pytest.raises(VoximplantException) as refused:
            api.get_call_history(SINCE, UNTIL)
    assert (too_far.value.code, backwards.value.code, refused.value.code) == (101, 123, 100)


# --- 2. the SDKs' requests, replayed ----------------------------------------------------------


def python_sdk_token(credentials_path: str) -> str:
    """apiclient-python build_auth_header: iss as a string, iat = now − 5, exp = now + 24."""
    key = json.loads(Path(credentials_path).read_text())
    now = int(time.time())
    claims = {"iss": str(key["account_id"]), "iat": now - 5, "exp": now + 24}
    return jwt.encode(claims, key["private_key"], algorithm="RS256", headers={"kid": key["key_id"]})


def test_replayed_python_sdk_requests() -> None:
    """_perform_request: a form POST to /platform_api with `cmd`, booleans as "True"/"False", UTC dates."""
    with served(calls=40) as (sim, server, _):
        url = server.origin + "/platform_api"
        headers = {"Authorization": "Bearer " + python_sdk_token(sim.credentials()["credentials"])}
        form = {
            "cmd": "GetCallHistory",
            "from_date": SINCE.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "to_date": UNTIL.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "with_calls": "True",
            "with_records": "True",
            "with_other_resources": "False",
            "desc_order": "True",
            "with_total_count": "True",
            "count": "25",
            "offset": "20",
        }
        answer = httpx.post(url, data=form, headers=headers)
        info = httpx.post(url, data={"cmd": "GetAccountInfo"}, headers=headers)
    assert answer.headers["content-type"].split(";")[0] == "application/json"  # the SDK branches on it
    body = answer.json()
    assert body["total_count"] == 40 and body["count"] == 20 and body["timezone"] == "Etc/GMT"
    assert [s["call_session_history_id"] for s in body["result"]] == expected_ids(40)[20:]
    assert all("calls" in s and "records" in s and "other_resource_usage" not in s for s in body["result"])
    for session in body["result"]:  # what _api_datetime_utc_to_py parses
        datetime.strptime(session["start_date"], "%Y-%m-%d %H:%M:%S")
    assert info.json()["result"]["currency"] == "USD"


def test_replayed_go_sdk_request() -> None:
    """apiclient-go NewRequest: multipart/form-data POST to /platform_api/GetCallHistory, "true" booleans,
    credentials read from CreateKey's {"result": {...}} shape."""
    with served(calls=12, credentials_shape="result") as (sim, server, _):
        key = json.loads(Path(sim.credentials()["credentials"]).read_text())["result"]
        now = int(time.time())
        token = jwt.encode(
            {"iss": str(key["account_id"]), "iat": now, "exp": now + 30},
            key["private_key"],
            algorithm="RS256",
            headers={"kid": key["key_id"]},
        )
        fields = {
            "from_date": SINCE.strftime("%Y-%m-%d %H:%M:%S"),
            "to_date": UNTIL.strftime("%Y-%m-%d %H:%M:%S"),
            "with_calls": "true",
            "count": "5",
        }
        answer = httpx.post(
            server.origin + "/platform_api/GetCallHistory",
            files={k: (None, v) for k, v in fields.items()},
            headers={"Authorization": f"Bearer {token}"},
        )
    body = answer.json()
    assert answer.status_code == 200 and body["total_count"] == 12 and len(body["result"]) == 5
    assert all("calls" in s for s in body["result"])


def test_replayed_node_sdk_request() -> None:
    """apiclient-nodejs makeRequest: `form-data` multipart POST to /platform_api with `cmd`, streamed
    (Transfer-Encoding: chunked), booleans as "true" (TypeTransformer), JWT exp = iat + 64."""
    with served(calls=15) as (sim, server, _):
        key = json.loads(Path(sim.credentials()["credentials"]).read_text())
        now = int(time.time())
        token = jwt.encode(
            {"iss": str(key["account_id"]), "iat": now, "exp": now + 64},
            key["private_key"],
            algorithm="RS256",
            headers={"kid": key["key_id"]},
        )
        fields = {
            "cmd": "GetCallHistory",
            "from_date": SINCE.strftime("%Y-%m-%d %H:%M:%S"),
            "to_date": UNTIL.strftime("%Y-%m-%d %H:%M:%S"),
            "with_calls": "true",
            "desc_order": "true",
            "count": "4",
        }
        boundary = "--------------------------515890814546601021194782"

        def parts() -> Iterator[bytes]:  # a generator body: httpx streams it chunked, as form-data does
            for name, value in fields.items():
                yield f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            yield f"--{boundary}--\r\n".encode()

        answer = httpx.post(
            server.origin + "/platform_api",
            content=parts(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
    assert sim.history_params[-1]["cmd"] == "GetCallHistory"
    body = answer.json()
    assert body["total_count"] == 15 and [s["call_session_history_id"] for s in body["result"]] == expected_ids(15)[:4]
