"""What every simulator shares (simulators/core.py): request bodies as real clients send them, and
the ignore_params knob."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest

from cdrtui.simulators.core import Knobs, SimServer
from cdrtui.simulators.voximplant import VoximplantSim

DATES = {"from_date": "2000-01-01 00:00:00", "to_date": "2100-01-01 00:00:00", "count": "3"}


@pytest.fixture
def voximplant() -> Iterator[tuple[VoximplantSim, str]]:
    sim = VoximplantSim(calls=30)
    with SimServer(sim) as server:
        yield sim, server.origin + sim.path


def bearer(sim: VoximplantSim) -> dict[str, str]:
    """A service-account JWT made here with pyjwt, as the vendor's docs describe it."""
    now = int(time.time())
    claims = json.dumps({"iss": sim.account_id, "iat": now, "exp": now + 60}).encode()
    token = jwt.api_jws.encode(claims, sim.private_key, algorithm="RS256", headers={"kid": sim.key_id})
    return {"Authorization": f"Bearer {token}"}


def multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    """A multipart/form-data body as Node's form-data package writes it."""
    boundary = f"--------------------------{uuid.uuid4().hex[:24]}"
    body = b""
    for name, value in fields.items():
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def chunked(body: bytes, size: int = 17) -> Iterator[bytes]:
    """The body in small pieces: httpx sends an iterator with Transfer-Encoding: chunked."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_chunked_multipart_body_reaches_the_voximplant_simulator(voximplant):
    """Voximplant's Node SDK: multipart/form-data, Transfer-Encoding chunked, cmd in the form."""
    sim, url = voximplant
    body, ctype = multipart({"cmd": "GetCallHistory", **DATES})
    with httpx.Client(headers=bearer(sim)) as http:
        request = http.build_request("POST", url, content=chunked(body), headers={"Content-Type": ctype})
        assert request.headers.get("transfer-encoding") == "chunked" and "content-length" not in request.headers
        answer = http.send(request)
        payload = answer.json()
        assert answer.status_code == 200 and payload["total_count"] == 30 and len(payload["result"]) == 3, payload
        # The connection is still usable: the chunked body was read to its end, not left in the socket.
        again = http.post(url, data={"cmd": "GetCallHistory", **DATES})
        assert again.json()["total_count"] == 30


def test_chunked_urlencoded_and_plain_bodies_agree(voximplant):
    sim, url = voximplant
    form = httpx.QueryParams({"cmd": "GetCallHistory", **DATES}).__str__().encode()
    urlencoded = {"Content-Type": "application/x-www-form-urlencoded"}
    with httpx.Client(headers=bearer(sim)) as http:
        plain = http.post(url, content=form, headers=urlencoded).json()
        pieces = http.post(url, content=chunked(form, 5), headers=urlencoded).json()
    assert plain == pieces and plain["total_count"] == 30


def test_a_malformed_chunked_body_is_a_400_not_a_hang(voximplant):
    _sim, url = voximplant
    host, port = url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(b"POST /platform_api HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        assert conn.recv(100).startswith(b"HTTP/1.1 400")


def test_ignore_params_hides_a_parameter_from_query_form_and_json():
    sim = VoximplantSim(calls=30, knobs=Knobs(ignore_params={"count"}))
    with SimServer(sim) as server, httpx.Client(headers=bearer(sim)) as http:
        url = server.origin + sim.path
        by_query = http.post(f"{url}/GetCallHistory", params=DATES).json()
        by_form = http.post(url, data={"cmd": "GetCallHistory", **DATES}).json()
    # count=3 was not seen: the documented default page of 20 came back.
    assert len(by_query["result"]) == len(by_form["result"]) == 20
    assert all("count" not in params for params in sim.history_params)
