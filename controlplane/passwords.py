"""Agents' desktop passwords (DSK-1): argon2id hashes from the configuration.

Verifying costs what the hash's parameters say (the library's defaults: 64
MiB and three passes), so it runs in a worker thread, at most two at a time,
never on the event loop. An unknown agent, or one without a password, is
checked against a dummy hash of the same cost, so that the answer takes as
long as for a wrong password.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError

from controlplane.config import Config

MAX_CONCURRENT = 2


def hash_password(password: str) -> str:
    """An argon2id hash with the library's default (RFC 9106 low-memory) cost."""
    return PasswordHasher().hash(password)


class Passwords:
    def __init__(self, config: Config) -> None:
        hashes = [
            agent.password_hash
            for tenant in config.tenants.values()
            for agent in tenant.agents.values()
            if agent.password_hash
        ]
        hasher = PasswordHasher()
        if hashes:
            # the cost most configured hashes have
            common = Counter(str(extract_parameters(h)) for h in hashes).most_common(1)[0][0]
            params = next(
                extract_parameters(h) for h in hashes if str(extract_parameters(h)) == common
            )
            hasher = PasswordHasher.from_parameters(params)
        self._hasher = hasher
        self._dummy = hasher.hash(secrets.token_urlsafe(16))
        self._slots = asyncio.Semaphore(MAX_CONCURRENT)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when the password matches the hash; False for a wrong one and
        for no hash (after the same work)."""
        async with self._slots:
            ok = await asyncio.to_thread(self._verify, password_hash or self._dummy, password)
        return ok and password_hash is not None

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return PasswordHasher().verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
