"""`cdrtui simulate` leaves no credentials behind, however it is stopped (issue 13 item 2)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

RUN = "import sys; from cdrtui.cli import main; sys.exit(main(sys.argv[1:]))"
ROOT = Path(__file__).resolve().parent.parent


def started() -> tuple[subprocess.Popen[str], Path, list[str]]:
    """`cdrtui simulate` running; the credential folder it printed and what it printed up to there."""
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN, "simulate", "--calls", "5"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:  # blocks until the line comes: no sleeps, no polling
        lines.append(line)
        if line.startswith("# credential files"):
            return proc, Path(line.split(": ", 1)[1].strip()), lines
    proc.kill()
    raise AssertionError("no credential folder printed:\n" + "".join(lines) + proc.stderr.read())


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")
@pytest.mark.parametrize("signum", [signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM), signal.SIGINT])
def test_simulate_deletes_its_credentials_when_stopped(signum):
    proc, folder, lines = started()
    try:
        files = list(folder.iterdir())
        assert files, "the folder holds the Voximplant key"
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        for file in files:
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
        # The exported path points into that folder.
        assert any(f"CDRTUI_VOXIMPLANT_CREDENTIALS={folder}" in line for line in lines)
        proc.send_signal(signum)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not folder.exists()
    assert "Traceback" not in proc.stderr.read()
