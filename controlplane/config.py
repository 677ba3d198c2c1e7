"""The deployment's configuration: one TOML file, validated at start-up.

A bad file is refused with :class:`ConfigError`, whose message names the
file, the key (dotted path) and the problem.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from controlplane.domain.campaign import Campaign
from controlplane.domain.values import VariableType, normalise

Ident = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
"""IDs of tenants, queues, agents...: lower-case, digits, '_' and '-'."""

Digits = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{3,15}$")]
Extension = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,8}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VariableDef(_Model):
    """A call-associated variable defined by a flow (CAD-1)."""

    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")]
    label: str = Field(min_length=1, max_length=80)
    type: VariableType = VariableType.STRING
    order: int = Field(default=0, ge=0)
    editable: bool = False
    secure: bool = False
    default: str | None = Field(default=None, max_length=256)

    @model_validator(mode="after")
    def _default_fits_type(self) -> Self:
        try:
            normalise(self.type, self.default)
        except ValueError as exc:
            raise ValueError(f"default: not a valid {self.type.value}: {exc}") from None
        return self


class Flow(_Model):
    variables: tuple[VariableDef, ...] = ()
    consult_variables: tuple[str, ...] = Field(
        default=(),
        max_length=6,
        description="CO-2: the flow's variables a consult offer carries (at most 6, in order)",
    )

    @field_validator("variables")
    @classmethod
    def _unique_names(cls, value: tuple[VariableDef, ...]) -> tuple[VariableDef, ...]:
        seen: set[str] = set()
        for var in value:
            if var.name in seen:
                raise ValueError(f"variable {var.name!r} is defined twice")
            seen.add(var.name)
        return value

    @model_validator(mode="after")
    def _consult_variables_exist(self) -> Self:
        names = {v.name for v in self.variables}
        for name in self.consult_variables:
            if name not in names:
                raise ValueError(f"consult_variables: {name!r} is no variable of the flow")
        if len(set(self.consult_variables)) != len(self.consult_variables):
            raise ValueError("consult_variables: a variable is named twice")
        return self


class Queue(_Model):
    name: str = Field(min_length=1, max_length=80)
    priority: int = Field(default=1, ge=1, le=100, description="higher is served first")
    max_ring_seconds: int = Field(default=20, ge=3, le=300)
    teams: tuple[Ident, ...] = Field(min_length=1)
    recording: bool = Field(default=True, description="REC-1: this queue's calls may be recorded")
    callback_retries: int = Field(
        default=2, ge=0, le=10, description="CB-3: attempts after the first to reach a customer"
    )
    callback_retry_seconds: int = Field(
        default=60, ge=1, le=86400, description="CB-3: wait before a callback returns to its queue"
    )
    callback_ring_seconds: int = Field(
        default=30, ge=3, le=300, description="CB-3: how long the customer's phone may ring"
    )
    callback_key: Literal["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"] | None = (
        Field(default=None, description="CB-1: DTMF key a waiting caller presses for a callback")
    )
    service_level_seconds: int = Field(
        default=20,
        ge=1,
        le=3600,
        description="SUP-1: a call answered within this many seconds of entering counts as "
        "answered within the service level",
    )


class EntryPoint(_Model):
    number: Digits
    label: str = Field(min_length=1, max_length=80)
    flow: Ident
    queue: Ident


class Team(_Model):
    name: str = Field(min_length=1, max_length=80)


class DialPlan(_Model):
    """Profile dial plan applied after the dial-number rules (DN-4)."""

    allow: tuple[str, ...] = (r"^\+?[0-9]+$",)
    deny_prefixes: tuple[str, ...] = ()
    deny_lengths: tuple[int, ...] = ()

    @field_validator("allow")
    @classmethod
    def _patterns_compile(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} does not compile: {exc}") from exc
        return value


class Profile(_Model):
    outdial: bool = False
    keypad: bool = False
    dial_plan: DialPlan = DialPlan()
    anis: tuple[Digits, ...] = ()
    recording: bool = False
    privacy_shield: bool = False


ARGON2ID_PREFIX = "$argon2id$"


def argon2id_hash(value: str | None) -> str | None:
    """A password hash as the configuration takes it: argon2id, parameters readable."""
    if value is None:
        return value
    # imported here: only configurations with passwords need the library
    from argon2 import extract_parameters  # noqa: PLC0415
    from argon2.exceptions import InvalidHashError  # noqa: PLC0415

    if not value.startswith(ARGON2ID_PREFIX):
        raise ValueError("not an argon2id hash (it starts with '$argon2id$')")
    try:
        extract_parameters(value)
    except InvalidHashError:
        raise ValueError("not a valid argon2id hash") from None
    return value


class Agent(_Model):
    name: str = Field(min_length=1, max_length=80)
    extension: Extension
    team: Ident
    profile: Ident
    password_hash: str | None = Field(
        default=None,
        max_length=512,
        description="DSK-1: argon2id hash of the agent's desktop password; without one the "
        "agent cannot sign in with a password (bearer tokens still work)",
    )
    browser_extension: Extension | None = Field(
        default=None, description="the extension of the agent's browser phone (PH-1)"
    )

    @field_validator("password_hash")
    @classmethod
    def _argon2id(cls, value: str | None) -> str | None:
        return argon2id_hash(value)


class AddressBookEntry(_Model):
    name: str = Field(min_length=1, max_length=80)
    number: Digits


class AfterWrapUp(StrEnum):
    AVAILABLE = "available"
    IDLE = "idle"


class Supervisor(_Model):
    """SUP: a supervisor who signs in to the console."""

    name: str = Field(min_length=1, max_length=80)
    password_hash: str | None = Field(
        default=None,
        max_length=512,
        description="argon2id hash of the supervisor's password (as for agents)",
    )
    teams: tuple[Ident, ...] = Field(
        default=(), description="the teams the console shows first; empty: all"
    )

    @field_validator("password_hash")
    @classmethod
    def _argon2id(cls, value: str | None) -> str | None:
        return argon2id_hash(value)


class Tenant(_Model):
    name: str = Field(min_length=1, max_length=80)
    datacenter: Ident
    max_concurrent_calls: int = Field(ge=1)
    default_ani: Digits | None = None
    recording: bool = False
    privacy_shield_seconds: int = Field(
        default=30, ge=0, le=3600, description="REC-2: 0 = no privacy shield"
    )
    after_wrap_up: AfterWrapUp = AfterWrapUp.AVAILABLE
    auto_wrap_up_seconds: int = Field(default=0, ge=0, le=3600, description="0 = never")
    wrap_up_reasons: dict[Ident, str] = Field(min_length=1)
    idle_reasons: dict[Ident, str] = Field(min_length=1)
    flows: dict[Ident, Flow] = Field(default_factory=dict)
    queues: dict[Ident, Queue] = Field(default_factory=dict)
    entry_points: dict[Ident, EntryPoint] = Field(default_factory=dict)
    teams: dict[Ident, Team] = Field(default_factory=dict)
    profiles: dict[Ident, Profile] = Field(default_factory=dict)
    agents: dict[Ident, Agent] = Field(default_factory=dict)
    address_book: tuple[AddressBookEntry, ...] = ()
    # Outdial (OD-4, OD-7) and preview campaigns (PC-1)
    available_after_outdial: bool = Field(
        default=False,
        description="OD-7: after an outdial's wrap-up the agent is available, even if it "
        "started from idle (else the agent returns to the state before the outdial)",
    )
    outdial_cancel: bool = Field(
        default=False, description="OD-4: the agent may cancel an outdial while it rings"
    )
    outdial_agent_ring_seconds: int = Field(
        default=20, ge=3, le=300, description="OD-4: how long the agent's phone rings"
    )
    outdial_customer_ring_seconds: int = Field(
        default=30, ge=3, le=300, description="OD-5: how long the customer's phone rings"
    )
    campaigns: dict[Ident, Campaign] = Field(default_factory=dict)
    # Blind transfer and consult (TR, CO)
    transfer_ring_seconds: int = Field(
        default=20, ge=3, le=300, description="TR, CO: how long a transfer or consult target rings"
    )
    transfer_no_answer: Literal["drop", "requeue"] = Field(
        default="drop",
        description="TR-2: a blind transfer whose target does not answer drops the call, or "
        "(requeue) puts it back in the queue it came from",
    )
    outdial_transfer_to_queue: bool = Field(
        default=False,
        description="TR-7: an outdial may be transferred to a queue or an entry point",
    )
    # Supervisor console (SUP)
    supervisors: dict[Ident, Supervisor] = Field(default_factory=dict)
    timezone: str = Field(
        default="UTC",
        description="SUP-1, SUP-6: IANA time zone of the tenant's day and its 15-minute buckets",
    )
    record_retention_days: int | None = Field(
        default=None,
        ge=1,
        le=400,
        description="SUP-6: days completed interactions are kept (default: the service's)",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from controlplane.domain.stats import zone  # noqa: PLC0415

        zone(value)
        return value

    @model_validator(mode="after")
    def _references_exist(self) -> Self:
        for cid, campaign in self.campaigns.items():
            for team in campaign.teams:
                if team not in self.teams:
                    raise ValueError(f"campaigns.{cid}.teams: unknown team {team!r}")
        for qid, queue in self.queues.items():
            for team in queue.teams:
                if team not in self.teams:
                    raise ValueError(f"queues.{qid}.teams: unknown team {team!r}")
        for sid, supervisor in self.supervisors.items():
            if sid in self.agents:  # (one sign-in form: an ID names one person of the tenant)
                raise ValueError(f"supervisors.{sid}: the ID is an agent's too")
            for team in supervisor.teams:
                if team not in self.teams:
                    raise ValueError(f"supervisors.{sid}.teams: unknown team {team!r}")
        for eid, entry in self.entry_points.items():
            if entry.flow not in self.flows:
                raise ValueError(f"entry_points.{eid}.flow: unknown flow {entry.flow!r}")
            if entry.queue not in self.queues:
                raise ValueError(f"entry_points.{eid}.queue: unknown queue {entry.queue!r}")
        for aid, agent in self.agents.items():
            if agent.team not in self.teams:
                raise ValueError(f"agents.{aid}.team: unknown team {agent.team!r}")
            if agent.profile not in self.profiles:
                raise ValueError(f"agents.{aid}.profile: unknown profile {agent.profile!r}")
        return self


class AsteriskNode(_Model):
    name: Ident
    ari_url: str = Field(pattern=r"^https?://")
    ari_user: str = Field(min_length=1)
    ari_password: str = Field(min_length=1)
    ami_host: str = "127.0.0.1"
    ami_port: int = Field(default=5038, ge=1, le=65535)
    ami_user: str = Field(min_length=1)
    ami_secret: str = Field(min_length=1)
    app: str = Field(default="controlplane", pattern=r"^[A-Za-z0-9_-]+$")
    moh_class: str = Field(default="default", pattern=r"^[A-Za-z0-9_-]+$")
    agent_endpoint: str = Field(
        default="PJSIP/{extension}",
        description="dial string of an agent's phone; {extension} is replaced",
    )
    outbound_endpoint: str = Field(
        default="Local/{number}@pstn-sim",
        description="dial string of a customer leg; {number} is a validated number",
    )
    sip_ws_url: str = Field(
        default="ws://127.0.0.1:8088/ws",
        pattern=r"^wss?://",
        description="PH-1: Asterisk's SIP WebSocket, which /v1/phone/ws connects browser phones to",
    )
    sip_ws_source: str | None = Field(
        default="127.0.0.3",
        description="PH-4: local address the SIP WebSocket connections come from (pjsip.conf "
        "lets browser endpoints, and no hard phone, speak from it); None: any",
    )


SUPERVISOR_SEATS_DEFAULT = tuple(str(n) for n in range(2101, 2111))


class Datacenter(_Model):
    name: str = Field(min_length=1, max_length=80)
    max_concurrent_calls: int = Field(ge=1)
    asterisk: tuple[AsteriskNode, ...] = Field(min_length=1)
    supervisor_browser_extensions: tuple[Extension, ...] = Field(
        default=SUPERVISOR_SEATS_DEFAULT,
        description="SUP-5, PH-1: the WebRTC endpoints (pjsip.conf) a supervisor who signs in "
        "with the browser phone gets one of, for the session; a list or a range 2101-2110",
    )

    @field_validator("supervisor_browser_extensions", mode="before")
    @classmethod
    def _seat_range(cls, value: object) -> object:
        if isinstance(value, str):
            first, sep, last = value.partition("-")
            if not sep or not first.strip().isdigit() or not last.strip().isdigit():
                raise ValueError('a list of extensions or a range "first-last"')
            lo, hi = int(first), int(last)
            if hi < lo or hi - lo >= 1000:
                raise ValueError("a range of 1 to 1000 extensions, first <= last")
            return tuple(str(n) for n in range(lo, hi + 1))
        return value

    @field_validator("supervisor_browser_extensions")
    @classmethod
    def _seats_unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("an extension is listed twice")
        return value


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Token(_Model):
    """An API bearer token, stored as its SHA-256 so the file holds no secret."""

    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    role: Role
    tenant: Ident
    agent: Ident | None = None

    @model_validator(mode="after")
    def _agent_role_needs_agent(self) -> Self:
        if self.role is Role.AGENT and self.agent is None:
            raise ValueError("an agent token names its agent")
        if self.role is not Role.AGENT and self.agent is not None:
            raise ValueError(f"a {self.role} token names no agent")
        return self


class Service(_Model):
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=8080, ge=1, le=65535)
    extra_listen_hosts: tuple[str, ...] = Field(
        default=(), description="further addresses the service listens on (same port)"
    )
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", pattern=r"^rediss?://")
    datacenter: Ident
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # DSK-1: browser sessions
    session_idle_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="a session unused this long ends"
    )
    session_max_hours: int = Field(
        default=12, ge=1, le=7 * 24, description="a session ends this long after sign-in"
    )
    record_retention_days: int = Field(
        default=7, ge=1, le=400, description="SUP-6: days completed interactions are kept"
    )
    secure_cookies: bool = Field(
        default=False,
        description="always mark the session cookie Secure (behind a TLS-terminating proxy); "
        "else only requests that came over TLS get it",
    )


class OverloadBand(_Model):
    """Refuse new calls above `refuse_above`; admit again once below `admit_below`."""

    refuse_above: float = Field(gt=0)
    admit_below: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.admit_below > self.refuse_above:
            raise ValueError("admit_below must not be above refuse_above")
        return self


class Overload(_Model):
    """Admission under overload (`controlplane.domain.overload`): new customer
    calls are refused at the entry point while the service lags. Times in
    seconds (the mean over `window_seconds`), jobs as counted now."""

    enabled: bool = True
    window_seconds: float = Field(default=1.0, gt=0, le=60)
    loop_lag: OverloadBand = OverloadBand(refuse_above=0.2, admit_below=0.05)
    event_age: OverloadBand = OverloadBand(refuse_above=0.5, admit_below=0.1)
    job_age: OverloadBand = OverloadBand(refuse_above=1.0, admit_below=0.25)
    ari_latency: OverloadBand = OverloadBand(refuse_above=0.5, admit_below=0.1)
    jobs_pending: OverloadBand = OverloadBand(refuse_above=400, admit_below=100)
    debug_lag_file: str | None = Field(
        default=None,
        description="tests only: while this file holds a number of seconds, the service "
        "blocks its own event loop that long four times a second (real, measured lag)",
    )


class Config(_Model):
    service: Service
    overload: Overload = Overload()
    datacenters: dict[Ident, Datacenter] = Field(min_length=1)
    tenants: dict[Ident, Tenant] = Field(min_length=1)
    tokens: tuple[Token, ...] = ()

    @model_validator(mode="after")
    def _cross_references(self) -> Self:
        if self.service.datacenter not in self.datacenters:
            raise ValueError(f"service.datacenter: unknown datacenter {self.service.datacenter!r}")
        numbers: dict[str, str] = {}
        extensions: dict[str, str] = {}
        for tid, tenant in self.tenants.items():
            if tenant.datacenter not in self.datacenters:
                raise ValueError(
                    f"tenants.{tid}.datacenter: unknown datacenter {tenant.datacenter!r}"
                )
            for eid, entry in tenant.entry_points.items():
                where = f"tenants.{tid}.entry_points.{eid}"
                key = normalise_number(entry.number)
                if key in numbers:
                    raise ValueError(f"{where}.number: {entry.number} is used by {numbers[key]}")
                numbers[key] = where
            for aid, agent in tenant.agents.items():
                where = f"tenants.{tid}.agents.{aid}"
                for key, ext in (
                    ("extension", agent.extension),
                    ("browser_extension", agent.browser_extension),
                ):
                    if ext is None:
                        continue
                    if ext in extensions:
                        raise ValueError(f"{where}.{key}: {ext} is used by {extensions[ext]}")
                    extensions[ext] = f"{where}.{key}" if key != "extension" else where
        for did, dc in self.datacenters.items():
            for ext in dc.supervisor_browser_extensions:
                if ext in extensions:
                    raise ValueError(
                        f"datacenters.{did}.supervisor_browser_extensions: {ext} is used by "
                        f"{extensions[ext]}"
                    )
        hashes: set[str] = set()
        for i, token in enumerate(self.tokens):
            where = f"tokens[{i}]"
            if token.sha256 in hashes:
                raise ValueError(f"{where}.sha256: the same token is listed twice")
            hashes.add(token.sha256)
            tenant_cfg = self.tenants.get(token.tenant)
            if tenant_cfg is None:
                raise ValueError(f"{where}.tenant: unknown tenant {token.tenant!r}")
            if token.agent is not None and token.agent not in tenant_cfg.agents:
                raise ValueError(f"{where}.agent: unknown agent {token.agent!r}")
        return self

    # Look-ups used by the service -------------------------------------------------

    @property
    def datacenter(self) -> Datacenter:
        return self.datacenters[self.service.datacenter]

    def local_tenants(self) -> dict[str, Tenant]:
        """Tenants homed in this service's datacenter."""
        return {k: t for k, t in self.tenants.items() if t.datacenter == self.service.datacenter}

    def entry_point_by_number(self, number: str) -> tuple[str, str, EntryPoint] | None:
        """(tenant id, entry point id, entry point) for a dialled number, if any."""
        key = normalise_number(number)
        for tid, tenant in self.tenants.items():
            for eid, entry in tenant.entry_points.items():
                if normalise_number(entry.number) == key:
                    return tid, eid, entry
        return None

    def agent_by_extension(self, extension: str) -> tuple[str, str, Agent] | None:
        for tid, tenant in self.tenants.items():
            for aid, agent in tenant.agents.items():
                if agent.extension == extension:
                    return tid, aid, agent
        return None

    def token(self, presented: str) -> Token | None:
        digest = hashlib.sha256(presented.encode()).hexdigest()
        for token in self.tokens:
            if token.sha256 == digest:
                return token
        return None


def normalise_number(number: str) -> str:
    """The comparable form of a number: digits only, without a leading '+'."""
    return number.lstrip("+")


class ConfigError(Exception):
    """The configuration file cannot be used; the message says where and why."""


def _format_location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


_NESTED_KEY = re.compile(r"^(?P<key>[A-Za-z0-9_.\[\]-]+): (?P<msg>.*)$", re.DOTALL)


def parse_config(data: Mapping[str, object], source: str) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = _format_location(tuple(err["loc"]))
            msg = err["msg"].removeprefix("Value error, ")
            nested = _NESTED_KEY.match(msg)
            if nested:
                loc = f"{loc}.{nested['key']}" if loc else nested["key"]
                msg = nested["msg"]
            problems.append(f"{source}: {loc or '(top level)'}: {msg}")
        raise ConfigError("\n".join(problems)) from None


def load_config(path: Path) -> Config:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, str(path))
