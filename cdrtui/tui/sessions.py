"""A logged-in provider the app can browse: the client plus where its settings came from."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Profile
from ..providers.base import Provider


@dataclass
class Session:
    key: str  # unique: the profile name, or the provider id for environment/demo sessions
    label: str
    provider: Provider
    profile: Profile | None = None
    demo: bool = False

    @property
    def provider_id(self) -> str:
        return self.provider.id
