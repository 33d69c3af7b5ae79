"""The five simulators, started together for `cdrtui simulate`, the demo, tests and benchmarks."""

from __future__ import annotations

import importlib
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .core import Knobs, SimServer, Simulator

SIMULATORS: dict[str, str] = {
    "2chat": "cdrtui.simulators.twochat:TwoChatSim",
    "voximplant": "cdrtui.simulators.voximplant:VoximplantSim",
    "unpod": "cdrtui.simulators.unpod:UnpodSim",
    "portsip": "cdrtui.simulators.portsip:PortSIPSim",
    "voipstudio": "cdrtui.simulators.voipstudio:VoIPstudioSim",
}
# The demo's account sizes (issue: a million VoIPstudio calls, Voximplant beyond offset 10,000).
DEMO_CALLS: dict[str, int] = {
    "2chat": 1257,
    "voximplant": 25_000,
    "unpod": 300,
    "portsip": 5_000,
    "voipstudio": 1_000_000,
}


def simulator_class(provider: str) -> type[Simulator]:
    module, _, name = SIMULATORS[provider].partition(":")
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, Simulator)
    return cls


@dataclass
class RunningSim:
    provider: str
    sim: Any  # the provider's Simulator subclass
    server: SimServer

    @property
    def base_url(self) -> str:
        return self.server.origin + str(getattr(self.sim, "path", ""))

    def env(self) -> dict[str, str]:
        return dict(self.sim.env(self.base_url))

    def credentials(self) -> dict[str, str]:
        return dict(self.sim.credentials())

    @property
    def folder(self) -> str | None:
        """The private temp folder holding this simulator's credential files (Voximplant's key)."""
        folder = getattr(self.sim, "_dir", None)
        return folder if isinstance(folder, str) else None

    def stop(self) -> None:
        """Stop serving and delete the credential files: a private key must not outlive its server."""
        self.server.stop()
        folder = self.folder
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
            self.sim._dir = None  # written again if credentials() is asked for after this


def start(
    provider: str,
    *,
    calls: int | None = None,
    port: int = 0,
    latency: tuple[float, float] = (0.0, 0.0),
    seed: int = 1,
    knobs: Knobs | None = None,
    **kwargs: Any,
) -> RunningSim:
    cls = simulator_class(provider)
    knobs = knobs or Knobs(latency=latency)
    sim = cls(calls=DEMO_CALLS[provider] if calls is None else calls, seed=seed, knobs=knobs, **kwargs)  # type: ignore[call-arg]
    server = SimServer(sim, port=port).start()
    return RunningSim(provider, sim, server)


def start_all(
    providers: Iterable[str] | None = None,
    *,
    port: int = 0,
    calls: int | dict[str, int] | None = None,
    latency: tuple[float, float] = (0.0, 0.0),
    seed: int = 1,
) -> list[RunningSim]:
    running = []
    for offset, provider in enumerate(providers or SIMULATORS):
        count = calls.get(provider) if isinstance(calls, dict) else calls
        running.append(start(provider, calls=count, port=port + offset if port else 0, latency=latency, seed=seed))
    return running
