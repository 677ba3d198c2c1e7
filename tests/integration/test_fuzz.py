"""SEC-2 on the running service: more than 10,000 generated bad requests
(hypothesis) across every route of the API: tokens and other headers, path
IDs, query parameters, JSON bodies (shapes, types, sizes, encodings), call
variable values and callback numbers (what would reach a dial string).

While Alice is on a real call, every request gets a clear 4xx JSON error,
and afterwards nothing has changed: Redis is as it was, Asterisk has the
same channels and bridges, and AMI saw no new channel, dial or originate.
Each generated request is bad by construction (one sure defect), so any
success would be a bug, not luck."""

from __future__ import annotations

import asyncio
import http.client
import json
import posixpath
import re
import string
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from controlplane.adapters.ari import AriClient
from controlplane.api.auth import Unauthorized, authenticate
from controlplane.api.callbacks import CallbackRequest
from controlplane.config import Config, load_config
from tests.integration.conftest import RUN_DIR, SERVICE_PORT, Stack
from tests.support.asterisk import AmiEvents
from tests.support.constants import DC_PREFIX
from tests.support.desktop import Desktop
from tests.support.phones import PhoneFactory
from tests.support.routes import PUBLIC, api_routes, concrete, params
from tests.support.scenes import connected_call
from tests.support.snapshot import (
    asterisk_state,
    differences,
    redis_state,
    warm_up_reads,
)

pytestmark = pytest.mark.integration

EXAMPLES = 10_500
MAX_BODY = 64 * 1024
TOKENS = {
    "alice": "demo-alice-token",
    "bob": "demo-bob-token",
    "supervisor": "demo-supervisor-token",
    "admin": "demo-admin-token",
    "gina": "demo-gina-token",
    "globex-supervisor": "demo-globex-supervisor-token",
}
# Asterisk events that would mean something reached a dial string or a channel.
DIALLING = {"Newchannel", "DialBegin", "DialEnd", "OriginateResponse", "VarSet"}


@dataclass(frozen=True)
class Request:
    kind: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass
class World:
    """What the generators need to know: the routes, the real IDs."""

    config: Config
    routes: list[tuple[str, str]]
    ix_id: str
    real_ids: frozenset[str]

    def ids(self) -> dict[str, str]:
        return {"agent_id": "alice", "ix_id": self.ix_id}


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


def as_json(body: Any) -> bytes:
    return json.dumps(body).encode()


JSON_HEADERS = {"Content-Type": "application/json"}
header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=120,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
# Text that is surely no valid value of a typed variable (a letter no
# integer, decimal or date has; or a control character no string may have).
not_a_number = st.builds(lambda a, b: f"{a}q{b}", st.text(max_size=8), st.text(max_size=8))
with_control = st.builds(
    lambda a, c, b: a + c + b,
    st.text(max_size=8),
    st.sampled_from(["\x00", "\x07", "\x0b", "\x1b", "\x7f"]),  # (tab, CR, LF are text)
    st.text(max_size=8),
)
too_long = st.integers(min_value=257, max_value=2000).map(lambda n: "x" * n)
wrong_type = st.lists(st.integers(), max_size=3) | st.dictionaries(
    st.text(max_size=5), st.integers(), max_size=3
)


def bad_variable_edit(flow_names: frozenset[str]) -> st.SearchStrategy[tuple[str, Any]]:
    """(name, {"value", "version"}) that no save may accept."""
    entry = st.fixed_dictionaries({"value": st.just("ok"), "version": st.just(0)})
    return st.one_of(
        # not editable (secure account, flow-only balance and vip)
        st.tuples(st.sampled_from(["account", "balance", "vip"]), entry),
        # no such variable, or no valid name at all
        st.tuples(st.text(min_size=1, max_size=70).filter(lambda n: n not in flow_names), entry),
        st.tuples(
            st.just("case_number"),
            st.fixed_dictionaries({"value": not_a_number, "version": st.just(0)}),
        ),
        st.tuples(
            st.just("follow_up_at"),
            st.fixed_dictionaries({"value": not_a_number, "version": st.just(0)}),
        ),
        st.tuples(
            st.sampled_from(["customer_name", "customer_email"]),
            st.fixed_dictionaries({"value": too_long | with_control, "version": st.just(0)}),
        ),
        st.tuples(
            st.just("customer_name"),
            st.fixed_dictionaries({"value": wrong_type, "version": st.just(0)}),
        ),
        # a version the value is not based on (stale or nonsense)
        st.tuples(
            st.just("customer_name"),
            st.fixed_dictionaries(
                {
                    "value": st.text(alphabet=string.ascii_letters, max_size=20),
                    "version": st.integers(min_value=1, max_value=2**60)
                    | st.integers(max_value=-1)
                    | st.floats().filter(lambda f: not f.is_integer())
                    | st.text(max_size=5).map(lambda t: f"{t}v"),
                }
            ),
        ),
        # an entry of the wrong shape
        st.tuples(st.just("customer_name"), json_values.filter(lambda v: not isinstance(v, dict))),
        st.tuples(
            st.just("customer_name"),
            st.fixed_dictionaries(
                {"value": st.just("x"), "version": st.just(0), "extra": json_values}
            ),
        ),
    )


def bad_flow_value(flow_names: frozenset[str]) -> st.SearchStrategy[tuple[str, Any]]:
    return st.one_of(
        st.tuples(
            st.text(min_size=1, max_size=70).filter(lambda n: n not in flow_names), st.just("1")
        ),
        st.tuples(st.sampled_from(["case_number", "balance", "follow_up_at"]), not_a_number),
        st.tuples(st.sampled_from(["customer_name", "account"]), too_long | with_control),
        st.tuples(st.sampled_from(["account", "vip"]), wrong_type),
        st.tuples(st.just("vip"), st.sampled_from(["yes", "1", "TRUEish", "q"])),
    )


def requests(world: World) -> st.SearchStrategy[Request]:
    ids = world.ids()
    routes = [r for r in world.routes if r not in PUBLIC]
    with_ids = [r for r in routes if params(r[1])]
    flow_names = frozenset(v.name for v in world.config.tenants["acme"].flows["support"].variables)
    ix = world.ix_id
    variables = f"/v1/interactions/{ix}/variables"
    flow_variables = f"/v1/interactions/{ix}/flow-variables"

    def not_a_token(header: str | None) -> bool:
        try:
            authenticate(world.config, header, None)
        except Unauthorized:
            return True
        return False

    bad_auth = st.builds(
        lambda route, header: Request(
            "token",
            route[0],
            concrete(route[1], ids, ix),
            ({"Authorization": header} if header is not None else {}) | JSON_HEADERS,
            b"{}",
        ),
        st.sampled_from(routes),
        st.one_of(
            st.none(),
            header_text,
            header_text.map(lambda t: f"Bearer {t}"),
            st.sampled_from(list(TOKENS.values())).map(lambda t: f"Basic {t}"),
            st.sampled_from(list(TOKENS.values())).map(lambda t: f"Bearer {t.upper()}"),
            st.sampled_from(list(TOKENS.values())).map(lambda t: f"Bearer {t}x"),
            st.sampled_from(list(TOKENS.values())).map(lambda t: f"Bearer {t[:-1]}"),
            st.text(alphabet=st.characters(min_codepoint=0x80, max_codepoint=0xFF), min_size=1).map(
                lambda t: f"Bearer {t}"
            ),
        ).filter(not_a_token),
    )
    token_in_query = st.builds(
        lambda t: Request("token", "GET", "/v1/events?token=" + quote(t, safe=""), {}, None),
        st.text(max_size=60).filter(lambda t: not_a_token(f"Bearer {t}") if t.strip() else True),
    )

    garbage_id = st.one_of(
        st.text(max_size=80),
        st.from_regex(r"\A[0-9a-f]{32}\Z"),
        st.sampled_from(
            [ix.upper(), ix + "0", ix[:-1], "..", ".", "alice/..", "*", "' OR 1=1 --", "${x}"]
        ),
        st.sampled_from(["ALICE", "alice ", " alice", "Alice", "alice\x00", "a" * 300]),
    ).filter(lambda v: v not in world.real_ids)
    bad_ids = st.builds(
        lambda route, who, value, body: Request(
            "path-id",
            route[0],
            concrete(route[1], {}, quote(value, safe="") or "%20"),
            bearer(who) | JSON_HEADERS,
            as_json(body),
        ),
        st.sampled_from(with_ids),
        st.sampled_from(list(TOKENS)),
        garbage_id,
        st.sampled_from(
            [
                {},
                {"extension": "1001"},
                {"state": "idle", "reason": "break"},
                {"reason": "resolved"},
                {"variables": {"customer_name": {"value": "x", "version": 0}}},
                {"variables": {"customer_name": "x"}},
            ]
        ),
    ).filter(lambda r: not _names_real(world, r.path))
    wrong_method = st.builds(
        lambda route, method: Request(
            "method", method, concrete(route[1], ids, ix), bearer("supervisor"), None
        ),
        st.sampled_from(routes),
        st.sampled_from(["DELETE", "PATCH", "PUT", "POST", "GET", "OPTIONS", "TRACE", "BREW"]),
    ).filter(lambda r: not _routed(world, r.method, r.path))
    unknown_path = st.builds(
        lambda path, who: Request("path", "GET", "/" + quote(path, safe="/"), bearer(who), None),
        st.text(max_size=60),
        st.sampled_from(list(TOKENS)),
    ).filter(lambda r: not _routed(world, r.method, r.path))

    # Bodies from the rightful caller on the real path: every one bad.
    agent_bodies = st.builds(
        lambda path_method, value: Request(
            "body", path_method[1], path_method[0], bearer("alice") | JSON_HEADERS, as_json(value)
        ),
        st.sampled_from(
            [
                ("/v1/agents/alice/login", "POST"),  # (she is logged in and on a call:
                ("/v1/agents/alice/state", "PUT"),  # no login, state or wrap-up body
                (f"/v1/interactions/{ix}/wrap-up", "POST"),  # could be right now)
            ]
        ),
        json_values
        | st.fixed_dictionaries({"extension": json_values})
        | st.fixed_dictionaries({"state": json_values, "reason": json_values})
        | st.fixed_dictionaries({"reason": json_values}),
    )
    saves = st.builds(
        lambda bad, good: Request(
            "variables",
            "PATCH",
            variables,
            bearer("alice") | JSON_HEADERS,
            as_json({"variables": dict([*good, bad])}),
        ),
        bad_variable_edit(flow_names),
        st.sampled_from([[], [("case_number", {"value": "42", "version": 0})]]),
    )
    flow_sets = st.builds(
        lambda bad, good: Request(
            "flow-variables",
            "PUT",
            flow_variables,
            bearer("admin") | JSON_HEADERS,
            as_json({"variables": {**good, bad[0]: bad[1]}}),
        ),
        bad_flow_value(flow_names),
        st.sampled_from([{}, {"balance": "12.50"}, {"customer_name": "Flow"}]),
    )
    bad_number = st.one_of(
        st.text(max_size=40),
        st.from_regex(r"\A\+?[0-9]{3,12}[&,/$;{|@ :*#][A-Za-z0-9/@{}$]{0,12}\Z"),
        st.from_regex(r"\A\+?[0-9]{16,30}\Z"),
        st.from_regex(r"\A\+?[0-9]{0,2}\Z"),
        st.sampled_from(["+1555100000&Local/1001@agents", "+15551000000\n", "${SHELL(id)}"]),
        st.integers(),
        st.none(),
    ).filter(lambda n: not (isinstance(n, str) and _callback_number_ok(n)))
    callbacks = st.one_of(
        st.builds(
            lambda n: {"number": n, "queue": "support"},
            bad_number,
        ),
        st.builds(
            lambda q: {"number": "+15551000000", "queue": q},
            st.text(max_size=70).filter(lambda q: q not in {"support", "vip", "sales"}),
        ),
        st.builds(
            lambda label: {"number": "+15551000000", "queue": "support", "label": label},
            with_control | st.integers(max_value=-1) | too_long,
        ),
        st.builds(
            lambda k, v: {"number": "+15551000000", "queue": "support", k: v},
            st.text(min_size=1, max_size=10).filter(
                lambda k: k not in CallbackRequest.model_fields
            ),
            json_values,
        ),
        st.builds(
            lambda bad: {
                "number": "+15551000000",
                "queue": "support",
                "entry_point": "support",  # (its flow's variables: the ones generated for)
                "variables": {bad[0]: bad[1]},
            },
            bad_flow_value(flow_names),
        ),
    ).map(
        lambda b: Request(
            "callback", "POST", "/v1/callbacks", bearer("admin") | JSON_HEADERS, as_json(b)
        )
    )
    raw_bodies = st.builds(
        lambda target, raw: Request(
            "encoding", target[1], target[0], target[2] | JSON_HEADERS, raw
        ),
        st.sampled_from(
            [
                (variables, "PATCH", bearer("alice")),
                (flow_variables, "PUT", bearer("admin")),
                ("/v1/callbacks", "POST", bearer("admin")),
                ("/v1/agents/alice/state", "PUT", bearer("alice")),
            ]
        ),
        st.one_of(
            st.binary(max_size=200),
            st.binary(max_size=40).map(lambda b: b'{"variables": "' + b + b'\xff\xfe"}'),
            st.integers(min_value=100, max_value=50_000).map(lambda n: b"[" * n + b"]" * n),
            st.integers(min_value=MAX_BODY + 1, max_value=MAX_BODY * 3).map(
                lambda n: b'{"variables": {"customer_name": "' + b"x" * n + b'"}}'
            ),
        ),
    )
    wrong_content_type = st.builds(
        lambda target, ctype: Request(
            "content-type",
            target[1],
            target[0],
            target[2] | ({"Content-Type": ctype} if ctype is not None else {}),
            as_json(target[3]),
        ),
        st.sampled_from(
            [
                (
                    variables,
                    "PATCH",
                    bearer("alice"),
                    {"variables": {"customer_name": {"value": "x", "version": 0}}},
                ),
                (flow_variables, "PUT", bearer("admin"), {"variables": {"customer_name": "x"}}),
                (
                    "/v1/callbacks",
                    "POST",
                    bearer("admin"),
                    {"number": "+15551000000", "queue": "support"},
                ),
            ]
        ),
        st.none()
        | header_text.filter(lambda c: "json" not in c.lower())
        | st.sampled_from(
            ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
        ),
    )
    bad_queries = st.builds(
        lambda q: Request("query", "GET", "/v1/audit?" + q, bearer("supervisor"), None),
        st.one_of(
            st.text(max_size=20)
            .filter(lambda v: not (v.isascii() and v.isdigit() and 1 <= int(v) <= 1000))
            .map(lambda v: "limit=" + quote(v, safe="")),
            st.text(min_size=1, max_size=12)
            .filter(lambda k: k != "limit")
            .map(lambda k: quote(k, safe="") + "=1"),
        ),
    )
    audit_by_agent = st.builds(
        lambda who: Request("role", "GET", "/v1/audit", bearer(who), None),
        st.sampled_from(["alice", "bob", "gina"]),
    )
    return st.one_of(
        bad_auth,
        token_in_query,
        bad_ids,
        wrong_method,
        unknown_path,
        agent_bodies,
        saves,
        flow_sets,
        callbacks,
        raw_bodies,
        wrong_content_type,
        bad_queries,
        audit_by_agent,
    )


def _callback_number_ok(number: str) -> bool:
    digits = number[1:] if number.startswith("+") else number
    return digits.isascii() and digits.isdigit() and 3 <= len(digits) <= 15


def _names_real(world: World, path: str) -> bool:
    """Whether the path, decoded and with '..' resolved, names a real agent,
    interaction or tenant (a garbage ID must not turn into a real one)."""
    plain = posixpath.normpath(unquote(path.partition("?")[0]))
    return bool(set(plain.split("/")) & world.real_ids)


def _routed(world: World, method: str, path: str) -> bool:
    """Whether some route of the application takes this method and path."""
    plain = unquote(path.partition("?")[0])
    for route_method, template in world.routes:
        pattern = re.escape(template)
        for name in params(template):
            pattern = pattern.replace(re.escape("{" + name + "}"), "[^/]+")
        if route_method == method and re.fullmatch(pattern, plain):
            return True
    return False


class Client:
    """A keep-alive HTTP/1.1 connection to the service (reopened when closed)."""

    def __init__(self) -> None:
        self._conn: http.client.HTTPConnection | None = None

    def send(self, req: Request) -> tuple[int, str, bytes]:
        for attempt in range(2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", SERVICE_PORT, timeout=10)
            try:
                self._conn.request(req.method, req.path, body=req.body, headers=req.headers)
                resp = self._conn.getresponse()
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.close()
                return resp.status, resp.getheader("Content-Type", ""), data
            except (http.client.RemoteDisconnected, ConnectionError, BrokenPipeError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def fuzz(world: World, examples: int) -> dict[str, int]:
    """Sends `examples` generated requests; checks each answer; counts them by kind."""
    client = Client()
    counts: dict[str, int] = {}

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(req=requests(world))
    def one(req: Request) -> None:
        assume(req.path.startswith("/"))
        status, ctype, data = client.send(req)
        counts[req.kind] = counts.get(req.kind, 0) + 1
        where = f"{req.kind}: {req.method} {req.path[:120]} -> {status} {data[:300]!r}"
        assert 400 <= status < 500, where
        if ctype.startswith("application/json"):
            error = json.loads(data)
            assert set(error) == {"status", "error_id", "message", "details"}, where
            assert error["status"] == status and isinstance(error["details"], dict), where
        else:
            # Only the HTTP parser itself answers in plain text, before the app.
            assert status == 400 and ctype.startswith("text/plain"), where

    try:
        one()
    finally:
        client.close()
    return counts


@pytest.mark.spec("SEC-2", "CAD-3", "CB-1", "SEC-1")
async def test_given_a_call_when_10000_generated_bad_requests_arrive_then_4xx_and_nothing_changes(
    stack: Stack, ari: AriClient, ami_events: AmiEvents, phones: PhoneFactory
) -> None:
    config = load_config(RUN_DIR / "test.toml")
    routes = api_routes(RUN_DIR / "test.toml")
    async with (
        Desktop(stack.url, "demo-alice-token", "alice") as alice,
        Desktop(stack.url, "demo-bob-token", "bob") as bob,
    ):
        await bob.login("1002")
        call = await connected_call(
            phones, ari, alice, "1001", ani="+15553330001", answer_after_ms=200
        )
        ix_id, phone, customer = call.ix_id, call.phone, call.customer
        real_ids = frozenset(
            {ix_id}
            | {a for t in config.tenants.values() for a in t.agents}
            | {t for t in config.tenants}
        )
        world = World(config, routes, ix_id, real_ids)

        await warm_up_reads(
            stack.url, routes, TOKENS.values(), lambda t: concrete(t, world.ids(), ix_id)
        )
        redis_before = await redis_state(stack.redis.url, DC_PREFIX)
        asterisk_before = await asterisk_state(ari)
        seen_before = len(ami_events.events)
        started = time.monotonic()
        counts = await asyncio.to_thread(fuzz, world, EXAMPLES)
        took = time.monotonic() - started
        total = sum(counts.values())
        print(
            f"SEC-2: {total} generated bad requests in {took:.1f} s over {len(routes)} routes: "
            + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        )
        assert total >= 10_000
        assert len(counts) >= 12  # every kind of bad input was tried

        # Nothing changed, and nothing reached a dial string or a channel.
        redis_after = await redis_state(stack.redis.url, DC_PREFIX)
        assert redis_after == redis_before, differences(redis_before, redis_after)
        assert await asterisk_state(ari) == asterisk_before
        dialled = [e for e in ami_events.events[seen_before:] if e.get("Event") in DIALLING]
        assert not dialled, dialled[:3]

        # The call itself is untouched: its rightful agent still ends it.
        await alice.end(ix_id)
        await alice.state_event("wrap_up")
        await alice.wrap_up(ix_id, "resolved")
        await customer.wait_for("closed")
        await phone.wait_for("closed")
