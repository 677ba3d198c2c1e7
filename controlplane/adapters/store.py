"""Shared state in Redis: agents, queues, interactions, channel index, events.

Every key carries the datacenter as a hash tag (``cp:{dc1}:...``) so that each
atomic script touches one cluster slot. Anything that must not happen twice
(reserving an agent, taking a call from its queue, a state change checked
against the state it was decided on) is one Lua script.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline, PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError

from controlplane.domain.agent import AgentState
from controlplane.domain.interaction import Interaction, Status, Step, iso, status_sources
from controlplane.domain.legs import LegKind

# The store's error: Redis failed (no connection, a timeout, a script's
# error). Code outside the adapters catches it under this name.
StoreError = RedisError
# Commands queued to go to Redis in one round trip (see `Store.batch`); the
# adapters' `..._on(batch, ...)` methods queue theirs on it.
Batch = Pipeline
# Redis commands (each the command and its arguments) for a script to make
Writes = Sequence[Sequence[Any]]

HISTORY_LIMIT = 500
CHANNEL_INDEX_SECONDS = 7 * 86400  # a channel ID leads to its interaction this long

# Connections to Redis: three pools, each sized for its use.
#
# Commands: redis-py's asyncio client needs one connection per command in
# flight. Its default pool fails at once ("Too many connections") when they
# are all busy; under load that aborts a job half-way (an agent reserved, a
# channel never hung up). This pool is bounded and *waits*: a command finds
# a free connection or queues for one, in order. Redis runs one command at a
# time, so more connections than this add no throughput, only sockets; the
# queue is the backpressure that slows the callers down. The wait is capped
# as a last resort: a command waits that long only when Redis answers
# nothing at all, and then fails as Redis being unavailable would.
COMMAND_POOL_SIZE = 64
COMMAND_POOL_WAIT_SECONDS = 30.0
COMMAND_SOCKET_TIMEOUT = 5.0
# The event-stream lease: a pool of its own that no load can take, with
# timeouts well under the lease's 2 s, so that a renewal finishes (or fails
# and is tried again) while the lease still runs.
LEASE_POOL_SIZE = 2
LEASE_TIMEOUT_SECONDS = 0.5
# Pub/sub subscriptions hold their connection for as long as they listen;
# they get their own pool too, so that they never take command connections.
SUBSCRIBER_POOL_SIZE = 4


def _pool(
    url: str, *, size: int, wait: float, socket_timeout: float, retries: int
) -> aioredis.BlockingConnectionPool:
    """A bounded pool whose callers wait for a free connection. A connection
    left broken by a Redis restart is replaced and the command sent again
    (`retries` times): only on connection errors, never on a timeout, since a
    command that timed out may have run (a routing step must not run twice)."""
    return aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=size,
        timeout=wait,
        decode_responses=True,
        socket_connect_timeout=min(2.0, socket_timeout),
        socket_timeout=socket_timeout,
        health_check_interval=10,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.02), retries),
        retry_on_error=[RedisConnectionError],
    )


def _read(raw: dict[str, str]) -> Interaction:
    """An interaction as read from its hash (it remembers the fields read)."""
    ix = Interaction.from_fields(raw)
    ix.stored = raw
    return ix


def _script(name: str) -> str:
    return resources.files("controlplane.adapters").joinpath("lua", name).read_text()


@dataclass(frozen=True, slots=True)
class AgentRecord:
    tenant: str
    agent: str
    state: AgentState
    previous: AgentState | None
    reason: str | None
    since: int | None
    extension: str | None
    offer: str | None
    interaction: str | None

    def public(self) -> dict[str, object]:
        return {
            "id": self.agent,
            "tenant": self.tenant,
            "state": self.state.value,
            "previous": self.previous.value if self.previous else None,
            "reason": self.reason,
            "since": iso(self.since),
            "extension": self.extension,
            "offer": self.offer,
            "interaction": self.interaction,
        }


@dataclass(frozen=True, slots=True)
class Reservation:
    interaction: str
    agent: str
    queue: str
    seq: int
    extension: str | None = None  # the extension the agent is logged in with


# A tenant's queues as the routing step reads them: (queue, priority, teams)
QueueSpecs = Sequence[tuple[str, int, tuple[str, ...]]]


@dataclass(frozen=True, slots=True)
class RoutingStep:
    """What a routing step sent behind an admission found: the pair it
    reserved (None: none), and whether it ran after the admission's writes
    (False: it did not run, or ran before them, so a step is still due)."""

    reservation: Reservation | None
    after_admission: bool


@dataclass(frozen=True, slots=True)
class RouteBehind:
    """A routing step (`reserve_next` of the admitted call's tenant) for an
    admission to send behind it in the same round trip, so that it sees the
    call just queued. `taken` gets its outcome whatever the admission's:
    a pair it reserved is never dropped."""

    queues: QueueSpecs
    taken: Callable[[RoutingStep], None]


class Store:
    def __init__(
        self,
        client: aioredis.Redis,
        datacenter: str,
        *,
        lease_client: aioredis.Redis | None = None,
        subscriber_client: aioredis.Redis | None = None,
    ) -> None:
        """`client` runs the commands; the event-stream lease and the pub/sub
        subscriptions use their own clients when given (see `from_url`)."""
        self.redis = client
        self.lease_redis = lease_client or client
        self._subscriber = subscriber_client or client
        self.prefix = f"cp:{{{datacenter}}}:"
        self.events_channel = f"{self.prefix}events"
        self._transition = client.register_script(_script("agent_transition.lua"))
        self._dispatch = client.register_script(_script("dispatch.lua"))
        self._admit = client.register_script(_script("admit.lua"))
        self._offer_leg = client.register_script(_script("offer_leg.lua"))
        self._interaction_bridge = client.register_script(_script("interaction_bridge.lua"))

    @classmethod
    def from_url(cls, url: str, datacenter: str) -> Store:
        """The service's store: one pool each for commands, the event-stream
        lease and pub/sub (sizes and timeouts above)."""
        commands = _pool(
            url,
            size=COMMAND_POOL_SIZE,
            wait=COMMAND_POOL_WAIT_SECONDS,
            socket_timeout=COMMAND_SOCKET_TIMEOUT,
            retries=3,
        )
        # The lease's owner tries again at its own pace: no retries here.
        lease = _pool(
            url,
            size=LEASE_POOL_SIZE,
            wait=LEASE_TIMEOUT_SECONDS,
            socket_timeout=LEASE_TIMEOUT_SECONDS,
            retries=0,
        )
        subscriber = _pool(
            url,
            size=SUBSCRIBER_POOL_SIZE,
            wait=COMMAND_POOL_WAIT_SECONDS,
            socket_timeout=COMMAND_SOCKET_TIMEOUT,
            retries=3,
        )
        return cls(
            aioredis.Redis.from_pool(commands),
            datacenter,
            lease_client=aioredis.Redis.from_pool(lease),
            subscriber_client=aioredis.Redis.from_pool(subscriber),
        )

    async def close(self) -> None:
        for client in {id(c): c for c in (self.redis, self.lease_redis, self._subscriber)}.values():
            await client.aclose()

    @asynccontextmanager
    async def subscription(self, channel: str) -> AsyncIterator[PubSub]:
        """A pub/sub subscription to `channel`, on a connection of the
        subscriber pool that goes back to it when the subscription ends."""
        pubsub = self._subscriber.pubsub()
        try:
            await pubsub.subscribe(channel)
            yield pubsub
        finally:
            await pubsub.aclose()

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    # Keys ----------------------------------------------------------------------------

    def agent_key(self, tenant: str, agent: str) -> str:
        return f"{self.prefix}agent:{tenant}:{agent}"

    def avail_key(self, tenant: str, team: str) -> str:
        return f"{self.prefix}avail:{tenant}:{team}"

    def queue_key(self, tenant: str, queue: str) -> str:
        return f"{self.prefix}queue:{tenant}:{queue}"

    def ix_key(self, ix_id: str) -> str:
        return f"{self.prefix}ix:{ix_id}"

    def chan_key(self, channel_id: str) -> str:
        return f"{self.prefix}chan:{channel_id}"

    def history_key(self, tenant: str, agent: str) -> str:
        return f"{self.prefix}history:{tenant}:{agent}"

    def active_key(self) -> str:
        return f"{self.prefix}active"

    # Agents --------------------------------------------------------------------------

    async def agent(self, tenant: str, agent: str) -> AgentRecord:
        raw = cast(dict[str, str], await self.redis.hgetall(self.agent_key(tenant, agent)))
        prev = raw.get("previous")
        return AgentRecord(
            tenant=tenant,
            agent=agent,
            state=AgentState(raw.get("state", AgentState.LOGGED_OUT.value)),
            previous=AgentState(prev) if prev else None,
            reason=raw.get("reason"),
            since=int(raw["since"]) if "since" in raw else None,
            extension=raw.get("extension"),
            offer=raw.get("offer"),
            interaction=raw.get("interaction"),
        )

    async def transition_agent(
        self,
        tenant: str,
        agent: str,
        team: str,
        *,
        expected: tuple[AgentState, ...],
        new: AgentState,
        reason: str | None,
        now: int,
        offer: str | None = None,
        keep_available_since: bool = False,
        fields: dict[str, str] | None = None,
    ) -> tuple[bool, AgentState, int]:
        """Compare-and-set an agent's state. Returns (applied, state before, the
        agent's state sequence number)."""
        argv: list[str] = [
            agent,
            ",".join(s.value for s in expected),
            offer or "",
            new.value,
            reason or "",
            str(now),
            "1" if keep_available_since else "0",
        ]
        for key, value in (fields or {}).items():
            argv += [key, value]
        res = await self._transition(
            keys=[self.agent_key(tenant, agent), self.avail_key(tenant, team)], args=argv
        )
        return bool(int(res[0])), AgentState(res[1]), int(res[2])

    # Devices (ST-4) -----------------------------------------------------------------

    def busy_devices_key(self) -> str:
        return f"{self.prefix}busy_devices"

    async def set_device_busy(self, extension: str, busy: bool) -> bool:
        """Record whether an agent's phone is off-hook; True when that changed."""
        key = self.busy_devices_key()
        if busy:
            return bool(await self.redis.sadd(key, extension))
        return bool(await self.redis.srem(key, extension))

    async def device_busy(self, extension: str) -> bool:
        return bool(await self.redis.sismember(self.busy_devices_key(), extension))

    # Concurrent-call limits (LIM) ---------------------------------------------------

    def dc_slots_key(self) -> str:
        return f"{self.prefix}slots:dc"

    def tenant_slots_key(self, tenant: str) -> str:
        return f"{self.prefix}slots:tenant:{tenant}"

    async def admit(
        self,
        call_id: str,
        tenant: str,
        *,
        dc_limit: int,
        tenant_limit: int,
        now: int,
        lease_ms: int,
        writes: Writes = (),
        route: RouteBehind | None = None,
    ) -> int:
        """0 when the call holds a slot now (and `writes` are made in the same
        atomic step); else the refusal code (26 or 27), and nothing written.
        `route`: a routing step sent behind the admission (see `RouteBehind`)."""
        args: list[Any] = [call_id, now, now + lease_ms, dc_limit, tenant_limit]
        for command in writes:
            args += [len(command), *command]
        keys = [self.dc_slots_key(), self.tenant_slots_key(tenant)]
        if route is None:
            return int(await self._admit(keys=keys, args=args))
        # Both scripts by their SHA in one pipeline: redis-py's script objects
        # would ask Redis first whether it knows them (one round trip more).
        # Redis runs the two one after the other, the routing step after the
        # admission's writes; their replies come back together.
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.evalsha(self._admit.sha, len(keys), *keys, *args)
            pipe.evalsha(self._dispatch.sha, 0, *self._routing_args(tenant, route.queues, now))
            admitted, routed = await pipe.execute(raise_on_error=False)
        step = (
            RoutingStep(None, after_admission=False)
            if isinstance(routed, Exception)
            else RoutingStep(self._reservation(routed), after_admission=True)
        )
        if isinstance(admitted, NoScriptError):
            # Redis has forgotten the admission's script (restarted): the
            # script object loads it; the routing step ran before these writes.
            try:
                return int(await self._admit(keys=keys, args=args))
            finally:
                route.taken(replace(step, after_admission=False))
        route.taken(step)
        if isinstance(admitted, Exception):
            raise admitted
        return int(admitted)

    async def release(self, call_id: str, tenant: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.dc_slots_key(), call_id)
            pipe.zrem(self.tenant_slots_key(tenant), call_id)
            await pipe.execute()

    async def renew(self, call_ids: list[tuple[str, str]], *, expiry: int) -> None:
        """Extend the leases of live calls ((call id, tenant) pairs) that hold one."""
        if not call_ids:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for call_id, tenant in call_ids:
                pipe.zadd(self.dc_slots_key(), {call_id: expiry}, xx=True)
                pipe.zadd(self.tenant_slots_key(tenant), {call_id: expiry}, xx=True)
            await pipe.execute()

    async def slots_used(self, tenant: str | None, now: int) -> int:
        """Unexpired slots of the datacenter (tenant None) or of one tenant."""
        key = self.dc_slots_key() if tenant is None else self.tenant_slots_key(tenant)
        return int(await self.redis.zcount(key, now + 1, "+inf"))

    # Several reads or writes in one round trip ----------------------------------------

    def batch(self) -> Batch:
        """A pipeline (no transaction) for `async with`: what the adapters'
        `..._on` methods queue on it goes to Redis in one round trip when the
        owner executes it."""
        return self.redis.pipeline(transaction=False)

    async def interaction_statuses(self, ix_ids: list[str]) -> list[tuple[str | None, str | None]]:
        """(tenant, status) of each interaction, in one round trip."""
        async with self.batch() as pipe:
            for ix_id in ix_ids:
                pipe.hmget(self.ix_key(ix_id), ["tenant", "status"])
            rows = cast(list[list[str | None]], await pipe.execute())
        return [(tenant, status) for tenant, status in rows]

    async def agent_states(self, agents: list[tuple[str, str]]) -> list[str | None]:
        """The state of each (tenant, agent) (None: never logged in), in one round trip."""
        async with self.batch() as pipe:
            for tenant, agent in agents:
                pipe.hget(self.agent_key(tenant, agent), "state")
            return cast(list[str | None], await pipe.execute())

    async def queue_and_limit_figures(
        self,
        queues: list[tuple[str, str]],
        agents: list[tuple[str, str]],
        tenants: list[str],
        now: int,
    ) -> tuple[list[tuple[int, int | None]], list[str | None], int, list[int]]:
        """In one round trip: per (tenant, queue) the calls waiting and the
        oldest one's entry time; per (tenant, agent) the state; the
        datacenter's slots in use and each tenant's."""
        async with self.batch() as pipe:
            for tenant, queue in queues:
                pipe.zcard(self.queue_key(tenant, queue))
                pipe.zrange(self.queue_key(tenant, queue), 0, 0, withscores=True)
            for tenant, agent in agents:
                pipe.hget(self.agent_key(tenant, agent), "state")
            pipe.zcount(self.dc_slots_key(), now + 1, "+inf")
            for tenant in tenants:
                pipe.zcount(self.tenant_slots_key(tenant), now + 1, "+inf")
            res = cast(list[object], await pipe.execute())
        waiting: list[tuple[int, int | None]] = []
        i = 0
        for _ in queues:
            first = cast(list[tuple[str, float]], res[i + 1])
            waiting.append((int(cast(int, res[i])), int(first[0][1]) if first else None))
            i += 2
        states = [cast(str | None, res[i + n]) for n in range(len(agents))]
        i += len(agents)
        dc_used = int(cast(int, res[i]))
        tenant_used = [int(cast(int, res[i + 1 + n])) for n in range(len(tenants))]
        return waiting, states, dc_used, tenant_used

    # Queues and routing --------------------------------------------------------------

    async def enqueue(self, ix: Interaction) -> None:
        """Put an interaction in its queue, ordered by the time it entered (RONA-1
        requeues with the same score, so it stays ahead of later calls). Its
        status became `queued` through the status table (`change_status`)."""
        if ix.status is not Status.QUEUED:
            raise ValueError(f"interaction {ix.id} is {ix.status.value}, not queued")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.ix_key(ix.id), mapping={"status": ix.status.value})
            pipe.hdel(self.ix_key(ix.id), "agent", "agent_channel")
            pipe.zadd(self.queue_key(ix.tenant, ix.queue), {ix.id: ix.entered_at})
            await pipe.execute()
        if ix.stored is not None:
            ix.stored = {
                **{k: v for k, v in ix.stored.items() if k not in ("agent", "agent_channel")},
                "status": ix.status.value,
            }

    async def dequeue(self, ix: Interaction) -> bool:
        return bool(await self.redis.zrem(self.queue_key(ix.tenant, ix.queue), ix.id))

    async def enqueue_request(self, tenant: str, queue: str, member: str, score: int) -> None:
        """CO-1: a consult request (member = its leg ID) waits in a queue like a call."""
        await self.redis.zadd(self.queue_key(tenant, queue), {member: score})

    async def dequeue_request(self, tenant: str, queue: str, member: str) -> bool:
        """False when it had left the queue already (an agent was reserved for it)."""
        return bool(await self.redis.zrem(self.queue_key(tenant, queue), member))

    def excluded_key(self, ix_id: str) -> str:
        return f"{self.prefix}ix:{ix_id}:exclude"

    async def exclude_agent(self, ix_id: str, agent: str) -> None:
        """TR-4: routing never offers this interaction to this agent again."""
        key = self.excluded_key(ix_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, agent)
            pipe.expire(key, 7 * 86400)
            await pipe.execute()

    async def forget_exclusions(self, ix_id: str) -> None:
        await self.redis.delete(self.excluded_key(ix_id))

    async def queue_length(self, tenant: str, queue: str) -> int:
        return int(await self.redis.zcard(self.queue_key(tenant, queue)))

    async def reserve_next(self, tenant: str, queues: QueueSpecs, now: int) -> Reservation | None:
        """Run the atomic routing step (IN-3) for one tenant's queues."""
        return self._reservation(
            await self._dispatch(keys=[], args=self._routing_args(tenant, queues, now))
        )

    def _routing_args(self, tenant: str, queues: QueueSpecs, now: int) -> list[str | int]:
        offerable = status_sources(Status.RINGING, Step.OFFER)  # from the status table
        argv: list[str | int] = [
            self.prefix,
            tenant,
            now,
            ",".join(sorted(offerable)),
            f"-{LegKind.CONSULT}",  # CO-1: a consult request's leg ID
            len(queues),
        ]
        for qid, priority, teams in queues:
            argv += [qid, priority, len(teams), *teams]
        return argv

    @staticmethod
    def _reservation(res: Any) -> Reservation | None:
        if not res:
            return None
        return Reservation(
            interaction=res[0],
            agent=res[1],
            queue=res[2],
            seq=int(res[3]),
            extension=(res[4] or None) if len(res) > 4 else None,
        )

    # Interactions --------------------------------------------------------------------

    async def save_interaction(
        self,
        ix: Interaction,
        *,
        new_channel: str | None = None,
        enqueue: bool = False,
        also: Callable[[Batch], None] | None = None,
    ) -> None:
        """Save the interaction (and index a channel of it just created, put it
        in its queue as `enqueue` does, and whatever `also` queues, all in the
        same round trip and transaction)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            written = self._save_on(pipe, ix, new_channel=new_channel, enqueue=enqueue, also=also)
            await pipe.execute()
        ix.stored = written

    def saving(
        self,
        ix: Interaction,
        *,
        new_channel: str | None = None,
        enqueue: bool = False,
        also: Callable[[Batch], None] | None = None,
    ) -> Writes:
        """What `save_interaction` writes, as commands for a script to make
        (`admit`: a new call's record is saved only if it is admitted)."""
        pipe = self.redis.pipeline(transaction=True)  # (only queued: never sent)
        self._save_on(pipe, ix, new_channel=new_channel, enqueue=enqueue, also=also)
        return tuple(tuple(args) for args, _options in pipe.command_stack)

    def _save_on(
        self,
        pipe: Batch,
        ix: Interaction,
        *,
        new_channel: str | None,
        enqueue: bool,
        also: Callable[[Batch], None] | None,
    ) -> dict[str, str]:
        """Queues the save's commands; the interaction's fields as they will be.
        A copy read from the store writes only the fields it changed (another
        step's change of another field since the read stays as it is); a new
        one writes its whole record."""
        key = self.ix_key(ix.id)
        if enqueue and ix.status is not Status.QUEUED:
            raise ValueError(f"interaction {ix.id} is {ix.status.value}, not queued")
        if also is not None:
            also(pipe)
        written = ix.to_fields()
        if ix.stored is None:
            pipe.delete(key)
            pipe.hset(key, mapping=cast(dict[Any, Any], written))
        else:
            was = ix.stored
            changed = {k: v for k, v in written.items() if was.get(k) != v}
            gone = [k for k in was if k not in written]
            if changed:
                pipe.hset(key, mapping=cast(dict[Any, Any], changed))
            if gone:
                pipe.hdel(key, *gone)
        if ix.status is Status.ENDED:
            pipe.srem(self.active_key(), ix.id)
        else:
            pipe.sadd(self.active_key(), ix.id)
        if new_channel is not None:
            pipe.set(self.chan_key(new_channel), ix.id, ex=CHANNEL_INDEX_SECONDS)
        if enqueue:
            pipe.zadd(self.queue_key(ix.tenant, ix.queue), {ix.id: ix.entered_at})
        return written

    async def set_bridge(self, ix_id: str, bridge: str) -> bool:
        """IN-2: the bridge the interaction's parties moved to (that field
        only; False when the interaction has ended or has no record)."""
        res = await self._interaction_bridge(
            keys=[self.ix_key(ix_id)], args=[bridge, Status.ENDED.value]
        )
        return bool(res)

    async def offer_leg(
        self, ix_id: str, agent: str, bridge: str
    ) -> tuple[bool, Interaction | None, bool]:
        """IN-1: write and index the offer's agent leg (`<ix>-a<offers>`) if the
        interaction is still ringing for `agent`, in one round trip; an
        interaction without a bridge is given its bridge's ID (`bridge`) too.
        (True, the interaction with its leg, whether its bridge is new) when
        the offer stands; else (False, the interaction as it is, or None when
        there is none, False)."""
        res = cast(
            list[Any],
            await self._offer_leg(
                keys=[self.ix_key(ix_id), self.chan_key("")],
                args=[
                    agent,
                    Status.RINGING.value,
                    f"{ix_id}-{LegKind.AGENT}",
                    ix_id,
                    CHANNEL_INDEX_SECONDS,
                    bridge,
                ],
            ),
        )
        if not res:
            return False, None, False
        fields = {str(res[i]): str(res[i + 1]) for i in range(1, len(res), 2)}
        stands = int(res[0])
        return stands > 0, _read(fields), stands == 2

    async def interaction(self, ix_id: str) -> Interaction | None:
        raw = cast(dict[str, str], await self.redis.hgetall(self.ix_key(ix_id)))
        if not raw:
            return None
        return _read(raw)

    async def interactions(self, ix_ids: list[str]) -> dict[str, Interaction]:
        """The interactions of these IDs that exist, in one round trip."""
        if not ix_ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for ix_id in ix_ids:
                pipe.hgetall(self.ix_key(ix_id))
            rows = cast(list[dict[str, str]], await pipe.execute())
        return {
            ix_id: _read(raw)
            for ix_id, raw in zip(ix_ids, rows, strict=True)
            if raw
        }

    async def channel_interactions(self, channel_ids: list[str]) -> dict[str, str]:
        """The interaction of each indexed channel of these, in one round trip."""
        if not channel_ids:
            return {}
        found = cast(
            list[str | None], await self.redis.mget([self.chan_key(c) for c in channel_ids])
        )
        return {c: ix for c, ix in zip(channel_ids, found, strict=True) if ix}

    async def active_interactions(self) -> list[str]:
        return sorted(cast(set[str], await self.redis.smembers(self.active_key())))

    async def live_calls(self) -> list[tuple[str, str]]:
        """(interaction ID, tenant) of every interaction going on, in two
        round trips whatever their number."""
        ids = await self.active_interactions()
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for ix_id in ids:
                pipe.hmget(self.ix_key(ix_id), "tenant", "status")
            rows = cast(list[list[str | None]], await pipe.execute())
        return [
            (ix_id, tenant)
            for ix_id, (tenant, status) in zip(ids, rows, strict=True)
            if tenant and status and status != Status.ENDED.value
        ]

    async def index_channel(self, channel_id: str, ix_id: str) -> None:
        await self.redis.set(self.chan_key(channel_id), ix_id, ex=CHANNEL_INDEX_SECONDS)

    async def channel_interaction(self, channel_id: str) -> str | None:
        return cast(str | None, await self.redis.get(self.chan_key(channel_id)))

    async def forget_channel(self, channel_id: str) -> None:
        await self.redis.delete(self.chan_key(channel_id))

    async def add_history(self, tenant: str, agent: str, ix_id: str) -> None:
        key = self.history_key(tenant, agent)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(key, ix_id)
            pipe.ltrim(key, 0, HISTORY_LIMIT - 1)
            await pipe.execute()

    async def history(self, tenant: str, agent: str, limit: int = 50) -> list[str]:
        return cast(
            list[str], await self.redis.lrange(self.history_key(tenant, agent), 0, limit - 1)
        )

    # Events --------------------------------------------------------------------------

    async def publish(self, event: dict[str, Any]) -> None:
        await self.redis.publish(self.events_channel, json.dumps(event, separators=(",", ":")))

    def publish_on(self, pipe: Batch, event: dict[str, Any]) -> None:
        """Queue the event's publication on a pipeline the caller executes."""
        pipe.publish(self.events_channel, json.dumps(event, separators=(",", ":")))
