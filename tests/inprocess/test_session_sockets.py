"""A desktop session's event socket closes with the code the page reads as
"signed out" (4001), not as a dropped connection to reconnect (DSK-1)."""

from __future__ import annotations

import pytest

from tests.inprocess.conftest import Service
from tests.support.web_session import Browser

SESSION_OVER = 4001  # web/src/events.ts
ROUNDS = 25  # (the closing handshake raced the handler's own exit)


@pytest.mark.spec("DSK-1")
async def test_a_sign_in_elsewhere_closes_the_older_socket_with_the_session_over_code(
    service: Service,
) -> None:
    for _round in range(ROUNDS):
        older, newer = Browser(service.url), Browser(service.url)
        try:
            await older.sign_in()
            async with older.http.ws_connect(
                f"{service.url}/v1/events", headers={"Origin": service.url}
            ) as ws:
                assert (await ws.receive_json(timeout=5))["type"] == "hello"
                await newer.sign_in()
                assert (await ws.receive_json(timeout=5))["type"] == "session.replaced"
                await ws.receive(timeout=5)
                assert ws.close_code == SESSION_OVER, f"round {_round}"
            await newer.ok("DELETE", "/v1/session")
        finally:
            await older.close()
            await newer.close()
