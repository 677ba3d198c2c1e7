"""A browser's side of the service's sessions (DSK-1): a cookie jar, the
page's origin and the CSRF token the page got when it signed in."""

from __future__ import annotations

from typing import Any

import aiohttp
from yarl import URL

COOKIE = "cp_session"


class Browser:
    """A browser's view of the service: a cookie jar, the page's origin, and
    the CSRF token the page got from the session."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.origin = base_url
        self.csrf: str | None = None
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # (cookies of 127.0.0.1)
            timeout=aiohttp.ClientTimeout(total=15),
        )
        self.last_set_cookie: str | None = None

    async def close(self) -> None:
        await self.http.close()

    def cookie(self) -> str | None:
        found = self.http.cookie_jar.filter_cookies(URL(self.base_url)).get(COOKIE)
        return found.value if found is not None and found.value else None

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        csrf: bool = True,
        headers: dict[str, str | None] | None = None,
    ) -> tuple[int, Any, Any]:
        """(status, JSON body, headers); a header given as None is not sent."""
        sent: dict[str, str] = {"Origin": self.origin}
        if csrf and self.csrf is not None and method not in ("GET", "HEAD", "OPTIONS"):
            sent["X-CSRF-Token"] = self.csrf
        for name, value in (headers or {}).items():
            if value is None:
                sent.pop(name, None)
            else:
                sent[name] = value
        async with self.http.request(
            method, f"{self.base_url}{path}", json=body, headers=sent
        ) as resp:
            self.last_set_cookie = resp.headers.get("Set-Cookie")
            data = await resp.json(content_type=None)
            return resp.status, data, resp.headers

    async def sign_in(
        self,
        agent: str = "alice",
        password: str = "demo-alice-password",
        *,
        phone: str = "extension",
        extension: str | None = "1001",
        expect: int = 200,
    ) -> Any:
        body: dict[str, Any] = {"agent": agent, "password": password, "phone": phone}
        if extension is not None:
            body["extension"] = extension
        status, data, _ = await self.request("POST", "/v1/session", body)
        assert status == expect, (status, data)
        if status == 200:
            self.csrf = data["csrf_token"]
        return data

    async def ok(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        status, data, _ = await self.request(method, path, body, **kw)
        assert status == 200, (method, path, status, data)
        return data
