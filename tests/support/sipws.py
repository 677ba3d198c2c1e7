"""A minimal SIP-over-WebSocket client (RFC 7118) for the tests: REGISTER
with digest authentication, enough to prove who may register where."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass

import aiohttp


@dataclass(frozen=True)
class SipResponse:
    status: int
    reason: str
    headers: dict[str, str]


def _parse(text: str) -> SipResponse:
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")
    _, status, reason = [*head[0].split(" ", 2), ""][:3]
    headers: dict[str, str] = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return SipResponse(int(status), reason, headers)


def _digest(challenge: str, user: str, password: str, method: str, uri: str) -> str:
    fields = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
    realm, nonce = fields.get("realm", ""), fields.get("nonce", "")
    ha1 = hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{uri}".encode()).hexdigest()
    parts = [
        f'username="{user}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
        "algorithm=MD5",
    ]
    if "qop" in fields:
        cnonce, nc = secrets.token_hex(8), "00000001"
        response = hashlib.md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}".encode()).hexdigest()
        parts += [f'response="{response}"', "qop=auth", f'cnonce="{cnonce}"', f"nc={nc}"]
    else:
        response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
        parts.append(f'response="{response}"')
    if "opaque" in fields:
        parts.append(f'opaque="{fields["opaque"]}"')
    return "Digest " + ", ".join(parts)


async def register(
    ws: aiohttp.ClientWebSocketResponse,
    user: str,
    password: str,
    *,
    domain: str = "127.0.0.1",
    expires: int = 60,
) -> SipResponse:
    """REGISTER `user` over the open SIP WebSocket `ws`, answering one digest
    challenge; the final response."""
    call_id = uuid.uuid4().hex
    tag = secrets.token_hex(4)
    uri = f"sip:{domain}"
    contact = f"<sip:{user}@{secrets.token_hex(4)}.invalid;transport=ws>;expires={expires}"
    authorization: str | None = None
    for cseq in (1, 2):
        lines = [
            f"REGISTER {uri} SIP/2.0",
            f"Via: SIP/2.0/WS {secrets.token_hex(4)}.invalid;branch=z9hG4bK{secrets.token_hex(8)}",
            "Max-Forwards: 70",
            f"From: <sip:{user}@{domain}>;tag={tag}",
            f"To: <sip:{user}@{domain}>",
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} REGISTER",
            f"Contact: {contact}",
            f"Expires: {expires}",
        ]
        if authorization:
            lines.append(f"Authorization: {authorization}")
        lines.append("Content-Length: 0")
        await ws.send_str("\r\n".join(lines) + "\r\n\r\n")
        while True:
            msg = await ws.receive(timeout=5)
            if msg.type is not aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"the SIP WebSocket closed ({msg.type.name})")
            if not msg.data.startswith("SIP/2.0 "):
                continue  # a request of Asterisk's (OPTIONS): not ours to answer here
            response = _parse(msg.data)
            if response.status >= 200:
                break
        if response.status == 401 and authorization is None:
            challenge = response.headers.get("www-authenticate", "")
            authorization = _digest(challenge, user, password, "REGISTER", uri)
            continue
        return response
    return response
