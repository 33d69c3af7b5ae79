"""`--debug` logging to a file in the log dir, with every known secret redacted."""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

from .config import log_dir
from .providers.http import KNOWN_SECRETS, redact


class RedactingFilter(logging.Filter):
    """Removes every secret any HTTP client was given, whatever logged the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, None
        record.msg, record.args = redact(message, list(KNOWN_SECRETS)), None
        return True


def setup_debug_log() -> Path:
    """Send cdrtui's debug log to a new file (0600); return its path."""
    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"cdrtui-{datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}.log"
    path.touch(mode=0o600)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger("cdrtui")
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    # httpx logs full URLs and headers at DEBUG; ours are enough.
    for noisy in ("httpx", "httpcore", "hpack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
