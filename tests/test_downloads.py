"""Saving recordings: safe names inside the folder, no overwrite, no half files, no key to public links."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from cdrtui.downloads import DownloadError, download_recording, free_path, safe_file_name
from cdrtui.errors import CdrError, NetworkError
from cdrtui.model import CallFilter
from cdrtui.providers.base import Recording
from cdrtui.providers.http import RetryPolicy
from cdrtui.providers.twochat import TwoChat
from cdrtui.simulators.core import Knobs, SimRequest, SimResponse, SimServer, Simulator
from cdrtui.simulators.twochat import TwoChatSim

FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.05, timeout=5)
KEY = "UAKsecret-key-never-to-s3"
BODY = bytes(range(256)) * 40  # 10,240 bytes
SIGN_IN = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><form>Password</form></body></html>"
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" * 1000


class FileSim(Simulator):
    """Serves files with faults on request, and remembers the headers each request carried."""

    provider = "files"

    def __init__(self, knobs: Knobs | None = None) -> None:
        super().__init__(knobs=knobs)
        self.seen: list[dict[str, str]] = []

    def route(self, req: SimRequest) -> SimResponse:
        self.seen.append(req.headers)
        if req.path.endswith("/short.mp3"):  # promises 100 bytes more than it sends, then hangs up
            return SimResponse(200, BODY, {"Content-Type": "audio/mpeg"}, fault="truncate")
        if req.path.endswith("/empty.mp3"):
            return SimResponse(200, b"", {"Content-Type": "audio/mpeg"})
        if req.path.endswith("/moved.mp3"):
            return SimResponse(302, b"", {"Location": "https://elsewhere.example/x.mp3"})
        if req.path.endswith("/signin.mp3"):  # a private link answered with a sign-in page, HTTP 200
            return SimResponse(200, SIGN_IN, {"Content-Type": "text/html; charset=utf-8"})
        if req.path.endswith("/disguised.mp3"):  # the same page, labelled as audio
            return SimResponse(200, b"\r\n  " + SIGN_IN, {"Content-Type": "audio/mpeg"})
        if req.path.endswith("/blob.bin"):  # bytes that nothing says are audio
            return SimResponse(200, BODY, {"Content-Type": "application/octet-stream"})
        if req.path.endswith("/octet.mp3"):  # audio by its bytes, not by its label
            return SimResponse(200, MP3, {"Content-Type": "application/octet-stream"})
        if req.path.endswith("/gone.mp3"):
            return SimResponse(403, b"<Error><Code>AccessDenied</Code></Error>", {"Content-Type": "application/xml"})
        return SimResponse(200, BODY, {"Content-Type": "audio/mpeg"})


@pytest.fixture
def files() -> Iterator[tuple[FileSim, str]]:
    sim = FileSim()
    with SimServer(sim) as server:
        yield sim, server.origin


def client(origin: str) -> TwoChat:
    return TwoChat({"api_key": KEY}, base_url=origin + "/open", policy=FAST)


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# -- names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "url", "expected"),
    [
        ("../../etc/passwd", "https://x/y", "passwd.mp3"),  # no extension: one from the type
        ("/etc/cron.d/evil.mp3", "https://x/y", "evil.mp3"),
        ("..\\..\\Windows\\win.ini", "https://x/y", "win.ini"),
        ("..", "https://x/calls/abc.mp3", "abc.mp3"),  # nothing usable: the URL's name
        (None, "https://x/calls/%2e%2e%2f%2e%2e%2fsecret.mp3?sig=1", "secret.mp3"),
        ("rec\x00\x1b[31m\u202e3pm.exe", "https://x/y", "rec__[31m_3pm.exe"),
        ('a<b>c:"d"|e?f*.wav', "https://x/y", "a_b_c__d__e_f_.wav"),
        ("..hidden..mp3", "https://x/y", "hidden.mp3"),
        ("CON.mp3", "https://x/y", "_CON.mp3"),
        (None, "https://x/", "recording.mp3"),  # no name anywhere: a fallback, extension from the type
    ],
)
def test_file_names_are_one_safe_component(file_name: str | None, url: str, expected: str) -> None:
    name = safe_file_name(Recording(url, file_name=file_name, content_type="audio/mpeg"))
    assert name == expected
    assert "/" not in name and "\\" not in name and ".." not in name and not name.startswith(".")


def test_long_names_are_capped_and_keep_their_extension() -> None:
    name = safe_file_name(Recording("https://x/y", file_name="é" * 500 + ".mp3"))
    assert name.endswith(".mp3") and len(name.encode()) <= 150 and name.startswith("é")


def test_taken_names_get_a_number(tmp_path: Path) -> None:
    (tmp_path / "a.mp3").write_bytes(b"old")
    (tmp_path / "a (2).mp3.part").write_bytes(b"someone is downloading")
    (tmp_path / "a (3).mp3").symlink_to("/etc/passwd")
    assert free_path(tmp_path.resolve(), "a.mp3").name == "a (4).mp3"
    assert (tmp_path / "a.mp3").read_bytes() == b"old"


# -- downloading -----------------------------------------------------------------------------------


async def test_a_download_lands_in_the_folder_with_every_byte(files, tmp_path: Path) -> None:
    _, origin = files
    seen: list[tuple[int, int | None]] = []
    async with client(origin) as provider:
        rec = Recording(f"{origin}/s3/calls/..%2F..%2Fescape.mp3", file_name="../../escape.mp3", size=len(BODY))
        result = await download_recording(provider, rec, tmp_path / "dl", on_progress=lambda d, t: seen.append((d, t)))
    assert result.path == (tmp_path / "dl" / "escape.mp3").resolve()
    assert result.path.read_bytes() == BODY and result.size == len(BODY)
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600  # call audio is private
    assert seen[0] == (0, len(BODY)) and seen[-1] == (len(BODY), len(BODY))
    assert listing(tmp_path / "dl") == ["escape.mp3"]


async def test_a_second_download_never_overwrites(files, tmp_path: Path) -> None:
    _, origin = files
    (tmp_path / "x.mp3").write_bytes(b"mine")
    async with client(origin) as provider:
        first = await download_recording(provider, Recording(f"{origin}/x.mp3"), tmp_path)
        second = await download_recording(provider, Recording(f"{origin}/x.mp3"), tmp_path)
    assert (first.path.name, second.path.name) == ("x (2).mp3", "x (3).mp3")
    assert (tmp_path / "x.mp3").read_bytes() == b"mine"


async def test_a_public_link_gets_no_api_key_but_a_private_one_does(files, tmp_path: Path) -> None:
    sim, origin = files
    async with client(origin) as provider:
        await download_recording(provider, Recording(f"{origin}/public.mp3"), tmp_path)
        await download_recording(provider, Recording(f"{origin}/private.mp3", needs_auth=True), tmp_path)
    public, private = sim.seen
    assert "x-user-api-key" not in public and KEY not in str(public)
    assert private["x-user-api-key"] == KEY  # the check above can fail


async def test_a_cut_short_body_leaves_no_file(files, tmp_path: Path) -> None:
    _, origin = files
    async with client(origin) as provider:
        with pytest.raises(NetworkError, match="cut short"):
            await download_recording(provider, Recording(f"{origin}/short.mp3"), tmp_path)
    assert listing(tmp_path) == []


@pytest.mark.parametrize("hint", [20_000, 1_000, 10])  # bytes, kilobytes, a guess: the unit is not documented
@pytest.mark.parametrize("name", ["x.mp3", "octet.mp3"])
async def test_audio_that_differs_from_a_size_hint_is_kept(files, tmp_path: Path, hint: int, name: str) -> None:
    _, origin = files
    seen: list[tuple[int, int | None]] = []
    async with client(origin) as provider:
        rec = Recording(f"{origin}/{name}", size=hint, content_type="audio/mpeg")
        result = await download_recording(provider, rec, tmp_path, on_progress=lambda d, t: seen.append((d, t)))
    body = BODY if name == "x.mp3" else MP3
    assert result.path.read_bytes() == body and result.size == len(body)
    assert result.note is not None and f"where the provider said {hint:,}" in result.note and "kept" in result.note
    assert seen[-1] == (len(body), len(body))  # Content-Length, not the hint, measures progress
    assert all(total is None or done <= total for done, total in seen)


async def test_a_size_hint_that_matches_needs_no_note(files, tmp_path: Path) -> None:
    _, origin = files
    async with client(origin) as provider:
        result = await download_recording(provider, Recording(f"{origin}/x.mp3", size=len(BODY)), tmp_path)
    assert result.note is None and result.size == len(BODY)


async def test_a_size_mismatch_that_nothing_says_is_audio_leaves_no_file(files, tmp_path: Path) -> None:
    _, origin = files
    async with client(origin) as provider:
        with pytest.raises(
            DownloadError, match=r"size mismatch: got 10,240 bytes where the provider said 20,000.*not audio"
        ):
            await download_recording(provider, Recording(f"{origin}/blob.bin", size=20_000), tmp_path)
        assert listing(tmp_path) == []
        kept = await download_recording(provider, Recording(f"{origin}/blob.bin"), tmp_path)  # no hint, no claim
    assert kept.size == len(BODY) and listing(tmp_path) == ["blob.bin"]


def provider_for(pid: str, origin: str):
    """Each provider's client, its API on another host name than the file server (a public link)."""
    from cdrtui.connect import Connection, build_provider
    from cdrtui.simulators.registry import simulator_class

    sim = simulator_class(pid)(calls=1)  # kept alive with the client: Voximplant's key file lives as long
    api = origin.replace("127.0.0.1", "localhost") + "/api"
    return build_provider(pid, sim.credentials(), Connection(base_url=api), policy=FAST), sim


@pytest.mark.parametrize("pid", ["2chat", "voximplant", "unpod", "portsip", "voipstudio"])
@pytest.mark.parametrize("name", ["signin.mp3", "disguised.mp3"])
async def test_a_web_page_is_never_saved_as_a_recording(files, tmp_path: Path, pid: str, name: str) -> None:
    _, origin = files
    provider, _sim = provider_for(pid, origin)
    async with provider:
        rec = Recording(f"{origin}/{name}", size=len(SIGN_IN), content_type="audio/wav", file_name="call.wav")
        with pytest.raises(
            DownloadError, match=r"sent a web page .* instead of the recording; .*sign-in; nothing saved"
        ):
            await download_recording(provider, rec, tmp_path)
        assert listing(tmp_path) == []
        fine = await download_recording(provider, Recording(f"{origin}/x.mp3", size=1), tmp_path)  # the other way
    assert fine.path.read_bytes() == BODY and listing(tmp_path) == ["x.mp3"]


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("empty.mp3", DownloadError, "empty file"),
        ("moved.mp3", DownloadError, "HTTP 302"),
        ("gone.mp3", CdrError, "HTTP 403"),
    ],
)
async def test_refusals_are_clear_and_leave_no_file(files, tmp_path: Path, name, error, message) -> None:
    _, origin = files
    async with client(origin) as provider:
        with pytest.raises(error, match=message) as caught:
            await download_recording(provider, Recording(f"{origin}/{name}"), tmp_path)
    assert KEY not in str(caught.value)
    assert listing(tmp_path) == []


async def test_a_cancelled_download_removes_its_part_file(tmp_path: Path) -> None:
    sim = FileSim(knobs=Knobs(latency=(2.0, 2.0)))
    with SimServer(sim) as server:
        async with client(server.origin) as provider:
            task = asyncio.create_task(download_recording(provider, Recording(f"{server.origin}/slow.mp3"), tmp_path))
            for _ in range(100):
                await asyncio.sleep(0.01)
                if listing(tmp_path):
                    break
            assert listing(tmp_path) == ["slow.mp3.part"]
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    assert listing(tmp_path) == []


async def test_a_2chat_recording_comes_from_s3_without_the_key(tmp_path: Path) -> None:
    sim = TwoChatSim(calls=40)
    with SimServer(sim) as server:
        async with TwoChat(sim.credentials(), base_url=server.origin + sim.path, policy=FAST) as provider:
            page = await provider.fetch_page(CallFilter(), 0, 100)
            call = next(c for c in page.calls if c.recording_urls)
            (rec,) = (await provider.details(call)).recordings
            result = await download_recording(provider, rec, tmp_path)
    assert sim.s3_requests == 1 and not sim.s3_saw_api_key
    assert result.path.read_bytes().startswith(b"ID3") and result.path.name == rec.file_name
    assert os.path.commonpath([result.path, tmp_path.resolve()]) == str(tmp_path.resolve())
