"""Save a recording to disk safely: a clean name inside the folder, never an overwrite, and never a
file that looks complete when it isn't (bytes go to `name.part`, renamed only once they all arrived).

What gets kept, for every provider (issue 10 items 9 and 11):
- a web page is never saved as a recording: an HTML content type, or a body that starts like HTML
  (a sign-in page behind a private link), is refused with a message saying so;
- the server's Content-Length is the truth: a transfer that ends before it is refused as truncated;
- a provider's size hint is only a hint (Voximplant's `file_size` has no documented unit): a
  download of another size is kept when the server's content type or the bytes say it is audio
  (or the kind the provider announced), and refused only when nothing says so.

No Textual here: the details screen calls `download_recording` from a worker and shows progress.
"""

from __future__ import annotations

import contextlib
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from .errors import CdrError
from .providers.base import Provider, Recording

# (bytes written so far, bytes expected or None when the server doesn't say)
Progress = Callable[[int, "int | None"], None]

MAX_NAME_BYTES = 150  # well under the 255-byte limit of common filesystems, room for " (99).part"
MAX_EXT_CHARS = 10
MAX_BYTES = 4 * 1024**3  # a recording bigger than this is a server gone wrong, not a call
CHUNK = 64 * 1024
PART = ".part"

# Controls, bidi overrides, path separators and the characters Windows refuses in names.
_UNSAFE = re.compile('[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069/\\\\<>:"|?*]')
_DOTS = re.compile(r"\.{2,}")
_SPACES = re.compile(r"\s+")
_EXTENSION = re.compile(rf"^\.[A-Za-z0-9]{{1,{MAX_EXT_CHARS}}}$")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
_EXT_FOR_TYPE = {
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/ogg": ".ogg",
    "video/mp4": ".mp4",
    "audio/mp4": ".m4a",
    "text/plain": ".txt",
    "application/json": ".json",
}


class DownloadError(CdrError):
    """A download that did not complete; nothing that looks like the file was left behind."""


@dataclass(frozen=True, slots=True)
class Downloaded:
    path: Path
    size: int
    content_type: str | None
    note: str | None = None  # e.g. the size differed from the provider's hint and why it was kept anyway


# The start of media files, for when the content type says nothing useful (application/octet-stream).
_MAGIC = (b"ID3", b"RIFF", b"OggS", b"fLaC", b"\x1aE\xdf\xa3", b"#!AMR", b".snd")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<!--")
SNIFF = 64


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def looks_like_html(content_type: str | None, head: bytes) -> bool:
    """A web page (a sign-in form, an error page) by its content type or by how its body starts."""
    if _media_type(content_type) in _HTML_TYPES:
        return True
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return start.startswith(_HTML_STARTS)


def looks_like_media(content_type: str | None, head: bytes, announced: str | None = None) -> bool:
    """Audio or video by the server's content type, the kind the provider announced, or the bytes."""
    kind = _media_type(content_type)
    if kind.startswith(("audio/", "video/")) or (kind and kind == _media_type(announced)):
        return True
    if head.startswith(_MAGIC) or head[4:8] == b"ftyp":
        return True
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0  # an MPEG audio frame


def _cut_bytes(text: str, limit: int) -> str:
    """`text` shortened to at most `limit` UTF-8 bytes without splitting a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def _clean(name: str) -> str:
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]  # the last path component only
    name = _UNSAFE.sub("_", name)
    name = _DOTS.sub(".", name)  # no "..", anywhere
    name = _SPACES.sub(" ", name).strip(" .")  # no hidden files, no trailing dots (Windows)
    return name


def safe_file_name(recording: Recording, fallback: str = "recording") -> str:
    """A file name for a recording: the provider's suggestion, else the URL's last path segment,
    made safe (one component, no controls, no dots games, length-capped with its extension kept)."""
    try:
        from_url = unquote(urlsplit(recording.url).path.rsplit("/", 1)[-1])
    except ValueError:  # a malformed link (an unclosed "["): no name from it
        from_url = ""
    candidates = [recording.file_name or "", from_url]
    name = next((c for c in (_clean(c) for c in candidates) if c), "") or fallback
    stem, dot, ext = name.rpartition(".")
    suffix = "." + ext if dot and stem and _EXTENSION.match("." + ext) else ""
    if not suffix:
        stem = name
        suffix = _EXT_FOR_TYPE.get((recording.content_type or "").split(";")[0].strip().lower(), "")
    if stem.split(".")[0].upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    stem = _cut_bytes(stem, MAX_NAME_BYTES - len(suffix.encode())).rstrip(" .") or fallback
    return stem + suffix


def _inside(folder: Path, path: Path) -> bool:
    return path.resolve().is_relative_to(folder)


def _taken(path: Path) -> bool:
    """A name is taken by a file, a directory, a dangling link, or a download in progress."""
    part = path.with_name(path.name + PART)
    return path.exists() or path.is_symlink() or part.exists() or part.is_symlink()


def free_path(folder: Path, name: str) -> Path:
    """`folder/name`, or `name (2)`, `name (3)`… if taken. Raises if it would land outside the folder."""
    suffix = Path(name).suffix
    stem = name[: -len(suffix)] if suffix else name
    for n in range(1, 1000):
        candidate = folder / (name if n == 1 else f"{stem} ({n}){suffix}")
        if _taken(candidate):
            continue
        if not _inside(folder, candidate):
            raise DownloadError(f"refusing to save {name!r}: it would land outside {folder}")
        return candidate
    raise DownloadError(f"too many files called {name!r} in {folder}")


def _expected_length(headers: object) -> int | None:
    """Content-Length as sent, when it counts the bytes we will write (no content-encoding)."""
    get = getattr(headers, "get", None)
    if get is None or get("content-encoding", "identity").lower() not in ("", "identity"):
        return None
    value = get("content-length")
    return int(value) if isinstance(value, str) and value.strip().isdigit() else None


def _publish(part: Path, final: Path) -> Path:
    """Give the finished `.part` its real name without ever replacing an existing file."""
    target = final
    for _ in range(100):
        try:
            os.link(part, target)  # fails if the name exists: no overwrite, even in a race
        except FileExistsError:
            target = free_path(final.parent, final.name)
            continue
        except OSError:  # no hard links here (FAT, some network mounts): check, then rename
            if target.exists() or target.is_symlink():
                target = free_path(final.parent, final.name)
                continue
            os.rename(part, target)
            return target
        part.unlink()
        return target
    raise DownloadError(f"could not find a free name for {final.name!r} in {final.parent}")


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


async def download_recording(
    provider: Provider,
    recording: Recording,
    folder: Path,
    on_progress: Progress | None = None,
    *,
    max_bytes: int = MAX_BYTES,
) -> Downloaded:
    """Stream `recording` into `folder` through the provider (which decides whether credentials go
    along). Returns the saved file; raises DownloadError or the provider's CdrError otherwise."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder = folder.resolve()
        final = free_path(folder, safe_file_name(recording))
        part = final.with_name(final.name + PART)
        # O_EXCL: never follow a link someone left at this name; 0600: call audio is private.
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError as exc:
        raise DownloadError(f"cannot save into {folder}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            got = await _stream(provider, recording, out, on_progress, max_bytes)
            out.flush()
            os.fsync(out.fileno())
        if got.length is not None and got.received != got.length:
            raise DownloadError(
                f"incomplete download: the connection closed after {got.received:,} of {got.length:,} bytes",
                provider.id,
            )
        if got.written == 0:
            raise DownloadError("the server sent an empty file", provider.id)
        note = _size_note(provider.id, recording, got)
        saved = _publish(part, final)
        _fsync_dir(folder)
        return Downloaded(saved, got.written, got.content_type, note)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise DownloadError(f"cannot write {part}: {exc.strerror or exc}") from None
    except BaseException:  # cancelled, cut short, refused: no half file may stay behind
        part.unlink(missing_ok=True)
        raise


@dataclass(slots=True)
class _Got:
    written: int
    received: int
    length: int | None  # Content-Length, when it counts the bytes written
    content_type: str | None
    head: bytes


def _size_note(provider_id: str, recording: Recording, got: _Got) -> str | None:
    """None when the size matches the hint (or there is none); a note when it differs but the file is
    media; DownloadError when it differs and nothing says it is what we asked for."""
    if not recording.size or got.written == recording.size:
        return None
    said = f"got {got.written:,} bytes where the provider said {recording.size:,}"
    if not looks_like_media(got.content_type, got.head, recording.content_type):
        kind = _media_type(got.content_type) or "no content type"
        raise DownloadError(f"size mismatch: {said}, and the server's answer ({kind}) is not audio", provider_id)
    return f"{said} (a size hint in an undocumented unit); kept: the file is audio"


def _html_refusal(provider_id: str, content_type: str | None, needs_auth: bool) -> DownloadError:
    kind = _media_type(content_type) or "an HTML body"
    why = "the link may need a sign-in" if not needs_auth else "the server may not have accepted the credentials"
    return DownloadError(
        f"the server sent a web page ({kind}) instead of the recording; {why}; nothing saved", provider_id
    )


async def _stream(
    provider: Provider, recording: Recording, out: BinaryIO, on_progress: Progress | None, max_bytes: int
) -> _Got:
    """Copy the body to `out`, refusing a web page before a byte is written."""
    async with provider.open_recording(recording) as response:
        if not 200 <= response.status_code < 300:
            raise DownloadError(f"the server answered HTTP {response.status_code} instead of the file", provider.id)
        content_type = response.headers.get("content-type")
        if looks_like_html(content_type, b""):
            raise _html_refusal(provider.id, content_type, recording.needs_auth)
        length = _expected_length(response.headers)
        expected = length if length is not None else recording.size  # a hint only shows progress
        got = _Got(0, 0, length, content_type, b"")
        if on_progress:
            on_progress(0, expected)
        async for chunk in response.aiter_bytes(CHUNK):
            if len(got.head) < SNIFF:
                got.head += chunk[: SNIFF - len(got.head)]
                if looks_like_html(None, got.head):
                    raise _html_refusal(provider.id, content_type, recording.needs_auth)
            got.written += len(chunk)
            if got.written > max_bytes:
                raise DownloadError(
                    f"the server sent more than the {max_bytes:,} bytes a recording may have", provider.id
                )
            out.write(chunk)
            if expected is not None and got.written > expected:
                expected = None  # the hint was wrong: say "unknown" rather than over 100%
            if on_progress:
                on_progress(got.written, expected)
        got.received = response.num_bytes_downloaded
        return got
