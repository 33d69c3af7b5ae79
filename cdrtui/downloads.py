"""Save a recording to disk safely: a clean name inside the folder, never an overwrite, and never a
file that looks complete when it isn't (bytes go to `name.part`, renamed only once they all arrived).

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
            written, received, length, content_type = await _stream(provider, recording, out, on_progress, max_bytes)
            out.flush()
            os.fsync(out.fileno())
        if length is not None and received != length:
            raise DownloadError(f"incomplete download: got {received:,} of {length:,} bytes", provider.id)
        if recording.size and written != recording.size:
            said = f"{recording.size:,}"
            raise DownloadError(f"size mismatch: got {written:,} bytes, the provider said {said}", provider.id)
        if written == 0:
            raise DownloadError("the server sent an empty file", provider.id)
        saved = _publish(part, final)
        _fsync_dir(folder)
        return Downloaded(saved, written, content_type)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise DownloadError(f"cannot write {part}: {exc.strerror or exc}") from None
    except BaseException:  # cancelled, cut short, refused: no half file may stay behind
        part.unlink(missing_ok=True)
        raise


async def _stream(
    provider: Provider, recording: Recording, out: BinaryIO, on_progress: Progress | None, max_bytes: int
) -> tuple[int, int, int | None, str | None]:
    """Copy the body to `out`; return (bytes written, bytes received, Content-Length, content type)."""
    written = 0
    async with provider.open_recording(recording) as response:
        if not 200 <= response.status_code < 300:
            raise DownloadError(f"the server answered HTTP {response.status_code} instead of the file", provider.id)
        length = _expected_length(response.headers)
        expected = recording.size or length
        if on_progress:
            on_progress(0, expected)
        async for chunk in response.aiter_bytes(CHUNK):
            written += len(chunk)
            if written > max_bytes or (expected is not None and written > expected):
                limit = f"{expected or max_bytes:,}"
                raise DownloadError(f"the server sent more than the {limit} bytes expected", provider.id)
            out.write(chunk)
            if on_progress:
                on_progress(written, expected)
        return written, response.num_bytes_downloaded, length, response.headers.get("content-type")
