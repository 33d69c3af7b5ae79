"""Providers come from the `cdrtui.providers` entry-point group, built-ins included, so a third-party
package registers exactly as they do (issue 8 §3)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cdrtui.connect import spec_of
from cdrtui.errors import ConfigError
from cdrtui.providers import registry

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent

PLUGIN = """
from cdrtui.model import Page
from cdrtui.providers.base import Provider, ProviderSpec


class Acme(Provider):
    spec = ProviderSpec(id="acme", name="Acme", fields=(), default_base_url="https://acme.invalid",
                        server_filters=frozenset(), max_page_size=10)

    def make_http(self):
        raise NotImplementedError

    async def check(self):
        return "acme"

    async def fetch_page(self, flt, index, size):
        return Page([], 0, last=True)

    async def details(self, call):
        raise NotImplementedError
"""


def test_pyproject_registers_every_builtin_through_the_entry_point_group() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    group = data["project"]["entry-points"][registry.ENTRY_POINT_GROUP]
    assert group == registry.BUILTIN


@pytest.fixture
def acme_installed(tmp_path, monkeypatch):
    """A third-party distribution on sys.path, registering `acme` the documented way."""
    (tmp_path / "acme_cdr.py").write_text(PLUGIN)
    info = tmp_path / "acme_cdr-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-cdr\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{registry.ENTRY_POINT_GROUP}]\nacme = acme_cdr:Acme\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.registered.cache_clear()
    yield
    registry.registered.cache_clear()
    sys.modules.pop("acme_cdr", None)


def test_a_third_party_provider_is_found_and_opened_like_a_builtin(acme_installed) -> None:
    ids = registry.provider_ids()
    assert ids[:5] == list(registry.BUILTIN) and "acme" in ids
    assert spec_of("acme").name == "Acme"
    assert registry.provider_class("acme").__name__ == "Acme"


def test_an_unknown_provider_is_a_config_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown provider 'nope'; choose one of 2chat, voximplant"):
        spec_of("nope")


def test_the_command_line_takes_a_registered_plugin_id_and_refuses_an_unknown_one(acme_installed, capsys) -> None:
    from cdrtui.cli import calls_parser, stats_parser

    assert calls_parser().parse_args(["acme"]).provider == "acme"
    assert stats_parser().parse_args(["all"]).provider == "all"
    with pytest.raises(SystemExit) as info:
        calls_parser().parse_args(["nope"])
    assert info.value.code == 2 and "unknown provider 'nope'" in capsys.readouterr().err
