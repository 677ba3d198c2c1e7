"""Who is calling: bearer tokens mapped to a role within one tenant (SEC-1)."""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.config import Config, Role
from controlplane.domain.errors import RuleViolation

MAX_TOKEN = 512  # characters; longer is no token of ours


class Unauthorized(RuleViolation):
    status = 401
    error_id = "unauthorized"


class Forbidden(RuleViolation):
    status = 403
    error_id = "forbidden"


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    tenant: str
    agent: str | None
    token_id: str = ""  # the start of the token's SHA-256: names it in the audit trail

    def may_see_event(self, tenant: str, agent: str | None, private: bool = False) -> bool:
        """Agents see their own events; supervisors their tenant's, except
        private ones (which may carry secure values: CAD-6)."""
        if tenant != self.tenant:
            return False
        if self.role is Role.AGENT or private:
            return self.role is Role.AGENT and agent == self.agent
        return True

    def require_agent_access(self, agent_id: str) -> None:
        """Agents act only on themselves; supervisors and admins on their tenant."""
        if self.role is Role.AGENT and agent_id != self.agent:
            raise Forbidden("an agent may act only on their own state and interactions")

    def require_self(self, agent_id: str) -> None:
        if self.role is not Role.AGENT or agent_id != self.agent:
            raise Forbidden("only the agent themself may do this")


def authenticate(config: Config, authorization: str | None, query_token: str | None) -> Principal:
    presented: str | None = None
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("use 'Authorization: Bearer <token>'")
        presented = value.strip()
    elif query_token:
        presented = query_token
    if not presented:
        raise Unauthorized("a bearer token is required")
    if len(presented) > MAX_TOKEN or not presented.isascii() or not presented.isprintable():
        raise Unauthorized("unknown token")
    token = config.token(presented)
    if token is None:
        raise Unauthorized("unknown token")
    return Principal(
        role=token.role, tenant=token.tenant, agent=token.agent, token_id=token.sha256[:12]
    )
