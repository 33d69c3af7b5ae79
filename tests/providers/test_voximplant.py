"""Voximplant client against its simulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from cdrtui.errors import AuthError, ConfigError, ProviderError, RateLimited
from cdrtui.model import CallFilter, Direction, Status
from cdrtui.providers.http import Kind, RetryPolicy
from cdrtui.providers.voximplant import ServiceAccountAuth, Voximplant, build_details, parse_session, read_envelope
from cdrtui.providers.voximplant_window import INTERPOLATION_STEPS, Probe, WindowIndex, locate
from cdrtui.simulators.core import Knobs, SimServer
from cdrtui.simulators.voximplant import SID_BASE, VoximplantSim

UTC = timezone.utc
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, timeout=10)
SEED = json.loads((Path(__file__).parent / "voximplant_fixtures" / "seed_session.json").read_text())
SEED_WINDOW = CallFilter(since=datetime(2024, 5, 1, tzinfo=UTC), until=datetime(2024, 6, 1, tzinfo=UTC))


@contextmanager
def served(**kwargs: Any) -> Iterator[tuple[VoximplantSim, str]]:
    sim = VoximplantSim(**kwargs)
    with SimServer(sim) as server:
        yield sim, server.origin + sim.path


def client(sim: VoximplantSim, url: str, **kwargs: Any) -> Voximplant:
    return Voximplant(sim.credentials(), base_url=url, policy=FAST, **kwargs)


def now_filter(**kwargs: Any) -> CallFilter:
    return CallFilter(**kwargs).pinned(datetime.now(UTC))


def expected_ids(total: int, start: int, stop: int) -> list[str]:
    """Generated session ids at newest-first positions [start, stop) of a `total`-session account."""
    return [str(SID_BASE + total - 1 - p) for p in range(start, min(stop, total))]


async def list_all(provider: Voximplant, flt: CallFilter, size: int) -> list[Any]:
    calls, index = [], 0
    while True:
        page = await provider.fetch_page(flt, index, size)
        calls.extend(page.calls)
        index += 1
        if page.last:
            return calls
        assert page.calls, "an empty page must be the last"


# --- credentials and auth ---------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["flat", "result"])
async def test_both_credentials_shapes_authenticate(shape: str) -> None:
    with served(calls=10, credentials_shape=shape) as (sim, url):
        path = sim.credentials()["credentials"]
        data = json.loads(Path(path).read_text())
        assert ("result" in data) == (shape == "result")
        async with client(sim, url) as vox:
            assert await vox.check() == "account acme (4714487), currency USD, zone America/Los_Angeles"


def test_env_names_the_credentials_file_and_base_url() -> None:
    sim = VoximplantSim(calls=1)
    env = sim.env("http://127.0.0.1:9")
    assert env["CDRTUI_VOXIMPLANT_BASE_URL"] == "http://127.0.0.1:9/platform_api"
    assert Path(env["CDRTUI_VOXIMPLANT_CREDENTIALS"]).is_file()
    assert Voximplant.spec.fields[0].env == "CDRTUI_VOXIMPLANT_CREDENTIALS"
    assert not Voximplant.spec.fields[0].secret and Voximplant.spec.fields[0].kind == "path"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        ("not json {", "is not JSON"),
        ('["a list"]', "not a service account"),
        ('{"key_id": "k", "private_key": "x"}', "no numeric account_id"),
        ('{"account_id": 1, "private_key": "x"}', "no key_id"),
        ('{"account_id": 1, "key_id": "k"}', "no private_key"),
        (
            '{"account_id": 1, "key_id": "k", "private_key": "-----BEGIN RSA PRIVATE KEY-----\\nTOPSECRETKEYMATERIAL\\n'
            '-----END RSA PRIVATE KEY-----"}',
            "not an unencrypted PEM key",
        ),
    ],
)
def test_unusable_credentials_are_a_config_error(tmp_path: Path, content: str | None, expected: str) -> None:
    path = tmp_path / "credentials.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as info:
        Voximplant({"credentials": str(path)})
    message = str(info.value)
    assert expected in message and "CDRTUI_VOXIMPLANT_CREDENTIALS" in message
    assert "TOPSECRET" not in message


def test_missing_credentials_name_the_variable() -> None:
    with pytest.raises(ConfigError, match="CDRTUI_VOXIMPLANT_CREDENTIALS"):
        Voximplant({})


async def test_every_request_carries_a_fresh_jwt() -> None:
    with served(calls=50) as (sim, url):
        async with client(sim, url) as vox:
            ticks = iter(range(10_000))
            start = int(time.time()) - 3
            vox.clock = lambda: start + next(ticks)  # one second later at every signing
            await vox.check()
            for index in range(4):
                await vox.fetch_page(now_filter(), index, 10)
        requests = sim.requests
        assert len(sim.tokens) == requests >= 5
        assert len(set(sim.tokens)) == requests  # never reused
        iats = [claims["iat"] for claims in sim.claims]
        assert iats == sorted(iats) and len(set(iats)) == requests
        for token, claims in zip(sim.tokens, sim.claims, strict=True):
            assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": sim.key_id, "typ": "JWT"}
            assert claims["iss"] == str(sim.account_id)  # a string (PyJWT >= 2.10)
            assert 0 < claims["exp"] - claims["iat"] <= 65


async def test_the_token_is_minted_at_request_time() -> None:
    with served(calls=5) as (sim, url):
        async with client(sim, url) as vox:
            await vox.check()
            time.sleep(1.1)
            await vox.fetch_page(now_filter(), 0, 5)
        first, second = sim.claims[-2:]
        assert second["iat"] > first["iat"]


async def test_a_key_the_server_does_not_know_is_refused() -> None:
    with served(calls=5) as (sim, url), served(calls=5, seed=2) as (other, _):
        async with Voximplant(other.credentials(), base_url=url, policy=FAST) as vox:
            with pytest.raises(AuthError, match=r"Authorization failed \(error 100\)"):
                await vox.check()
            with pytest.raises(AuthError):
                await vox.fetch_page(now_filter(), 0, 5)
        # Wrong key: one try each, no retries on an auth failure (GetAccountInfo, then the listing).
        assert sim.methods == {"GetAccountInfo": 2, "GetCallHistory": 1}


@pytest.mark.parametrize("status", [200, 401])
async def test_an_expired_token_is_an_auth_error(status: int) -> None:
    with served(calls=5, auth_status=status) as (sim, url):
        async with client(sim, url) as vox:
            vox.clock = lambda: time.time() - 7200
            with pytest.raises(AuthError) as info:
                await vox.check()
            assert info.value.status == status
        assert sim.verify(sim.tokens[-1]) == "expired"


def test_simulator_checks_kid_lifetime_and_accepts_a_numeric_iss() -> None:
    sim = VoximplantSim(calls=1)
    now = int(time.time())

    def token(claims: dict[str, Any], kid: str = sim.key_id) -> str:
        payload = json.dumps(claims).encode()  # PyJWS: pyjwt's encode() refuses a numeric iss
        return jwt.api_jws.encode(payload, sim.private_key, algorithm="RS256", headers={"kid": kid})

    assert sim.verify(token({"iss": sim.account_id, "iat": now, "exp": now + 60})) is None
    assert sim.verify(token({"iss": str(sim.account_id), "iat": now, "exp": now + 60})) is None
    assert sim.verify(token({"iss": sim.account_id, "iat": now, "exp": now + 3601})) == "lifetime over 3600 s"
    assert sim.verify(token({"iss": sim.account_id, "iat": now, "exp": now + 60}, kid="other")) == "unknown kid"
    assert sim.verify(token({"iss": 1, "iat": now, "exp": now + 60})) == "iss is not this account"
    assert sim.verify("not.a.jwt") == "not a JWT"


async def test_a_role_without_history_access_is_an_auth_error() -> None:
    with served(calls=5, forbidden={"GetCallHistory"}) as (sim, url):
        async with client(sim, url) as vox:
            with pytest.raises(AuthError, match=r"error 104.*role"):
                await vox.fetch_page(now_filter(), 0, 5)


async def test_listing_works_without_account_info_access() -> None:
    with served(calls=5, forbidden={"GetAccountInfo"}) as (sim, url):
        async with client(sim, url) as vox:
            page = await vox.fetch_page(now_filter(), 0, 5)
        assert len(page.calls) == 5 and all(c.currency is None for c in page.calls)


async def test_currency_comes_from_account_info_once_or_from_the_profile() -> None:
    with served(calls=30, currency="EUR") as (sim, url):
        async with client(sim, url) as vox:
            flt = now_filter()
            for index in range(3):
                page = await vox.fetch_page(flt, index, 10)
                assert {c.currency for c in page.calls} == {"EUR"}
            assert sim.methods["GetAccountInfo"] == 1
            await vox.check()
            assert sim.methods["GetAccountInfo"] == 2  # a connection test always asks
        async with client(sim, url, currency="RUR") as vox:
            page = await vox.fetch_page(now_filter(), 0, 10)
            assert {c.currency for c in page.calls} == {"EUR"}  # the account says: the profile only fills in
        assert sim.methods["GetAccountInfo"] == 3


async def test_a_profile_currency_fills_in_when_the_account_will_not_say() -> None:
    with served(calls=5, forbidden={"GetAccountInfo"}) as (sim, url):
        async with client(sim, url, currency="RUR") as vox:
            page = await vox.fetch_page(now_filter(), 0, 5)
        assert {c.currency for c in page.calls} == {"RUR"} and any(c.cost for c in page.calls)


# --- transport and errors ---------------------------------------------------------------------


def test_envelope_reader() -> None:
    auth = read_envelope(200, {"error": {"code": 100, "msg": "Authorization failed"}})
    assert auth is not None and auth.kind is Kind.AUTH and auth.code == "100"
    role = read_envelope(200, {"errors": [{"code": 104, "msg": "Forbidden command"}]})
    assert role is not None and role.kind is Kind.AUTH
    for code in (1, 2, 4, 162):
        retry = read_envelope(200, {"error": {"code": code, "msg": "x"}})
        assert retry is not None and retry.kind is Kind.RETRY
    fatal = read_envelope(200, {"error": {"code": "101", "msg": "Invalid arguments"}})
    assert fatal is not None and fatal.kind is Kind.FATAL and fatal.message == "Invalid arguments (error 101)"
    throttled = read_envelope(429, {"error": {"code": 162, "msg": "try later"}})
    assert throttled is not None and throttled.kind is None  # the status decides: rate limited
    assert read_envelope(200, {"result": [], "total_count": 0}) is None
    assert read_envelope(200, None) is None


@pytest.mark.parametrize("fault", [429, 500, 503, "error:162", "error:2", "reset", "notjson", "envelope"])
async def test_transient_failures_are_retried(fault: Any) -> None:
    with served(calls=12, knobs=Knobs(script=[fault], retry_after=0.01)) as (sim, url):
        async with client(sim, url) as vox:
            page = await vox.fetch_page(now_filter(), 0, 12)
        assert [c.id for c in page.calls] == expected_ids(12, 0, 12)
        assert vox.state.retries == 1


@pytest.mark.parametrize(
    ("fault", "error", "text"),
    [
        (403, AuthError, "injected HTTP 403"),
        (400, ProviderError, "injected HTTP 400"),
        ("error:101", ProviderError, "Invalid arguments (error 101)"),
        ("error:100", AuthError, "Authorization failed (error 100)"),
    ],
)
async def test_errors_map_to_types(fault: Any, error: type[Exception], text: str) -> None:
    with served(calls=5, knobs=Knobs(script=[fault])) as (sim, url):
        async with client(sim, url) as vox:
            with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)")):
                await vox.fetch_page(now_filter(), 0, 5)
            assert vox.state.retries == 0


async def test_throttling_gives_up_as_rate_limited() -> None:
    with served(calls=5, knobs=Knobs(script=[429] * 4, retry_after=0.01)) as (sim, url):
        async with client(sim, url) as vox:
            with pytest.raises(RateLimited):
                await vox.fetch_page(now_filter(), 0, 5)


def auth_header(sim: VoximplantSim) -> dict[str, str]:
    vox = Voximplant(sim.credentials())
    return {"Authorization": f"Bearer {ServiceAccountAuth(vox.account).token()}"}


def test_simulator_accepts_every_transport_variant() -> None:
    with served(calls=30) as (sim, url), httpx.Client(headers=auth_header(sim)) as http:
        dates = {"from_date": "2000-01-01 00:00:00", "to_date": "2100-01-01 00:00:00", "count": "3"}
        multipart = {k: (None, v) for k, v in dates.items()}
        answers = [
            http.post(f"{url}/GetCallHistory", params=dates),  # docs' curl: query string, empty body
            http.post(url, data={"cmd": "GetCallHistory", **dates}),  # Python SDK
            http.post(url, files={"cmd": (None, "GetCallHistory"), **multipart}),  # Node SDK
            http.post(f"{url}/GetCallHistory", files=multipart),  # Go and PHP SDKs
            http.post(f"{url}/GetCallHistory", data=dates),  # Ruby client
            http.get(f"{url}/GetCallHistory", params=dates),  # community MCP
        ]
        for answer in answers:
            body = answer.json()
            assert answer.status_code == 200 and body["total_count"] == 30 and len(body["result"]) == 3, body
            assert body["timezone"] == "Etc/GMT" and "calls" not in body["result"][0]

        def error(response: httpx.Response) -> int:
            assert response.status_code == 200
            return int(response.json()["error"]["code"])

        assert error(http.post(url, data=dates)) == 102
        assert error(http.post(f"{url}/NoSuchMethod", data=dates)) == 103
        assert error(http.post(f"{url}/GetCallHistory", data={**dates, "count": "1001"})) == 101
        assert error(http.post(f"{url}/GetCallHistory", data={**dates, "offset": "10001"})) == 101
        assert error(http.post(f"{url}/GetCallHistory", data={"to_date": dates["to_date"]})) == 134
        assert error(http.post(f"{url}/GetCallHistory", data={**dates, "from_date": "29.05.2024"})) == 111
        assert error(http.post(f"{url}/GetCallHistory", data={**dates, "from_date": "2200-01-01 00:00:00"})) == 123
        assert error(httpx.post(f"{url}/GetCallHistory", data=dates)) == 100
        flags = {**dates, "with_total_count": "False", "with_calls": "True", "with_records": "1", "desc_order": "1"}
        body = http.post(f"{url}/GetCallHistory", data=flags).json()
        assert "total_count" not in body and "calls" in body["result"][0] and "records" in body["result"][0]
        assert body["result"][0]["call_session_history_id"] == SID_BASE + 29  # newest first
        oldest_first = http.post(f"{url}/GetCallHistory", data=dates).json()["result"]
        assert oldest_first[0]["call_session_history_id"] == SID_BASE


def test_simulator_clamps_when_asked_and_serves_legacy_api_keys() -> None:
    with served(calls=30, strict_limits=False, legacy_api_key=True) as (sim, url):
        dates = {"from_date": "2000-01-01 00:00:00", "to_date": "2100-01-01 00:00:00", "count": "5000"}
        legacy = {"account_id": str(sim.account_id), "api_key": sim.api_key}
        body = httpx.post(f"{url}/GetCallHistory", data={**dates, **legacy}).json()
        assert len(body["result"]) == 30


# --- paging -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("calls", "size"), [(0, 20), (60, 20), (65, 20), (1, 1000)])
async def test_every_session_once_newest_first(calls: int, size: int) -> None:
    with served(calls=calls) as (sim, url):
        async with client(sim, url) as vox:
            listed = await list_all(vox, now_filter(), size)
            page = await vox.fetch_page(now_filter(), 0, size)
    assert [c.id for c in listed] == expected_ids(calls, 0, calls)
    assert page.total == calls and page.last == (calls <= size)
    starts = [c.started_at for c in listed]
    assert starts == sorted(starts, reverse=True)


async def test_a_window_of_25000_lists_every_session_in_under_30_requests() -> None:
    with served() as (sim, url):
        async with client(sim, url) as vox:
            flt = now_filter()
            listed = await list_all(vox, flt, 1000)
            past_end = await vox.fetch_page(flt, 25, 1000)
        assert len(listed) == 25_000 and len({c.id for c in listed}) == 25_000
        assert [c.id for c in listed] == expected_ids(25_000, 0, 25_000)
        assert past_end.calls == [] and past_end.last and past_end.total == 25_000
        # 25 pages and one GetAccountInfo: each page's cuts sit before an empty second, so whether
        # to_date includes its own second never needs asking.
        assert sim.requests == 26, dict(sim.methods)
        offsets = [int(p["offset"]) for p in sim.history_params if p.get("with_calls") == "true"]
        assert max(offsets) <= 1000  # narrowing, not offsets, carried the walk


@pytest.mark.parametrize("size", [1000, 37])
async def test_a_jump_to_the_last_page_of_100000_is_exact_and_cheap(size: int) -> None:
    with served(calls=100_000) as (sim, url):
        async with client(sim, url) as vox:
            flt = now_filter()
            last = (100_000 - 1) // size
            page = await vox.fetch_page(flt, last, size)
            assert [c.id for c in page.calls] == expected_ids(100_000, last * size, 100_000)
            assert page.last and page.total == 100_000
            assert sim.requests <= 30, dict(sim.methods)
            jump = before = sim.requests
            previous = await vox.fetch_page(flt, last - 1, size)
            assert [c.id for c in previous.calls] == expected_ids(100_000, (last - 1) * size, last * size)
            assert sim.requests - before == 1  # the probes of the jump are remembered
            middle = (100_000 // size) // 2
            page = await vox.fetch_page(flt, middle, size)
            assert [c.id for c in page.calls] == expected_ids(100_000, middle * size, (middle + 1) * size)
    print(f"jump to the last page at size {size}: {jump} requests")


@pytest.mark.parametrize("inclusive", [True, False])
@pytest.mark.parametrize("ties", [1, 3])
async def test_ties_at_page_boundaries_and_either_reading_of_to_date(inclusive: bool, ties: int) -> None:
    with served(calls=250, ties=ties, to_date_inclusive=inclusive) as (sim, url):
        async with client(sim, url) as vox:
            listed = await list_all(vox, now_filter(), 10)  # 10 is no multiple of 3: ties straddle pages
        assert [c.id for c in listed] == expected_ids(250, 0, 250)
        if ties > 1:
            seconds = [c.started_at for c in listed]
            assert any(seconds[i - 1] == seconds[i] for i in range(10, 250, 10))


@pytest.mark.parametrize("inclusive", [True, False])
async def test_past_offset_10000_with_ties_and_either_reading_of_to_date(inclusive: bool) -> None:
    with served(calls=30_000, ties=4, to_date_inclusive=inclusive) as (sim, url):
        async with client(sim, url) as vox:
            flt = now_filter()
            for index in (2999, 1500, 1501, 2998):  # size 10: jumps past offset 10,000, then neighbours
                page = await vox.fetch_page(flt, index, 10)
                assert [c.id for c in page.calls] == expected_ids(30_000, index * 10, index * 10 + 10), index
            walk = [c.id for index in range(1200, 1230) for c in (await vox.fetch_page(flt, index, 7)).calls]
            assert walk == expected_ids(30_000, 8400, 8610)


async def test_since_and_until_are_the_date_window() -> None:
    with served(calls=2000) as (sim, url):
        async with client(sim, url) as vox:
            everything = await list_all(vox, now_filter(), 1000)
        since, until = everything[1500].started_at, everything[300].started_at
        assert since is not None and until is not None
        flt = now_filter(since=since, until=until + timedelta(microseconds=1))
        async with client(sim, url) as vox:
            listed = await list_all(vox, flt, 100)
        expect = [c.id for c in everything if since <= c.started_at <= until]  # type: ignore[operator]
        assert [c.id for c in listed] == expect
        sent = sim.history_params[-1]
        assert sent["from_date"] == since.strftime("%Y-%m-%d %H:%M:%S")
        assert Voximplant.spec.server_filters == {"since", "until"}


async def test_filters_that_run_locally_are_not_sent() -> None:
    with served(calls=50) as (sim, url):
        flt = now_filter(direction=Direction.OUTBOUND, statuses=frozenset({Status.BUSY}), number="415", min_duration=5)
        async with client(sim, url) as vox:
            assert vox.server_side(flt) == {"until"}
            page = await vox.fetch_page(flt, 0, 50)
        assert len(page.calls) == 50  # the provider does not filter them itself
        allowed = {"from_date", "to_date", "timezone", "desc_order", "offset", "count"}
        allowed |= {"with_calls", "with_records", "with_other_resources", "with_total_count"}
        for params in sim.history_params:
            assert set(params) <= allowed


async def test_without_since_the_window_is_the_last_30_days() -> None:
    with served(calls=100) as (sim, url):
        async with client(sim, url) as vox:
            until = datetime.now(UTC)
            page = await vox.fetch_page(CallFilter(until=until), 0, 100)
        assert page.total == 100
        sent = sim.history_params[-1]
        start = datetime.strptime(sent["from_date"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        assert abs((until - start) - timedelta(days=30)) < timedelta(seconds=5)


async def test_sessions_appearing_inside_the_window_never_repeat_one() -> None:
    # New sessions land inside the window (until is ahead of them) and shift every position;
    # 30-session ties leave page 0 without a second change, so page 1 is found by offset.
    with served(calls=300, ties=30, knobs=Knobs(arrivals_per_request=2)) as (sim, url):
        async with client(sim, url) as vox:
            listed = await list_all(vox, CallFilter(until=datetime.now(UTC) + timedelta(hours=1)), 25)
        ids = [c.id for c in listed]
        assert len(ids) == len(set(ids))
        assert set(expected_ids(300, 0, 300)) <= set(ids)  # and none of the older ones is skipped


async def test_a_late_session_below_the_cut_does_not_repeat_a_row() -> None:
    """A session written late (start in the past) shifts rows already shown: the id net drops them."""

    def session(sid: int, second: datetime) -> dict[str, Any]:
        return {"call_session_history_id": sid, "start_date": second.strftime("%Y-%m-%d %H:%M:%S")}

    top = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    singles = [session(100 - i, top - timedelta(seconds=i)) for i in range(5)]
    block = [session(50 - i, top - timedelta(minutes=5)) for i in range(10)]  # ten in one second
    flt = CallFilter(since=top - timedelta(days=1), until=top + timedelta(seconds=1))
    with served(records=singles + block) as (sim, url):
        async with client(sim, url) as vox:
            shown = [c.id for index in (0, 1) for c in (await vox.fetch_page(flt, index, 5)).calls]
            assert shown == [str(i) for i in (100, 99, 98, 97, 96, 50, 49, 48, 47, 46)]
            late = session(70, top - timedelta(minutes=1))
            sim.records = [*singles, late, *block]
            page = await vox.fetch_page(flt, 2, 5)
    assert [c.id for c in page.calls] == ["45", "44", "43", "42"]  # 46 came again and was dropped
    assert page.rows == 5 and not page.last


async def test_an_empty_window_costs_no_request() -> None:
    with served(calls=10) as (sim, url):
        async with client(sim, url) as vox:
            moment = datetime.now(UTC)
            page = await vox.fetch_page(CallFilter(since=moment, until=moment), 0, 10)
        assert page.calls == [] and page.last and sim.requests == 0


def test_locate_bisects_a_skewed_window_in_logarithmic_probes() -> None:
    """All sessions in the window's last hour of 30 days: interpolation misses, bisection finishes."""
    first, last = 0, 30 * 86_400 - 1
    times = sorted((last - (i * 3600) // 200_000 for i in range(200_000)), reverse=True)
    probes = []

    async def probe(cut: int) -> None:
        probes.append(cut)
        rows = sum(1 for t in times if t <= cut)  # a real server's total_count up to `cut`
        newest = next((t for t in times if t <= cut), None)
        index.learn_probe(cut, Probe(rows, newest))

    index = WindowIndex(first, last)
    index.learn_total(len(times))
    cut, newer = asyncio.run(locate(index, 199_990, probe))
    assert newer == sum(1 for t in times if t > cut) and 199_990 - 10_000 <= newer <= 199_990
    assert len(probes) <= INTERPOLATION_STEPS + 22  # log2(30 days in seconds) < 22


# --- time zones -------------------------------------------------------------------------------


@pytest.mark.parametrize("when", ["param", "always"])
async def test_naive_dates_are_read_in_the_response_timezone(when: str) -> None:
    kwargs = {"answer_timezone": "America/Los_Angeles", "answer_timezone_when": when}
    with served(records=[SEED], **kwargs) as (sim, url):
        async with client(sim, url) as vox:
            page = await vox.fetch_page(SEED_WINDOW, 0, 10)
        assert sim.history_params[-1]["from_date"] == "2024-04-30 17:00:00"  # said in the server's zone
        payload = page.calls[0].raw
        assert payload["start_date"] == "2024-05-29 08:05:26"  # what the wire said
        assert page.calls[0].to_dict()["started_at"] == "2024-05-29T15:05:26Z"
        assert page.calls[0].to_dict()["answered_at"] == "2024-05-29T15:05:27Z"


async def test_a_generated_account_reads_the_same_in_any_zone() -> None:
    anchor = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)  # far from DST changes
    flt = CallFilter(since=anchor - timedelta(days=3), until=anchor + timedelta(hours=1))
    results = []
    with served(calls=12_000, span_days=2.0, anchor=anchor) as (sim, url):
        for zone in (None, "America/Los_Angeles"):
            sim.answer_timezone, sim.answer_timezone_when = zone, "always"
            async with client(sim, url) as vox:
                results.append([c.to_dict() for c in await list_all(vox, flt, 1000)])
                last = await vox.fetch_page(flt, 11, 1000)
                assert [c.id for c in last.calls] == expected_ids(12_000, 11_000, 12_000)
            assert sim.history_params[-1]["from_date"] == ("2026-07-12 05:00:00" if zone else "2026-07-12 12:00:00")
    assert len(results[0]) == 12_000 and results[0] == results[1]


async def test_a_listing_across_a_dst_fold_in_a_local_zone_is_complete() -> None:
    anchor = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # 01:00–02:00 happens twice in Los Angeles
    flt = CallFilter(since=anchor - timedelta(days=1), until=anchor + timedelta(minutes=5))
    kwargs = {"answer_timezone": "America/Los_Angeles", "answer_timezone_when": "always"}
    with served(calls=3000, span_days=0.9, anchor=anchor, **kwargs) as (sim, url):
        async with client(sim, url) as vox:
            listed = await list_all(vox, flt, 50)
            page = await vox.fetch_page(flt, 59, 50)
    assert [c.id for c in listed] == expected_ids(3000, 0, 3000)
    assert [c.id for c in page.calls] == expected_ids(3000, 2950, 3000)


# --- normalisation ----------------------------------------------------------------------------

SEED_EXPECTED = {
    "provider": "voximplant",
    "id": "4202753936",
    "started_at": "2024-05-29T15:05:26Z",
    "answered_at": "2024-05-29T15:05:27Z",
    "ended_at": "2024-05-29T15:05:32Z",
    "direction": "inbound",
    "status": "answered",
    "from": "42027877410",
    "to": "420214575",
    "duration_s": 6,
    "total_s": 6,
    "billable_s": None,
    "cost": 0.701288,
    "currency": "USD",
    "recording_urls": [
        # calls[0].record_url names the same file with record_id=4124252234: one recording per file.
        "https://storage-gw-ru-02.voximplant.com/voximplant-records-secure/2024/05/29/very-beautiful-record.mp3?record_id=4202252234",
    ],
    "end_reason": "Normal call clearing",
    "provider_status": "200",
    "from_name": None,
    "to_name": None,
}


async def test_the_seed_example_normalises_field_by_field() -> None:
    with served(records=[SEED]) as (sim, url):
        async with client(sim, url) as vox:
            page = await vox.fetch_page(SEED_WINDOW, 0, 1000)
    assert page.total == 1 and page.last and len(page.calls) == 1
    call = page.calls[0]
    assert call.to_dict() == SEED_EXPECTED
    assert call.raw == SEED and call.warnings == ()


async def test_the_seed_example_details() -> None:
    with served(records=[SEED]) as (sim, url):
        async with client(sim, url) as vox:
            page = await vox.fetch_page(SEED_WINDOW, 0, 10)
            details = await vox.details(page.calls[0])
        sent = sim.history_params[-1]
    assert sent["call_session_history_id"] == "4202753936"
    assert sent["with_calls"] == sent["with_records"] == sent["with_other_resources"] == "true"
    assert details.call.to_dict() == SEED_EXPECTED and details.raw == SEED
    [leg] = details.legs
    assert (leg.from_, leg.to, leg.direction, leg.answered, leg.duration_s) == (
        "42027877410",
        "420214575",
        "inbound",
        True,
        6,
    )
    assert leg.cost == 0.530625 and leg.end_reason == "Normal call clearing"
    assert leg.started_at == datetime(2024, 5, 29, 15, 5, 27, tzinfo=UTC)
    assert [(c.label, c.amount) for c in details.costs] == [
        ("call 1 (pstn)", 0.530625),
        ("TextToSpeech", 0.0096),
        ("Call Transcription", 0.108),
        ("recording: Call Recorder", 0.053063),
    ]
    recording, transcript = details.recordings  # the leg's link is the same file: not listed twice
    assert recording.url.endswith("record_id=4202252234") and recording.label == "Call Recorder"
    assert recording.needs_auth and recording.content_type == "audio/mpeg"
    assert recording.file_name == "very-beautiful-record.mp3" and recording.size is None  # file_size 0
    assert transcript.label == "transcript" and transcript.needs_auth
    assert transcript.url.endswith("/very-beautiful-link?record_id=4202252234")  # the docs: append record_id
    assert details.extra["log_file_url"].startswith("https://storage-gw-ru-02.voximplant.com/voximplant-logs-secure/")


def _leg(ok: bool, code: int | None = None, duration: int | None = None, **extra: Any) -> dict[str, Any]:
    leg: dict[str, Any] = {"successful": ok, **extra}
    if code is not None:
        leg["end_reason"] = {"code": code, "details": "x"}
    if duration is not None:
        leg["duration"] = duration
    return leg


# Every outcome the docs and the spec name (§4.2 end_reason codes, §4.1 finish_reason, §4.4
# transcription_status) → the status it maps to ON PURPOSE (design.md §2.2), and the raw value that
# decided it: an answered call's is its successful leg's code, else the first unsuccessful leg's.
STATUS_TABLE = [
    # (legs, session extras, status, provider_status, duration_s)
    ([_leg(True, 200, 6)], {}, "answered", "200", 6),
    ([_leg(False, 487, 0), _leg(True, 200, 40)], {}, "answered", "200", 40),  # issue 9: not "487"
    ([_leg(True, 200, 30), _leg(False, 486, 0)], {}, "answered", "200", 30),  # a failed transfer after talk
    ([_leg(True, None, 9)], {}, "answered", None, 9),  # answered, no end code sent
    ([_leg(False, 486, 0)], {}, "busy", "486", 0),
    ([_leg(False, 600, 0)], {}, "busy", "600", 0),
    ([_leg(False, 603, 0), _leg(False, 600, 0)], {}, "busy", "603", 0),  # busy wins; the first unsuccessful code
    ([_leg(False, 408, 0)], {}, "missed", "408", 0),
    ([_leg(False, 480, 0)], {}, "missed", "480", 0),
    ([_leg(False, 487, 0)], {}, "missed", "487", 0),
    ([_leg(False, 603, 0)], {}, "missed", "603", 0),
    ([_leg(False, 404, 0)], {}, "failed", "404", 0),
    ([_leg(False, 500, 0)], {}, "failed", "500", 0),
    ([_leg(False, 503, 0)], {}, "failed", "503", 0),
    ([_leg(False)], {}, "failed", None, 0),
    ([], {}, "unknown", None, 0),
    ([], {"finish_reason": "Insufficient funds"}, "unknown", None, 0),  # no legs: nothing says who answered
    ([_leg(True)], {"active": True}, "in_progress", None, 0),
    ([_leg(True, 200, 12)], {"finish_reason": "Normal termination"}, "answered", "200", 12),
    ([_leg(True, 200, 12)], {"finish_reason": "Insufficient funds"}, "answered", "200", 12),
    ([_leg(True, 200, 12)], {"finish_reason": "Internal error (billing timeout)"}, "answered", "200", 12),
    ([_leg(True, 200, 12)], {"finish_reason": "Terminated administratively"}, "answered", "200", 12),
    ([_leg(True, 200, 12)], {"finish_reason": "JS session error"}, "answered", "200", 12),
    ([_leg(False, 408, 0)], {"finish_reason": "Timeout"}, "missed", "408", 0),
    # A transcript problem does not undo an answered call.
    ([_leg(True, 200, 12)], {"records": [{"transcription_status": "In progress"}]}, "answered", "200", 12),
    ([_leg(True, 200, 12)], {"records": [{"transcription_status": "Not required"}]}, "answered", "200", 12),
    ([_leg(True, 200, 12)], {"records": [{"transcription_status": "Complete"}]}, "answered", "200", 12),
]


@pytest.mark.parametrize(("legs", "extra", "status", "provider_status", "talk"), STATUS_TABLE)
def test_every_documented_outcome_maps_on_purpose(
    legs: list[dict[str, Any]], extra: dict[str, Any], status: str, provider_status: str | None, talk: int
) -> None:
    raw: dict[str, Any] = {"call_session_history_id": 1, "start_date": "2026-01-01 00:00:00", "duration": 60}
    raw.update(calls=legs, **extra)
    call = parse_session(raw, UTC, None)
    assert (call.status.value, call.provider_status, call.duration_s) == (status, provider_status, talk)


def test_talk_time_is_the_answered_legs_and_total_time_the_sessions() -> None:
    raw = {
        "call_session_history_id": 9,
        "start_date": "2026-01-01 00:00:00",
        "duration": 75,  # ringing, IVR and talk: the whole session
        "calls": [
            {"start_time": "2026-01-01 00:00:02", "successful": False, "duration": 0, "end_reason": {"code": 487}},
            {"start_time": "2026-01-01 00:00:20", "successful": True, "duration": 50, "cost": 0.1},
        ],
    }
    call = parse_session(raw, UTC, "USD").to_dict()
    assert (call["duration_s"], call["total_s"], call["answered_at"]) == (50, 75, "2026-01-01T00:00:20Z")
    assert (call["status"], call["provider_status"]) == ("answered", None)


@pytest.mark.parametrize(
    ("legs", "active", "status", "provider_status"),
    [
        ([], None, "unknown", None),
        ([{"successful": True}], True, "in_progress", None),
        ([{"successful": False, "end_reason": {"code": 487}}, {"successful": True}], None, "answered", None),
        ([{"successful": False, "end_reason": {"code": 486, "details": "Busy Here"}}], None, "busy", "486"),
        (
            [{"successful": False, "end_reason": {"code": 603}}, {"successful": False, "end_reason": {"code": 600}}],
            None,
            "busy",
            "603",
        ),
        ([{"successful": False, "end_reason": {"code": 480}}], None, "missed", "480"),
        ([{"successful": False, "end_reason": {"code": 408}}], None, "missed", "408"),
        ([{"successful": False, "end_reason": {"code": 404}}], None, "failed", "404"),
        ([{"successful": False}], None, "failed", None),
    ],
)
def test_status_rules(
    legs: list[dict[str, Any]], active: bool | None, status: str, provider_status: str | None
) -> None:
    raw: dict[str, Any] = {"call_session_history_id": 1, "start_date": "2026-01-01 00:00:00", "calls": legs}
    if active is not None:
        raw["active"] = active
    call = parse_session(raw, UTC, None)
    assert (call.status.value, call.provider_status) == (status, provider_status)


def test_outbound_sessions_and_active_ones() -> None:
    raw = {
        "call_session_history_id": 7,
        "start_date": "2026-01-01 00:00:00",
        "finish_reason": "Timeout",
        "active": True,
        "calls": [{"incoming": False, "local_number": " 14155550142 ", "remote_number": "", "successful": True}],
    }
    call = parse_session(raw, UTC, "USD").to_dict()
    assert (call["direction"], call["from"], call["to"], call["status"]) == (
        "outbound",
        "14155550142",
        None,
        "in_progress",
    )
    assert call["ended_at"] is None and call["duration_s"] == 0 and call["cost"] is None
    assert call["end_reason"] == "Timeout" and call["answered_at"] is None


async def test_generated_data_covers_every_status_and_direction() -> None:
    with served(calls=2000) as (sim, url):
        async with client(sim, url) as vox:
            listed = await list_all(vox, now_filter(), 1000)
    assert {c.status for c in listed} == set(Status)
    assert {c.direction for c in listed} == {Direction.INBOUND, Direction.OUTBOUND, Direction.UNKNOWN}
    assert any(c.recording_urls for c in listed) and any(c.cost for c in listed)
    assert all(c.warnings == () for c in listed)


async def test_malformed_records_do_not_break_a_page() -> None:
    with served(calls=400, knobs=Knobs(malformed_rate=0.4)) as (sim, url):
        async with client(sim, url) as vox:
            listed = await list_all(vox, now_filter(), 100)
    assert len(listed) == 400
    broken = [c for c in listed if c.warnings]
    assert len(broken) > 50
    assert any(c.warnings == ("record",) for c in broken)
    escapes = [c for c in listed if "\x1b" in (c.from_ or "") + (c.to or "")]
    assert escapes  # kept as sent: sanitising is the display's job
    assert len({c.id for c in listed}) == 400


# --- details and recordings -------------------------------------------------------------------


async def test_details_and_recordings_of_a_generated_session() -> None:
    with served(calls=400) as (sim, url):
        async with client(sim, url) as vox:
            listed = await list_all(vox, now_filter(), 400)
            secure = next(c for c in listed if any("-secure/" in u for u in c.recording_urls))
            public = next(c for c in listed if c.recording_urls and "-secure/" not in c.recording_urls[0])
            details = await vox.details(secure)
            assert details.call == secure and details.legs and details.costs
            recording = details.recordings[0]
            assert recording.needs_auth and recording.size
            async with vox.open_recording(recording) as response:
                audio = await response.aread()
            assert len(audio) == recording.size and audio.startswith(b"ID3")
            headers = {**auth_header(sim), "Range": "bytes=10-19"}
            partial = httpx.get(recording.url, headers=headers)
            assert partial.status_code == 206 and partial.content == audio[10:20]
            assert httpx.get(recording.url).status_code == 403  # secure storage wants the JWT
            plain = (await vox.details(public)).recordings[0]
            assert not plain.needs_auth
            async with vox.open_recording(plain) as response:
                assert response.headers["content-type"] == "audio/mpeg"
            assert details.extra["log_file_url"].startswith(sim.base_url + "/voximplant-logs-secure/")


async def test_the_jwt_goes_to_voximplant_storage_only() -> None:
    with served(calls=1) as (sim, url):
        vox = client(sim, url)
        assert vox._secure("https://storage-gw-ru-02.voximplant.com/voximplant-records-secure/a.mp3")
        assert vox._secure(sim.base_url + "/voximplant-records-secure/a.mp3")
        assert not vox._secure("https://evil.example/voximplant-records-secure/a.mp3")
        assert not vox._secure("https://storage-gw-ru-02.voximplant.com/voximplant-records/a.mp3")
        assert not vox._secure("https://[storage-gw-ru-02.voximplant.com/voximplant-records-secure/a.mp3")


def test_a_malformed_record_url_still_gives_the_details() -> None:
    raw = {
        "call_session_history_id": 7,
        "start_date": "2026-03-01 10:00:00",
        "records": [{"record_url": "https://[x/r.mp3"}],
    }
    details = build_details(parse_session(raw, timezone.utc, None), raw, timezone.utc, lambda url: False)
    assert [(r.url, r.file_name) for r in details.recordings] == [("https://[x/r.mp3", None)]


async def test_details_of_a_session_that_is_gone() -> None:
    with served(records=[SEED]) as (sim, url):
        async with client(sim, url) as vox:
            call = (await vox.fetch_page(SEED_WINDOW, 0, 1)).calls[0]
            sim.records = []
            with pytest.raises(ProviderError, match="not in the call history"):
                await vox.details(call)


# --- total_count (issue 13 item 5) ------------------------------------------------------------

TOTAL_COUNT_READINGS = ["documented", "always", "never", "only_when_asked"]


@pytest.mark.parametrize("total_count", TOTAL_COUNT_READINGS)
async def test_total_count_is_asked_for_and_paging_survives_without_it(total_count: str) -> None:
    with served(calls=2500, ties=3, total_count=total_count) as (sim, url):
        async with client(sim, url) as vox:
            flt = now_filter()
            listed = await list_all(vox, flt, 300)
            first = await vox.fetch_page(flt, 0, 300)
            last = await vox.fetch_page(flt, 8, 300)
            past = await vox.fetch_page(flt, 9, 300)
        assert [c.id for c in listed] == expected_ids(2500, 0, 2500)
        assert [c.id for c in last.calls] == expected_ids(2500, 2400, 2500) and last.last
        assert past.calls == [] and past.last
        assert all(p.get("with_total_count") == "true" for p in sim.history_params)  # sent explicitly
        if total_count == "never":
            assert first.total is None and not first.last
            assert any("no total_count" in n for n in vox.notices)
        else:
            assert first.total == 2500 and vox.notices == []


@pytest.mark.parametrize("inclusive", [True, False])
async def test_past_offset_10000_without_total_count(inclusive: bool) -> None:
    with served(calls=30_000, ties=4, to_date_inclusive=inclusive, total_count="never") as (sim, url):
        async with client(sim, url) as vox:
            flt = now_filter()
            costs = []
            for index in (2999, 1500, 1501, 2998):  # a jump past offset 10,000 walks there, then neighbours
                before = sim.requests
                page = await vox.fetch_page(flt, index, 10)
                costs.append(sim.requests - before)
                assert [c.id for c in page.calls] == expected_ids(30_000, index * 10, index * 10 + 10), index
            assert (await vox.fetch_page(flt, 3000, 10)).calls == []
            walk = [c.id for index in range(1200, 1230) for c in (await vox.fetch_page(flt, index, 7)).calls]
            assert walk == expected_ids(30_000, 8400, 8610)
        # The first jump: the account, whether to_date includes its second, 3 hops of ~9,000 rows, the page;
        # the hops are remembered, so the others cost the page alone.
        assert costs[0] <= 7 and costs[1:] == [1, 1, 1], costs


@pytest.mark.parametrize("total_count", ["never", "only_when_asked"])
def test_cdrtui_calls_lists_everything_without_total_count(total_count: str) -> None:
    import contextlib
    import io
    import os
    from unittest import mock

    from cdrtui import cli

    with served(calls=12_000, total_count=total_count) as (sim, url):
        out, err = io.StringIO(), io.StringIO()
        env = sim.env(url)
        with mock.patch.dict(os.environ, env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["calls", "voximplant", "--format", "jsonl"])
    assert code == 0, err.getvalue()
    ids = [json.loads(line)["id"] for line in out.getvalue().splitlines()]
    assert ids == expected_ids(12_000, 0, 12_000)


# --- recordings and transcripts as a real account may send them (issue 10 items 9–12) --------


async def first_with(vox: Voximplant, pred: Any) -> Any:
    for call in await list_all(vox, now_filter(), 1000):
        if pred(call):
            details = await vox.details(call)
            if pred(call, details):
                return call, details
    raise AssertionError("no such session generated")


@pytest.mark.parametrize("link", ["bare", "with_record_id"])
async def test_transcripts_get_record_id_and_authorization(link: str, tmp_path: Path) -> None:
    from cdrtui.downloads import download_recording

    with served(calls=600, transcript_link=link, secure_storage=False) as (sim, url):
        async with client(sim, url) as vox:
            _, details = await first_with(
                vox, lambda c, d=None: bool(c.recording_urls) and (d is None or len(d.recordings) > 1)
            )
            recording, transcript = details.recordings
            rid = recording.url.rsplit("record_id=", 1)[1]
            assert transcript.url.endswith(f"-transcription?record_id={rid}")  # once, in either reading
            assert transcript.needs_auth and not recording.needs_auth  # public storage; transcripts want auth
            saved = await download_recording(vox, transcript, tmp_path)
        assert json.loads(saved.path.read_text())["transcript"][0]["speaker"] == "caller"
        bare = transcript.url.split("?")[0]
        assert httpx.get(bare, headers=auth_header(sim)).status_code == 404  # without record_id: refused
        assert httpx.get(transcript.url).status_code == 403  # without authorization: refused
        doubled = transcript.url + f"&record_id={rid}"
        assert httpx.get(doubled, headers=auth_header(sim)).status_code == 404  # so it must not be added twice


@pytest.mark.parametrize("unit", ["bytes", "kb"])
async def test_a_file_size_in_either_unit_still_downloads(unit: str, tmp_path: Path) -> None:
    from cdrtui.downloads import download_recording

    with served(calls=400, file_size_unit=unit) as (sim, url):
        async with client(sim, url) as vox:
            _, details = await first_with(vox, lambda c, d=None: bool(c.recording_urls))
            recording = details.recordings[0]
            saved = await download_recording(vox, recording, tmp_path)
    assert saved.path.read_bytes().startswith(b"ID3") and saved.path.suffix == ".mp3"
    if unit == "bytes":
        assert saved.size == recording.size and saved.note is None
    else:
        assert saved.size > (recording.size or 0) and saved.note and "kept" in saved.note


@pytest.mark.parametrize("leg_link", ["same", "different"])
async def test_one_recording_per_file_in_the_listing_and_details(leg_link: str) -> None:
    with served(calls=400, leg_record_id=leg_link) as (sim, url):
        async with client(sim, url) as vox:
            call, details = await first_with(vox, lambda c, d=None: bool(c.recording_urls))
    raw_legs = [leg["record_url"] for leg in call.raw["calls"] if leg.get("record_url")]
    raw_records = [rec["record_url"] for rec in call.raw["records"]]
    assert (raw_legs == raw_records) == (leg_link == "same")  # the knob did what it says
    assert list(call.recording_urls) == raw_records  # records[]' link: its record_id names the record
    audio = [r for r in details.recordings if r.label != "transcript"]
    assert [r.url for r in audio] == raw_records


@pytest.mark.parametrize("signin", [False, True])
async def test_a_refused_recording_is_never_saved_as_a_sign_in_page(signin: bool, tmp_path: Path) -> None:
    from cdrtui.downloads import DownloadError, download_recording

    with served(calls=400, storage_signin_page=signin, secure_storage=True) as (sim, url):
        async with client(sim, url) as vox:
            _, details = await first_with(vox, lambda c, d=None: bool(c.recording_urls))
            good = await download_recording(vox, details.recordings[0], tmp_path / "ok")
            vox.clock = lambda: time.time() - 7200  # the storage now refuses our (expired) token
            expected = (DownloadError, "web page") if signin else (AuthError, "Access to the media link is denied")
            with pytest.raises(expected[0], match=expected[1]):
                await download_recording(vox, details.recordings[0], tmp_path / "refused")
    assert good.path.read_bytes().startswith(b"ID3")
    assert not (tmp_path / "refused").exists() or list((tmp_path / "refused").iterdir()) == []


# --- jumps (issue 12 §7: ≤ 3 requests once page 0 is shown) ----------------------------------


@pytest.mark.parametrize(
    ("calls", "ties", "inclusive", "span"),
    [
        (100_000, 1, True, 29.0),
        (100_000, 3, False, 29.0),
        (30_000, 2, True, 0.2),  # neighbouring rows one second apart: cut + 1 is often not empty
        (30_000, 1, True, 0.2),
        (30_000, 1, False, 0.4),
    ],
    ids=["sparse-inclusive", "ties-exclusive", "dense-ties-inclusive", "dense-inclusive", "dense-exclusive"],
)
async def test_a_jump_after_the_first_page_takes_at_most_3_requests(
    calls: int, ties: int, inclusive: bool, span: float
) -> None:
    size = 200
    with served(calls=calls, ties=ties, to_date_inclusive=inclusive, span_days=span) as (sim, url):
        for target in (calls - 1, calls // 2, 10_500, int(calls * 0.8)):
            async with client(sim, url) as vox:
                flt = now_filter()
                await vox.fetch_page(flt, 0, size)  # what the table shows first
                index = target // size
                before = len(sim.history_params)
                page = await vox.fetch_page(flt, index, size)
                cost = len(sim.history_params) - before
                assert [c.id for c in page.calls] == expected_ids(calls, index * size, (index + 1) * size), target
                assert cost <= 3, (target, cost)
                # Scrolling on from there stays exact, both ways.
                for near in (index - 1, index + 1, index - 2):
                    page = await vox.fetch_page(flt, near, size)
                    assert [c.id for c in page.calls] == expected_ids(calls, near * size, (near + 1) * size)


def test_while_the_reading_of_to_date_is_unknown_only_cuts_before_an_empty_second_are_used() -> None:
    index = WindowIndex(0, 1000)
    index.learn_total(50)
    # Rows at positions 10.. with start seconds 600, 599, 599, 590: cuts at 599 (600 is next to it:
    # `to_date = 600` would count second 600 on an inclusive server) and at 590 (591 is empty).
    index.learn_rows(10, [600, 599, 599, 590], ["a", "b", "c", "d"])
    index.safe_only = True
    assert index.anchor(12) is None  # neither 599 nor the window's end (calls may arrive at 1001)
    index.learn(999, 0, safe=True)
    assert index.anchor(14) == (590, 13)
    index.safe_only = False
    assert index.anchor(12) == (599, 11)  # the reading known: every cut serves
    probe = Probe(rows=20, newest=300)
    index.learn_probe(400, probe)
    assert {300, 400} <= index.safe  # the probe asked to 401 and saw nothing after 300
