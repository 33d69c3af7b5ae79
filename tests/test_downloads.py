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


async def test_a_size_mismatch_leaves_no_file(files, tmp_path: Path) -> None:
    _, origin = files
    async with client(origin) as provider:
        with pytest.raises(DownloadError, match="size mismatch: got 10,240 bytes, the provider said 20,000"):
            await download_recording(provider, Recording(f"{origin}/x.mp3", size=20_000), tmp_path)
        with pytest.raises(DownloadError, match="more than the 1,000 bytes"):
            await download_recording(provider, Recording(f"{origin}/x.mp3", size=1_000), tmp_path)
    assert listing(tmp_path) == []


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
