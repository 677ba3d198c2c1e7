"""The event WebSocket ``GET /v1/events``: the caller's events as they
happen (an agent: their own; a supervisor: the tenant's)."""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import WSMsgType, web

from controlplane.api import docs
from controlplane.api.common import SERVICES, SOCKETS, Feature, Route, principal
from controlplane.api.hub import CLOSE
from controlplane.api.session import SessionKeeper
from controlplane.sessions import CLOSE_SESSION_OVER


async def events(request: web.Request) -> web.StreamResponse:
    s, p = request.app[SERVICES], principal(request)
    ws = web.WebSocketResponse(heartbeat=15)
    await ws.prepare(request)
    sockets = request.app[SOCKETS]
    sockets.add(ws)
    key, queue = s.hub.subscribe(p)
    await ws.send_str(json.dumps({"type": "hello", "tenant": p.tenant, "agent": p.agent}))
    keeper = SessionKeeper(request, p, ws)  # DSK-1: a desktop session's socket keeps it alive
    keeper.start()

    async def pump() -> None:
        while True:
            data = await queue.get()
            if data is CLOSE:
                keeper.close_over(b"session over")
                return
            await ws.send_str(data)

    async def read() -> None:
        async for msg in ws:
            if msg.type is WSMsgType.ERROR:
                break
            await keeper.touch()

    sender = asyncio.create_task(pump(), name="ws-events")
    reader = asyncio.create_task(read(), name="ws-read")
    try:
        await asyncio.wait((reader, keeper.over), return_when=asyncio.FIRST_COMPLETED)
        if keeper.over.done() and not ws.closed:
            # The session is over. The close is this task's, with no read
            # under way in another: the closing handshake then waits for the
            # client's closing frame before the connection closes (closed
            # while another task reads, the connection would drop at once
            # and the client see 1006 instead of the code).
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            with contextlib.suppress(ConnectionError):
                await ws.close(code=CLOSE_SESSION_OVER, message=keeper.over.result())
    finally:
        sockets.discard(ws)
        s.hub.unsubscribe(key)
        await keeper.stop()
        for task in (sender, reader):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task
    return ws


FEATURE = Feature(
    name="events",
    routes=(
        Route(
            "GET",
            "/v1/events",
            events,
            {
                "summary": "WebSocket of the caller's events (agent: own; supervisor: tenant)",
                "description": (
                    "Upgrade to a WebSocket. Authenticate with the Authorization header or, "
                    "for browsers, `?token=`. Each message is JSON: "
                    "`{type, tenant, agent, at, data}`. Types: agent.state, "
                    "interaction.queued, interaction.offered, interaction.offer_withdrawn, "
                    "interaction.connected, interaction.held, interaction.resumed, "
                    "interaction.recording_paused, interaction.recording_resumed, "
                    "interaction.variables_updated (private: the interaction's agent), "
                    "interaction.dialing, interaction.callback_failed (CB-3), "
                    "interaction.transferred, interaction.transfer_failed (TR), "
                    "interaction.consult_requested, interaction.consult_offered (private: "
                    "the consulted agent), interaction.consult_connected, "
                    "interaction.consult_held, interaction.consult_resumed, "
                    "interaction.consult_ended (CO), interaction.conference_started "
                    "(private, CF-2), "
                    "interaction.ended, interaction.wrapped_up. A request that is no "
                    "WebSocket upgrade is answered 400."
                ),
                "responses": {
                    "101": {"description": "switching protocols"},
                    "400": {"description": "not a WebSocket upgrade request"},
                    **docs.errors(401, 403),
                },
            },
        ),
    ),
)
