"""The integration stack: a real Asterisk 22 (chrooted rootfs), a real Redis,
the service as its own process, and real SIP phones.

After every test: no channel and no bridge is left in Asterisk, and no agent
is left `reserved`; then the shared state is reset for the next test.
"""

from __future__ import annotations

import fcntl
import hashlib
import tomllib
from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from argon2 import PasswordHasher

import devstack
from controlplane.adapters.ami import AmiClient
from controlplane.adapters.ari import AriClient, AriError
from tests.support.asterisk import AmiEvents, wait_until
from tests.support.browser import HOST_ADDRESS, NETWORK, PhoneNet
from tests.support.constants import (
    BETA_ENTRY_POINT,
    BILLING_ENTRY_POINT,
    DASHBOARD_AMI_SECRET,
    DASHBOARD_AMI_USER,
    DC_PREFIX,
    GAMMA_ENTRY_POINT,
)
from tests.support.phones import PhoneFactory

REPO = devstack.REPO_ROOT
RUN_DIR = REPO / "build" / "test-run"
SERVICE_PORT = 8099
REDIS_PORT = 6399
LOCK_FILE = Path("/tmp/controlplane-integration.lock")

# CB-3: short callback timings (acme's queues), so that retries are quick to see.
CALLBACK_RETRIES = 1
CALLBACK_RETRY_SECONDS = 2
CALLBACK_RING_SECONDS = 4

# OD-4, OD-5: how long an outdial rings on the agent's and the customer's phone.
OUTDIAL_RING_SECONDS = 4

# REC-2: a short privacy shield, so that its automatic end is quick to see.
PRIVACY_SHIELD_SECONDS = 3
# END-2: auto wrap-up is tested on a tenant of its own, so that no other
# test's wrap-up is cut short. Its agent Beth has the token "test-beth-token".
BETA_AUTO_WRAP_UP_SECONDS = 2
BETA_TENANT: dict[str, Any] = {
    "name": "Beta Ltd",
    "datacenter": "dc1",
    "max_concurrent_calls": 5,
    "after_wrap_up": "idle",
    "auto_wrap_up_seconds": BETA_AUTO_WRAP_UP_SECONDS,
    "wrap_up_reasons": {"done": "Done"},
    "idle_reasons": {"break": "Break"},
    "flows": {"main": {}},
    "queues": {"main": {"name": "Beta", "max_ring_seconds": 4, "teams": ["crew"]}},
    "entry_points": {
        "main": {"number": BETA_ENTRY_POINT, "label": "Beta", "flow": "main", "queue": "main"}
    },
    "teams": {"crew": {"name": "Crew"}},
    "profiles": {"basic": {}},
    "agents": {
        "beth": {"name": "Beth Brown", "extension": "1010", "team": "crew", "profile": "basic"}
    },
}
# LIM-1..3: a tenant with a small limit for the outbound limit tests, its
# agents on extensions 1012..1020 (tokens "test-lim-<agent>-token").
LIM_TENANT_LIMIT = 2
LIM_AGENTS = {f"l{ext}": str(ext) for ext in range(1012, 1021)}
LIM_TENANT: dict[str, Any] = {
    "name": "Limited Ltd",
    "datacenter": "dc1",
    "max_concurrent_calls": LIM_TENANT_LIMIT,
    "default_ani": "+15550003000",
    "wrap_up_reasons": {"done": "Done"},
    "idle_reasons": {"break": "Break"},
    "available_after_outdial": True,  # OD-7
    "outdial_cancel": False,  # OD-4: no cancel while it rings
    "outdial_agent_ring_seconds": 4,
    "outdial_customer_ring_seconds": 4,
    "teams": {"crew": {"name": "Crew"}},
    "profiles": {
        "caller": {"outdial": True, "keypad": True},
        "book": {"outdial": True, "keypad": False},  # OD-2: address book only
    },
    "agents": {
        name: {
            "name": name,
            "extension": ext,
            "team": "crew",
            "profile": "book" if ext == "1020" else "caller",
        }
        for name, ext in LIM_AGENTS.items()
    },
    "address_book": [{"name": "Echo desk", "number": "+15551000000"}],
}
LIM_TOKENS = [
    {
        "sha256": hashlib.sha256(f"test-lim-{name}-token".encode()).hexdigest(),
        "role": "agent",
        "tenant": "lim",
        "agent": name,
    }
    for name in LIM_AGENTS
]
# TR, CO: a short ring time for transfer and consult targets.
TRANSFER_RING_SECONDS = 4
# CO-2: the support flow's six variables a consult offer carries (a seventh,
# customer_email, is not carried).
CONSULT_VARIABLES = ["customer_name", "account", "case_number", "balance", "vip", "follow_up_at"]
# TR-4: a second flow and its entry point (into queue billing, team tier1) to
# transfer to:
# customer_name and balance have the same name and type as in the support
# flow, case_number the same name but another type.
BILLING_FLOW: dict[str, Any] = {
    "variables": [
        {"name": "customer_name", "label": "Customer", "type": "string", "order": 1},
        {"name": "case_number", "label": "Case", "type": "string", "order": 2},
        {"name": "balance", "label": "Balance", "type": "decimal", "order": 3},
        {"name": "invoice", "label": "Invoice", "type": "string", "order": 4, "default": "none"},
    ]
}
# TR-2: a tenant whose blind transfers that are not answered go back to the
# queue (tokens "test-gus-token", "test-gail-token").
GAMMA_TENANT: dict[str, Any] = {
    "name": "Gamma GmbH",
    "datacenter": "dc1",
    "max_concurrent_calls": 5,
    "transfer_no_answer": "requeue",
    "transfer_ring_seconds": TRANSFER_RING_SECONDS,
    "wrap_up_reasons": {"done": "Done"},
    "idle_reasons": {"break": "Break"},
    "flows": {"main": {}},
    "queues": {"main": {"name": "Gamma", "max_ring_seconds": 4, "teams": ["crew"]}},
    "entry_points": {
        "main": {"number": GAMMA_ENTRY_POINT, "label": "Gamma", "flow": "main", "queue": "main"}
    },
    "teams": {"crew": {"name": "Crew"}},
    "profiles": {"basic": {}},
    "agents": {
        "gus": {"name": "Gus Green", "extension": "1007", "team": "crew", "profile": "basic"},
        "gail": {"name": "Gail Grey", "extension": "1008", "team": "crew", "profile": "basic"},
    },
}
GAMMA_TOKENS = [
    {
        "sha256": hashlib.sha256(f"test-{name}-token".encode()).hexdigest(),
        "role": "agent",
        "tenant": "gamma",
        "agent": name,
    }
    for name in ("gus", "gail")
]
# DSK-1: desktop passwords. The demo's agents keep their demo passwords
# ("demo-<agent>-password"), the test tenants' agents get "test-<agent>-password";
# all hashed at a low argon2id cost (the hash strings say m=1024,t=1,p=1), so
# that sign-ins are quick. The demo's and any real configuration's hashes
# keep the library's default cost.
TEST_PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
# DSK-1: a short idle timeout (the shortest there is), so that an event
# WebSocket's keep-alive is quick to see.
SESSION_IDLE_MINUTES = 1
# Overload: while this file holds a number of seconds, the service blocks its
# event loop that long four times a second (real lag; test configuration only).
OVERLOAD_LAG_FILE = RUN_DIR / "overload-lag"


def agent_password(tenant: str, agent: str) -> str:
    return f"demo-{agent}-password" if tenant in ("acme", "globex") else f"test-{agent}-password"


BETA_TOKEN = {
    "sha256": "0ab92dccb30d77cf329e4b4c6fa272bd6dcf7be0f9a6df97934c0444ab8970b1",
    "role": "agent",
    "tenant": "beta",
    "agent": "beth",
}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml_value(v)}' for k, v in value.items()) + " }"
    raise TypeError(type(value))


def write_test_config(path: Path) -> Path:
    """The demo config, pointed at the test Redis and the test HTTP port."""
    data = tomllib.loads((REPO / "config" / "demo.toml").read_text())
    data["service"]["redis_url"] = f"redis://127.0.0.1:{REDIS_PORT}/0"
    data["service"]["listen_port"] = SERVICE_PORT
    data["service"]["log_level"] = "DEBUG"
    # Short ring time so that ring-no-answer tests are quick.
    for queue in data["tenants"]["acme"]["queues"].values():
        queue["max_ring_seconds"] = 4
        queue["callback_retries"] = CALLBACK_RETRIES
        queue["callback_retry_seconds"] = CALLBACK_RETRY_SECONDS
        queue["callback_ring_seconds"] = CALLBACK_RING_SECONDS
    data["tenants"]["acme"]["privacy_shield_seconds"] = PRIVACY_SHIELD_SECONDS
    # OD-4, OD-5: short outdial ring times, so that no-answer tests are quick.
    data["tenants"]["acme"]["outdial_agent_ring_seconds"] = OUTDIAL_RING_SECONDS
    data["tenants"]["acme"]["outdial_customer_ring_seconds"] = OUTDIAL_RING_SECONDS
    data["tenants"]["beta"] = BETA_TENANT
    data["tokens"].append(BETA_TOKEN)
    data["tenants"]["lim"] = LIM_TENANT
    data["tokens"].extend(LIM_TOKENS)
    acme = data["tenants"]["acme"]
    acme["transfer_ring_seconds"] = TRANSFER_RING_SECONDS
    acme["flows"]["support"]["consult_variables"] = CONSULT_VARIABLES
    acme["flows"]["billing"] = BILLING_FLOW
    acme["queues"]["billing"] = {"name": "Billing", "max_ring_seconds": 4, "teams": ["tier1"]}
    acme["entry_points"]["billing"] = {
        "number": BILLING_ENTRY_POINT,
        "label": "Acme Billing",
        "flow": "billing",
        "queue": "billing",
    }
    data["tenants"]["gamma"] = GAMMA_TENANT
    data["tokens"].extend(GAMMA_TOKENS)
    data["service"]["session_idle_minutes"] = SESSION_IDLE_MINUTES
    OVERLOAD_LAG_FILE.unlink(missing_ok=True)
    data["overload"] = {"debug_lag_file": str(OVERLOAD_LAG_FILE)}
    # PH: the browser phone's tests load the desktop from the test network
    # namespace's host address (tests/support/browser.py).
    data["service"]["extra_listen_hosts"] = [HOST_ADDRESS]
    data["tenants"] = {  # (copies: the tenants above stay as they are)
        tid: {
            **tenant,
            "agents": {
                aid: {**agent, "password_hash": TEST_PASSWORD_HASHER.hash(agent_password(tid, aid))}
                for aid, agent in tenant["agents"].items()
            },
            # SUP: the demo's supervisors (demo-<id>-password), at the low cost
            **(
                {
                    "supervisors": {
                        sid: {
                            **sup,
                            "password_hash": TEST_PASSWORD_HASHER.hash(agent_password(tid, sid)),
                        }
                        for sid, sup in tenant["supervisors"].items()
                    }
                }
                if "supervisors" in tenant
                else {}
            ),
        }
        for tid, tenant in data["tenants"].items()
    }
    lines: list[str] = []
    for key, value in data.items():
        lines.append(f"{key} = {_toml_value(value)}")
    path.write_text("\n".join(lines) + "\n")
    return path


class Stack:
    def __init__(
        self,
        asterisk: devstack.AsteriskRunner,
        redis_runner: devstack.RedisRunner,
        service: devstack.ServiceRunner,
    ) -> None:
        self.asterisk = asterisk
        self.redis = redis_runner
        self.service = service
        self.url = f"http://127.0.0.1:{SERVICE_PORT}"


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    # One integration run at a time per machine: the stack uses fixed ports
    # and one Asterisk rootfs.
    lock = LOCK_FILE.open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        yield from _run_stack()
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def _run_stack() -> Iterator[Stack]:
    rootfs = devstack.ensure_rootfs()
    redis_runner = devstack.RedisRunner(RUN_DIR, port=REDIS_PORT, fresh=True)
    # PH: browser phones reach the service and Asterisk's media on the host
    # side of the test network namespace.
    net = PhoneNet()
    asterisk = devstack.AsteriskRunner(rootfs, RUN_DIR, webrtc_media=(HOST_ADDRESS, NETWORK))
    config = write_test_config(RUN_DIR / "test.toml")
    service = devstack.ServiceRunner(config, RUN_DIR, port=SERVICE_PORT)
    net.up()
    try:
        yield from _run_parts(redis_runner, asterisk, service)
    finally:
        net.down()


def _run_parts(
    redis_runner: devstack.RedisRunner,
    asterisk: devstack.AsteriskRunner,
    service: devstack.ServiceRunner,
) -> Iterator[Stack]:
    redis_runner.start()
    try:
        asterisk.start()
        try:
            service.start()
            try:
                yield Stack(asterisk, redis_runner, service)
            finally:
                service.stop()
        finally:
            asterisk.stop()
    finally:
        redis_runner.stop()


@pytest.fixture
async def ari(stack: Stack) -> AsyncIterator[AriClient]:
    client = AriClient(devstack.ARI_URL, devstack.ARI_USERNAME, devstack.ARI_PASSWORD, "tests")
    await client.start()
    yield client
    await client.close()


@pytest.fixture
async def ami_events(stack: Stack) -> AsyncIterator[AmiEvents]:
    """AMI events as an operator's dashboard reads them (its own AMI user)."""
    client = AmiClient("127.0.0.1", devstack.AMI_PORT, DASHBOARD_AMI_USER, DASHBOARD_AMI_SECRET)
    events = AmiEvents(client)
    await client.start()
    yield events
    await client.close()


@pytest.fixture
async def phones(stack: Stack, tmp_path: Path) -> AsyncIterator[PhoneFactory]:
    factory = PhoneFactory(tmp_path / "phones")
    try:
        yield factory
    finally:
        await factory.close_all()


@pytest.fixture
async def standby(stack: Stack) -> AsyncIterator[devstack.ServiceRunner]:
    """A second replica on the same Redis and Asterisk (port 8097), ready to
    take the event stream over; afterwards the first replica runs again
    (restarted if a test killed it)."""
    port = SERVICE_PORT - 2
    config = RUN_DIR / "standby.toml"
    config.write_text((RUN_DIR / "test.toml").read_text().replace(f"{SERVICE_PORT}", f"{port}", 1))
    runner = devstack.ServiceRunner(config, RUN_DIR, port=port, stasis_app=None)
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()
        if not stack.service.is_running():
            stack.service.start()


async def app_owned(ari: AriClient) -> bool:
    """Asterisk knows the Stasis app again (a replica holds its event stream)."""
    try:
        await ari.request("GET", "/applications/controlplane")
    except AriError:
        return False
    return True


@pytest.fixture(autouse=True)
async def nothing_left_behind(stack: Stack, ari: AriClient) -> AsyncIterator[None]:
    """Before each test: the service holds Asterisk's event stream (a test
    that restarted a part leaves it to reconnect). After each test: no
    channel, no bridge, no reserved agent; then reset."""
    await wait_until(
        lambda: _stream_connected(stack.url), timeout=15, what="the service's ARI event stream"
    )
    yield
    await wait_until(
        lambda: _empty(ari), timeout=10, what="Asterisk to have no channels and no bridges"
    )
    client = aioredis.Redis.from_url(stack.redis.url, decode_responses=True)

    async def reserved() -> list[str]:
        keys = []
        async for key in client.scan_iter(f"{DC_PREFIX}agent:*"):
            if await client.hget(key, "state") == "reserved":
                keys.append(key)
        return keys

    try:
        # The service handles the last hang-ups a moment after Asterisk has
        # dropped the channels; an agent still reserved after that is a leak.
        try:
            await wait_until(lambda: _none(reserved()), timeout=5, what="no agent left reserved")
        except AssertionError:
            raise AssertionError(f"agents left reserved: {await reserved()}") from None
    finally:
        # Reset even after a failure, so that one test's leak is not the next one's.
        async for key in client.scan_iter(f"{DC_PREFIX}*"):
            if ":owner:" not in key:
                await client.delete(key)
        await client.aclose()


async def _stream_connected(base_url: str) -> bool:
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{base_url}/metrics") as resp,
        ):
            text = await resp.text()
    except aiohttp.ClientError:
        return False
    return "\ncp_ari_event_stream_connected 1.0\n" in text


async def _none(items: Awaitable[list[str]]) -> bool:
    return not await items


async def _empty(ari: AriClient) -> bool:
    channels = await ari.channels()
    bridges = await ari.bridges()
    return not channels and not bridges
