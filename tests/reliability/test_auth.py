"""Matrix 1 — authentication: refused credentials, tokens that die mid-session, 403 (role, org).

Every case ends in one clear line and exit 3 (or the login screen), after a counted handful of
requests: a refusal is never retried.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from harness import COLLECTED, PROVIDERS, connect, loaded, run_cli, running, screenshot, svg_text, tui_app

from cdrtui.errors import AuthError
from cdrtui.model import CallFilter
from cdrtui.simulators.core import Knobs
from cdrtui.simulators.registry import simulator_class

SIZE = (120, 36)


def other_voximplant_key(tmp_path: Path) -> str:
    """A well-formed credentials.json of a key this account doesn't know."""
    stranger: Any = simulator_class("voximplant")(calls=1, seed=2)
    path = Path(stranger.credentials()["credentials"])
    COLLECTED.add_secret(json.loads(path.read_text())["private_key"])
    copy = tmp_path / "other-credentials.json"
    copy.write_text(path.read_text())
    return str(copy)


def wrong_credentials(provider: str, tmp_path: Path) -> dict[str, str]:
    """Environment overrides that make each provider refuse us."""
    wrong = {
        "2chat": {"CDRTUI_2CHAT_API_KEY": "UAKdeadbeef-0000-4000-8000-wrongwrong00"},
        "unpod": {"CDRTUI_UNPOD_TOKEN": "unpod-wrong-token-0123456789"},
        "portsip": {"CDRTUI_PORTSIP_PASSWORD": "not-the-password-42"},
        "voipstudio": {"CDRTUI_VOIPSTUDIO_TOKEN": "f" * 40},
    }
    if provider == "voximplant":
        return {"CDRTUI_VOXIMPLANT_CREDENTIALS": other_voximplant_key(tmp_path)}
    COLLECTED.add_secret(*wrong[provider].values())
    return wrong[provider]


# What each provider's refusal must tell the user (its own words or our hint).
REFUSED_SAYS = {
    "2chat": "Invalid API key",
    "voximplant": "Authorization failed",
    "unpod": "Invalid token",
    "portsip": "login refused",
    "voipstudio": "Unauthorized",
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_invalid_credentials_exit_3_with_one_line_and_no_retry(provider: str, tmp_path: Path) -> None:
    with running(provider) as sim:
        run = run_cli(sim, provider, env=wrong_credentials(provider, tmp_path), debug=False)
    assert run.code == 3 and run.out == ""
    assert len(run.errors) == 1 and run.errors[0].startswith(f"cdrtui: error: {provider}: ")
    assert REFUSED_SAYS[provider] in run.err and "Traceback" not in run.err
    # One refused request (Voximplant: its account-info lookup, then the listing).
    assert run.requests <= (2 if provider == "voximplant" else 1)


# --- tokens that die mid-session ------------------------------------------------------------------


class Mark:
    """A simulator hook for the fault script: runs `action` and notes how many requests came before."""

    def __init__(self, action: Any = None) -> None:
        self.action = action
        self.at: int | None = None

    def __call__(self, sim: Any) -> None:
        self.at = sim.requests
        if self.action is not None:
            self.action(sim)

    def after(self, sim: Any) -> int:
        assert self.at is not None, "the hook never ran"
        return sim.requests - self.at


def test_portsip_refreshes_a_token_that_expires_while_paging() -> None:
    # Tokens die after ten requests (counted, not timed: a busy machine must not change the test; more
    # than the requests in flight at once, so a renewed token outlives its retries).
    with running("portsip", calls=1500, token_uses=10) as sim:
        run = run_cli(sim, "portsip")
        grants = dict(sim.sim.grants)
    assert run.code == 0 and len(run.rows()) == 1500
    assert grants.get("refresh_token", 0) >= 1 and grants["password"] == 1  # refreshed, never a new login


def test_portsip_revoked_token_mid_listing_costs_one_refresh() -> None:
    hook = Mark(lambda sim: sim.revoke_tokens())
    with running("portsip", calls=450, knobs=Knobs(script=[None, hook])) as sim:
        run = run_cli(sim, "portsip")
        grants = dict(sim.sim.grants)
        statuses = [status for _, _, status in sim.sim.log]
    assert run.code == 0 and len(run.rows()) == 450 and len({r["id"] for r in run.rows()}) == 450
    assert grants == {"password": 1, "refresh_token": 1}
    assert statuses.count(401) <= 4  # the pages in flight when the token died, each retried once


def test_portsip_password_changed_mid_listing_exits_3_after_three_requests() -> None:
    def change_password(sim: Any) -> None:
        sim.users = {key: "changed-elsewhere" for key in sim.users}
        sim.revoke_tokens(refresh_too=True)

    hook = Mark(change_password)
    with running("portsip", calls=450, knobs=Knobs(script=[None, hook])) as sim:
        run = run_cli(sim, "portsip", "--limit", "400")  # one page at a time after the first
        after = hook.after(sim.sim)
    assert run.code == 3 and "login refused" in run.err
    assert "INCOMPLETE" in run.err  # the rows already written are said to be partial
    # Per page in flight: its 401, one refresh (refused), one login (refused); never a loop.
    assert after <= 3 * 4


async def test_voipstudio_token_idle_expiry_is_one_refused_request() -> None:
    with running("voipstudio", calls=30, token_idle_timeout=60) as sim:
        async with connect(sim) as provider:
            await provider.fetch_page(CallFilter(), 0, 10)
            # Only now does the token get a short idle limit: a busy machine can't expire it early.
            for token in sim.sim.tokens.values():
                token.idle_timeout = 0.3
            await asyncio.sleep(0.45)
            before = sim.sim.requests
            with pytest.raises(AuthError) as info:
                await provider.fetch_page(CallFilter(), 1, 10)
        assert sim.sim.requests - before == 1
    assert info.value.exit_code == 3 and "expired after inactivity" in str(info.value)


def test_voximplant_jwt_rejected_mid_listing_exits_3() -> None:
    # The account starts refusing our 30-second tokens (a policy change or a clock jump).
    hook = Mark(lambda sim: setattr(sim, "max_token_lifetime", 10))
    with running("voximplant", calls=2500, knobs=Knobs(script=[None, None, hook])) as sim:
        run = run_cli(sim, "voximplant")
        after = hook.after(sim.sim)
    assert run.code == 3 and "Authorization failed (error 100)" in run.err and "clock" in run.err
    assert after <= 2


def test_2chat_key_revoked_mid_listing_exits_3() -> None:
    hook = Mark(lambda sim: setattr(sim, "api_key", "UAKrotated-0000-4000-8000-000000000000"))
    with running("2chat", calls=230, knobs=Knobs(script=[None, hook])) as sim:
        run = run_cli(sim, "2chat")
        after = hook.after(sim.sim)
    assert run.code == 3 and "Invalid API key" in run.err and after <= 1


def test_unpod_token_expiring_mid_listing_exits_3() -> None:
    hook = Mark(lambda sim: setattr(sim, "token_expired", True))
    with running("unpod", calls=230, knobs=Knobs(script=[None, hook])) as sim:
        run = run_cli(sim, "unpod")
        after = hook.after(sim.sim)
    assert run.code == 3 and "Token has expired" in run.err and "Generate a new key" in run.err and after <= 1


# --- 403: role, organisation ----------------------------------------------------------------------


FORBIDDEN = {
    # provider: (simulator settings, words the error must hold)
    "2chat": ({"knobs": Knobs(script=[403])}, "403"),
    "voximplant": ({"forbidden": ["GetCallHistory"]}, "role"),
    "unpod": ({"org_handle": "someone-else.example"}, "organisation handle"),
    "portsip": ({"role": "user", "endpoints": {"calllogs", "cdrs"}}, "admin"),  # no /user/cdrs to fall back to
    "voipstudio": ({"knobs": Knobs(script=[403])}, "403"),
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_403_role_or_org_exits_3_without_retry(provider: str) -> None:
    settings, says = FORBIDDEN[provider]
    env = {}
    with running(provider, **settings) as sim:
        if provider == "unpod":  # the client keeps the handle it was given: ours, which this token lacks
            env = {"CDRTUI_UNPOD_ORG_HANDLE": "acmevoice.com"}
        run = run_cli(sim, provider, env=env)
    assert run.code == 3 and len(run.errors) == 1 and says in run.errors[0]
    # PortSIP tries the user's own /user/cdrs once after a 403 on the tenant listing (issue 10 item 2).
    assert run.requests <= (3 if provider == "portsip" else 2)


# --- the TUI: back to the login screen, no retry storm --------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_refused_credentials_open_the_login_screen_once(provider: str, tmp_path: Path) -> None:
    from cdrtui.tui.screens.login import LoginScreen

    wrong = wrong_credentials(provider, tmp_path)
    field = {
        "CDRTUI_2CHAT_API_KEY": "api_key",
        "CDRTUI_VOXIMPLANT_CREDENTIALS": "credentials",
        "CDRTUI_UNPOD_TOKEN": "token",
        "CDRTUI_PORTSIP_PASSWORD": "password",
        "CDRTUI_VOIPSTUDIO_TOKEN": "token",
    }
    creds = {field[k]: v for k, v in wrong.items()}
    with running(provider) as sim:
        app = tui_app([sim], **creds)
        async with app.run_test(size=SIZE) as pilot:
            started = time.monotonic()
            while not isinstance(app.screen, LoginScreen) and time.monotonic() - started < 60:
                await pilot.pause(0.05)
            assert isinstance(app.screen, LoginScreen)
            await pilot.pause(0.3)
            text = svg_text(screenshot(app, f"login after refusal ({provider})"))
            assert REFUSED_SAYS[provider] in text
            assert len([s for s in app.screen_stack if isinstance(s, LoginScreen)]) == 1
        assert sim.sim.requests <= 3, sim.sim.log  # the refusal, and nothing after it


async def test_voipstudio_idle_session_goes_to_login_on_refresh() -> None:
    from cdrtui.tui.screens.login import LoginScreen

    with running("voipstudio", calls=100, token_idle_timeout=60) as sim:
        app = tui_app([sim])
        async with app.run_test(size=SIZE) as pilot:
            started = time.monotonic()
            while not loaded(app) and time.monotonic() - started < 60:
                await pilot.pause(0.05)
            assert loaded(app)
            for token in sim.sim.tokens.values():  # short only now: a busy machine can't expire it early
                token.idle_timeout = 0.25
            await pilot.pause(0.35)  # idle longer than the token lives
            before = sim.sim.requests
            await pilot.press("r")
            while not isinstance(app.screen, LoginScreen) and time.monotonic() - started < 60:
                await pilot.pause(0.05)
            assert isinstance(app.screen, LoginScreen)
            assert "expired after inactivity" in svg_text(screenshot(app, "voipstudio idle login"))
            assert sim.sim.requests - before <= 2
