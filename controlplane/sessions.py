"""Sign-in, sessions and sign-out of the agent desktop (DSK-1) and the
supervisor console (SUP-4, SUP-5).

A sign-in checks the password against the agent's (or supervisor's)
argon2id hash (throttled per ID and per client address), logs an agent in
on the phone they chose (a supervisor listens on an extension they name, or
on the browser phone: a seat of their own for the session) and creates a
session in Redis: the browser keeps a random 256-bit ID
in an HttpOnly cookie; Redis keeps only its SHA-256, the CSRF token and who
it is. A new sign-in of the same agent replaces the older session: its event
WebSockets get `session.replaced` and are closed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from controlplane.adapters.seat_store import SeatStore
from controlplane.adapters.session_store import SessionStore, StoredSession
from controlplane.adapters.store import Store
from controlplane.browser_phone import browser_phone_for, is_browser_endpoint, sip_credentials
from controlplane.config import Config
from controlplane.contact_center import ContactCenter
from controlplane.domain import session as rules
from controlplane.domain.agent import AgentState
from controlplane.domain.errors import InvalidInput, InvalidTransition
from controlplane.domain.interaction import iso, now_ms
from controlplane.domain.seats import seat_owner
from controlplane.passwords import Passwords

log = logging.getLogger(__name__)

PhoneKind = Literal["browser", "extension"]
REPLACED_EVENT = "session.replaced"
ENDED_EVENT = "session.ended"
# The close code of an event WebSocket whose session is over (replaced or
# ended): the desktop does not reconnect, it shows the sign-in.
CLOSE_SESSION_OVER = 4001
SESSION_EVENTS = frozenset({REPLACED_EVENT, ENDED_EVENT})
SUPERVISOR = "supervisor"  # the role of a supervisor's session (else "agent")


@dataclass(frozen=True, slots=True)
class SignedIn:
    session_id: str  # the cookie's value: never stored, never logged
    session: StoredSession


class Sessions:
    def __init__(self, config: Config, store: Store, cc: ContactCenter) -> None:
        self._config = config
        self._store = store
        self._repo = SessionStore(store)
        self._seats = SeatStore(store, config.datacenter.supervisor_browser_extensions)
        self._cc = cc
        self._passwords = Passwords(config)
        self._agents = {tid: frozenset(t.agents) for tid, t in config.local_tenants().items()}
        self._supervisors = {
            tid: frozenset(t.supervisors) for tid, t in config.local_tenants().items()
        }
        self.idle_minutes = config.service.session_idle_minutes
        self.idle_ms = self.idle_minutes * 60_000
        self.max_ms = config.service.session_max_hours * 3_600_000

    # Sign-in ------------------------------------------------------------------------

    async def sign_in(
        self,
        presented: str,
        password: str,
        phone: PhoneKind,
        extension: str | None,
        address: str,
    ) -> SignedIn:
        subject = rules.throttle_subject(presented)
        wait = rules.throttle(*await self._repo.failures(subject, address))
        if wait is not None:
            raise rules.Throttled(wait)
        found = rules.resolve_person(presented, self._agents, self._supervisors)
        password_hash = None
        if found is not None:
            tenant_cfg = self._config.tenants[found[0]]
            person = (
                tenant_cfg.supervisors[found[1]]
                if found[2] == SUPERVISOR
                else tenant_cfg.agents[found[1]]
            )
            password_hash = person.password_hash
        if found is None or not await self._passwords.verify(password_hash, password):
            await self._repo.count_failure(subject, address, window=rules.FAILURE_WINDOW_SECONDS)
            if found is not None:
                await self._cc.notifier.audit.write(
                    found[0],
                    actor="system",
                    action="session.sign_in",
                    target={found[2]: found[1]},
                    outcome="refused",
                    details={"status": 401, "phone": phone},
                )
            raise rules.SignInFailed(rules.SIGN_IN_FAILED, rule=rules.RULE)
        tenant, agent, role = found
        await self._repo.forget_failures(subject)
        now = now_ms()
        session_id = rules.new_session_id()
        if role == SUPERVISOR:
            on = await self._supervisor_phone(
                tenant, agent, phone, extension, session_key=rules.session_key(session_id), now=now
            )
        else:
            on = await self._log_in(tenant, agent, phone, extension)
        session = StoredSession(
            key=rules.session_key(session_id),
            handle=rules.new_handle(),
            tenant=tenant,
            agent=agent,
            csrf=rules.new_csrf_token(),
            phone=phone,
            extension=on,
            created=now,
            expires=now + self.max_ms,
            role=role,
        )
        replaced = await self._repo.create(session, ttl_ms=self.idle_ms)
        if replaced:
            await self._tell(session.tenant, session.agent, replaced, REPLACED_EVENT)
        await self._cc.notifier.audit.write(
            tenant,
            actor=f"{role}:{agent}",
            action="session.sign_in",
            target={role: agent},
            details={"phone": phone, "extension": on, "replaced": bool(replaced)},
        )
        log.info("%s %s/%s signed in (%s phone %s)", role, tenant, agent, phone, on)
        return SignedIn(session_id, session)

    async def _supervisor_phone(
        self,
        tenant: str,
        supervisor: str,
        phone: PhoneKind,
        extension: str | None,
        *,
        session_key: str,
        now: int,
    ) -> str:
        """The phone a supervisor listens on (SUP-5). The browser phone: a
        seat of the datacenter's supervisor seats, held for this session
        (refused with 409 when every seat is held). An extension: a phone
        they name at sign-in; never a browser endpoint or another tenant's
        agent's phone. Whether it is registered and free is checked when a
        supervision starts."""
        if phone == "browser":
            return await self._seats.take(session_key, seat_owner(tenant, supervisor), now)
        if extension is None:
            raise InvalidInput("name the extension", rule=rules.RULE, field="extension")
        owner = self._config.agent_by_extension(extension)
        if (owner is not None and owner[0] != tenant) or is_browser_endpoint(
            self._config, extension
        ):
            raise InvalidInput(
                f"extension {extension!r} cannot be a supervisor's phone",
                rule="SUP-5",
                field="extension",
            )
        return extension

    async def _log_in(
        self, tenant: str, agent: str, phone: PhoneKind, extension: str | None
    ) -> str:
        """Logs the agent in on the chosen phone; the extension it is on. An
        agent already logged in on that phone stays as they are (a sign-in
        elsewhere takes over); on another phone, they move to it unless a
        call (or an offer, or a wrap-up) holds them to the current one."""
        cfg = self._config.tenants[tenant].agents[agent]
        if phone == "browser":
            wanted, _ = browser_phone_for(self._config, tenant, agent)
        else:
            if extension is None:
                raise InvalidInput("name the extension", rule=rules.RULE, field="extension")
            if extension != cfg.extension:
                raise InvalidInput(
                    f"extension {extension!r} is not the agent's extension",
                    rule="ST-1",
                    field="extension",
                )
            wanted = extension
        record = await self._cc.agent(tenant, agent)
        if record.state is AgentState.LOGGED_OUT:
            await self._cc.login(tenant, agent, wanted)
        elif record.extension != wanted:
            if record.state not in (AgentState.IDLE, AgentState.AVAILABLE, AgentState.RONA):
                raise InvalidTransition(
                    "the agent has a call on another phone; sign in with that phone",
                    rule=rules.RULE,
                    state=record.state.value,
                    extension=record.extension,
                )
            await self._cc.change_state(tenant, agent, AgentState.LOGGED_OUT, None)
            await self._cc.login(tenant, agent, wanted)
        return wanted

    # Using a session ----------------------------------------------------------------

    async def resolve(self, session_id: str) -> StoredSession | None:
        """The session of a cookie, its idle timeout renewed; None when it has
        ended (or never was)."""
        if not rules.valid_session_id(session_id):
            return None
        return await self.touch(rules.session_key(session_id))

    async def touch(self, key: str) -> StoredSession | None:
        return await self._repo.touch(key, now_ms=now_ms(), idle_ms=self.idle_ms)

    def describe(self, session: StoredSession) -> dict[str, Any]:
        """The body of POST and GET /v1/session: who is signed in, the CSRF
        token, and the phone (with the browser phone's SIP credentials: only
        ever in this agent's own session)."""
        if session.role == SUPERVISOR:
            tenant = self._config.tenants[session.tenant]
            sup = tenant.supervisors[session.agent]
            return {
                "tenant": session.tenant,
                "agent": session.agent,
                "role": SUPERVISOR,
                "name": sup.name,
                "teams": list(sup.teams),
                # what the console names and offers: the tenant's teams, queues
                # and reasons (SUP-2, SUP-4, SUP-6)
                "console": {
                    "teams": {tid: team.name for tid, team in tenant.teams.items()},
                    "queues": {qid: queue.name for qid, queue in tenant.queues.items()},
                    "idle_reasons": dict(tenant.idle_reasons),
                    "wrap_up_reasons": dict(tenant.wrap_up_reasons),
                },
                "csrf_token": session.csrf,
                "expires_at": iso(session.expires),
                "idle_minutes": self._config.service.session_idle_minutes,
                "phone": {
                    "kind": session.phone,
                    "extension": session.extension,
                    "sip": sip_credentials(self._config, session.extension, session.key, sup.name)
                    if session.phone == "browser"
                    else None,
                },
            }
        cfg = self._config.tenants[session.tenant].agents[session.agent]
        sip = None
        if session.phone == "browser":
            _, sip = browser_phone_for(self._config, session.tenant, session.agent, session.key)
        return {
            "tenant": session.tenant,
            "agent": session.agent,
            "role": "agent",
            "name": cfg.name,
            "csrf_token": session.csrf,
            "expires_at": iso(session.expires),
            "idle_minutes": self._config.service.session_idle_minutes,
            "phone": {"kind": session.phone, "extension": session.extension, "sip": sip},
        }

    # Sign-out -----------------------------------------------------------------------

    async def sign_out(self, session: StoredSession) -> None:
        """DSK-1: logs the agent out and ends the session; refused (409,
        DSK-1) while an offer rings, on a call or in wrap-up. A supervisor's
        session just ends (a supervision going on is left as it is: its leg
        is the supervisor's phone) and gives its browser phone's seat back."""
        if session.role != SUPERVISOR:
            record = await self._cc.agent(session.tenant, session.agent)
            if rules.sign_out(record.state):
                await self._cc.change_state(
                    session.tenant, session.agent, AgentState.LOGGED_OUT, None
                )
        await self._repo.delete(session)
        if session.role == SUPERVISOR and session.phone == "browser":
            await self._seats.release(session.extension, session.key)
        await self._tell(session.tenant, session.agent, session.handle, ENDED_EVENT)
        log.info("%s %s/%s signed out", session.role, session.tenant, session.agent)

    async def forget(self, session: StoredSession) -> None:
        """Ends a session without logging its agent out: a browser that
        signs in as another agent drops the session its cookie held."""
        await self._repo.delete(session)
        await self._tell(session.tenant, session.agent, session.handle, ENDED_EVENT)

    async def _tell(self, tenant: str, agent: str, handle: str, kind: str) -> None:
        """An event for the event WebSockets of one session only (which then close)."""
        await self._store.publish(
            {
                "type": kind,
                "tenant": tenant,
                "agent": agent,
                "at": iso(now_ms()),
                "data": {},
                "private": True,
                "session": handle,
            }
        )
