"""The repository holds source, not a machine: no virtualenv, build output or absolute path of the
machine that built it (a fresh clone elsewhere breaks on them, as the README's commands did)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
JUNK = re.compile(r"(^|/)(\.?venv|env|build|dist|__pycache__|\.eggs)/|\.egg-info(/|$)|\.py[co]$|(^|/)pyvenv\.cfg$")
# A shebang or path into a virtualenv, or into a home/work folder of a machine: never portable.
ABSOLUTE = re.compile(
    r"^#!/\S*/(\.?venv|site-packages)/|/(root|work|Users)/[\w.-]+/\S*(\.venv|site-packages|bin/python)"
)


def tracked() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (an sdist or a copied tree)")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in out.decode().split("\0") if name]


def test_no_virtualenv_or_build_output_is_tracked() -> None:
    junk = [name for name in tracked() if JUNK.search(name)]
    assert junk == [], f"tracked build/virtualenv files: {junk[:5]} (git rm -r --cached them)"


def test_no_tracked_file_holds_a_machine_absolute_path() -> None:
    offenders = []
    for name in tracked():
        path = ROOT / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_bytes()
        if b"\0" in text[:4096]:
            continue  # binary
        for line in text.decode("utf-8", "replace").splitlines():
            if ABSOLUTE.search(line):
                offenders.append(f"{name}: {line[:80]}")
                break
    assert offenders == [], f"machine-absolute paths: {offenders[:5]}"


def test_the_checks_catch_what_they_are_named_after() -> None:
    assert JUNK.search(".venv/bin/pytest") and JUNK.search("cdrtui.egg-info/PKG-INFO")
    assert JUNK.search("build/lib/cdrtui/cli.py") and JUNK.search("cdrtui/__pycache__/cli.cpython-311.pyc")
    assert not JUNK.search("cdrtui/providers/base.py") and not JUNK.search("docs/building.md")
    # Built in pieces, so this file doesn't hold what it looks for.
    venv = "/.venv/"
    assert ABSOLUTE.search("#!/work/main" + venv + "bin/python3")
    assert ABSOLUTE.search("    /root/project" + venv + "lib/python3.11/site-packages/x.py")
    assert not ABSOLUTE.search('monkeypatch.setenv("CDRTUI_HOME", "/home/operator/.cdrtui")')
