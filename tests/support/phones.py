"""Real SIP phones for integration tests.

Each phone is one baresip 1.0 process with its own config directory, driven
over its ``ctrl_tcp`` socket (JSON netstrings on 127.0.0.1). The process sends
a sine tone once a call is up and reports the level of the audio it receives.

In front of every phone sits a small UDP edge (``_SipEdge``): the phone's
public SIP address. baresip sends all requests through it (``outbound`` proxy)
and Asterisk reaches the phone through it. The edge:

* records every SIP message, so tests can assert on the INVITE a phone got
  (From, P-Asserted-Identity, custom headers ...) and on final responses;
* turns baresip's only rejection (``486 Rejected``) into the status the test
  chose (``486 Busy Here``, ``603 Decline``, ...), which baresip 1.0 cannot
  send by itself;
* record-routes INVITE dialogs so that the phone's BYE/ACK pass it too (and
  strips that Record-Route again before Asterisk sees it).

The edge rewrites nothing else but the phone's own host:port (to its public
one) and adds no Via: to Asterisk it is the phone.

Agent phones register with digest auth; customer phones do not register and
bind to the carrier address (127.0.0.2) so that Asterisk identifies the
carrier trunk by source IP.

    async with PhoneFactory(tmp_path / "phones") as phones:
        agent = await phones.agent("1001", answer_after_ms=500)
        customer = await phones.customer("15551230001", display_name="Alice")
        call_id = await customer.dial("5000")
        incoming = await agent.wait_for("incoming")
        assert incoming.peer_number == "15551230001"
        await customer.wait_for("established", call_id=call_id)
        await agent.wait_for_audio()
        await agent.hangup()
        assert (await customer.wait_for("closed")).ended_by_peer

Each phone writes ``<workdir>/<name>.log`` (baresip's output) and
``<workdir>/<name>.sip.log`` (every SIP message with its body).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import socket
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Final, Literal, Self, cast

DEFAULT_PASSWORD: Final = "demo-phone-secret"
DEFAULT_REGISTRAR: Final = "127.0.0.1:5060"
AGENT_IP: Final = "127.0.0.1"
CARRIER_IP: Final = "127.0.0.2"

_MODULE_DIRS: Final = ("/usr/lib/baresip/modules", "/usr/local/lib/baresip/modules")
_CTRL_HOST: Final = "127.0.0.1"
_RTP_PORTS: Final = "40000-49999"
_REGISTER_INTERVAL_S: Final = 300
_COMMAND_TIMEOUT_S: Final = 5.0
_LOG_TAIL_LINES: Final = 40
_NO_RTP_AFTER_S: Final = 1.5

SIP_REASONS: Final[Mapping[int, str]] = {
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    480: "Temporarily Unavailable",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    500: "Server Internal Error",
    503: "Service Unavailable",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
}

_EVENT_KINDS: Final[Mapping[str, str]] = {
    "REGISTER_OK": "registered",
    "REGISTER_FAIL": "register_failed",
    "UNREGISTERING": "unregistering",
    "CALL_INCOMING": "incoming",
    "CALL_RINGING": "ringing",
    "CALL_PROGRESS": "progress",
    "CALL_ESTABLISHED": "established",
    "CALL_CLOSED": "closed",
    "CALL_RTPESTAB": "rtp",
    "CALL_RTCP": "rtcp",
    "CALL_DTMF_START": "dtmf",
    "EXIT": "exit",
}

# Header names in their compact forms (RFC 3261 section 7.3.3).
_COMPACT_HEADERS: Final[Mapping[str, str]] = {
    "i": "call-id",
    "m": "contact",
    "e": "content-encoding",
    "l": "content-length",
    "c": "content-type",
    "f": "from",
    "s": "subject",
    "k": "supported",
    "t": "to",
    "v": "via",
}

CallState = Literal["incoming", "outgoing", "ringing", "progress", "established", "closed"]


class PhoneError(RuntimeError):
    """A phone failed to start, to register or to carry out a command."""


class PhoneTimeout(PhoneError, TimeoutError):
    """An expected phone event did not arrive in time."""


# --------------------------------------------------------------------------- SIP


@dataclass(frozen=True)
class SipMessage:
    """One SIP message as it crossed the phone's edge."""

    start_line: str
    headers: tuple[tuple[str, str], ...]
    body: str

    @classmethod
    def parse(cls, data: bytes) -> SipMessage | None:
        text = data.decode("utf-8", "replace")
        head, sep, body = text.partition("\r\n\r\n")
        if not sep:
            head, _, body = text.partition("\n\n")
        lines = head.replace("\r\n", "\n").split("\n")
        if not lines or not lines[0].strip():
            return None
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and headers:
                name, value = headers[-1]
                headers[-1] = (name, f"{value} {line.strip()}")
                continue
            name, colon, value = line.partition(":")
            if colon:
                headers.append((name.strip(), value.strip()))
        return cls(start_line=lines[0].strip(), headers=tuple(headers), body=body)

    def header(self, name: str) -> str | None:
        """First value of a header, matched case-insensitively, compact forms too."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        wanted = _COMPACT_HEADERS.get(name.lower(), name.lower())
        return [
            value
            for key, value in self.headers
            if _COMPACT_HEADERS.get(key.lower(), key.lower()) == wanted
        ]

    @property
    def is_request(self) -> bool:
        return not self.start_line.startswith("SIP/2.0 ")

    @property
    def method(self) -> str | None:
        return self.start_line.split(" ", 1)[0] if self.is_request else None

    @property
    def request_uri(self) -> str | None:
        parts = self.start_line.split(" ")
        return parts[1] if self.is_request and len(parts) == 3 else None

    @property
    def status_code(self) -> int | None:
        if self.is_request:
            return None
        parts = self.start_line.split(" ", 2)
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None

    @property
    def call_id(self) -> str | None:
        return self.header("Call-ID")

    @property
    def cseq_method(self) -> str | None:
        cseq = self.header("CSeq")
        return cseq.split()[-1] if cseq else None


@dataclass(frozen=True)
class SipTrace:
    """A SIP message seen by the edge: ``direction`` is "in" (to the phone) or "out"."""

    at: float
    direction: Literal["in", "out"]
    message: SipMessage


def _user_of(uri: str | None) -> str | None:
    if not uri:
        return None
    match = re.search(r"sips?:([^@;>]+)@", uri)
    return match.group(1) if match else None


class _SipEdge(asyncio.DatagramProtocol):
    """UDP edge in front of one baresip process (see the module docstring)."""

    def __init__(self, *, ip: str, upstream: tuple[str, int], trace_file: IO[str]) -> None:
        self.ip = ip
        self.upstream = upstream
        self.user = ""
        self.public_port = 0
        self.phone_port = 0
        self.traces: list[SipTrace] = []
        self.invites: dict[str, SipMessage] = {}
        self.sent_invites: dict[str, SipMessage] = {}
        self.final_responses: dict[str, SipMessage] = {}
        self.ending_requests: dict[str, SipMessage] = {}
        self.reject_overrides: dict[str, tuple[int, str]] = {}
        self._peer_by_call: dict[str, tuple[str, int]] = {}
        self._trace_file = trace_file
        self._transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def open(
        cls, *, ip: str, port: int, upstream: tuple[str, int], trace_file: IO[str]
    ) -> _SipEdge:
        loop = asyncio.get_running_loop()
        edge = cls(ip=ip, upstream=upstream, trace_file=trace_file)
        try:
            await loop.create_datagram_endpoint(lambda: edge, local_addr=(ip, port))
        except OSError as exc:
            edge.close()
            raise PhoneError(f"cannot bind the phone's SIP address {ip}:{port}: {exc}") from exc
        if edge.public_port == 0:
            edge.close()
            raise PhoneError(f"SIP edge on {ip}:{port} did not bind")
        return edge

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)
        self.public_port = int(transport.get_extra_info("sockname")[1])

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        with contextlib.suppress(OSError, ValueError):
            self._trace_file.close()

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if self._transport is None or not data.strip():
            return
        source = (str(addr[0]), int(addr[1]))
        if source == (self.ip, self.phone_port):
            self._from_phone(data)
        else:
            self._to_phone(data, source)

    def _from_phone(self, data: bytes) -> None:
        assert self._transport is not None
        head, body = _split_head(data)
        head = head.replace(f"{self.ip}:{self.phone_port}", self._public)
        head = "\r\n".join(line for line in head.split("\r\n") if not self._is_own_route(line))
        message = SipMessage.parse(head.encode() + body)
        destination = self.upstream
        if message is not None:
            call_id = message.call_id or ""
            destination = self._peer_by_call.get(call_id, self.upstream)
            override = self.reject_overrides.get(call_id)
            if (
                override is not None
                and message.status_code == 486
                and message.cseq_method == "INVITE"
            ):
                code, reason = override
                rest = head.partition("\r\n")[2]
                head = f"SIP/2.0 {code} {reason}\r\n{rest}"
                message = SipMessage.parse(head.encode() + body)
            if message is not None:
                if message.method == "INVITE" and ";tag=" not in (message.header("To") or ""):
                    self.sent_invites.setdefault(call_id, message)
                self._record("out", message)
        self._transport.sendto(head.encode() + body, destination)

    def _to_phone(self, data: bytes, source: tuple[str, int]) -> None:
        assert self._transport is not None
        head, body = _split_head(data)
        message = SipMessage.parse(data)
        record_route = False
        new_dialog = False
        if message is not None:
            call_id = message.call_id or ""
            self._peer_by_call.setdefault(call_id, source)
            if message.is_request:
                to = message.header("To") or ""
                if message.method == "INVITE":
                    record_route = True
                    if ";tag=" not in to:
                        new_dialog = True
                        self.invites[call_id] = message
                elif message.method in ("BYE", "CANCEL"):
                    self.ending_requests.setdefault(call_id, message)
            elif message.cseq_method == "INVITE":
                status = message.status_code or 0
                record_route = 100 < status < 300
                if status >= 200:
                    self.final_responses[call_id] = message
            self._record("in", message)
        head = head.replace(self._public, f"{self.ip}:{self.phone_port}")
        if new_dialog:
            head = self._retarget(head)
        if record_route:
            # the phone then sends its in-dialog requests (ACK, BYE, re-INVITE)
            # through the edge too; the edge removes this header on the way out
            first, _, rest = head.partition("\r\n")
            head = f"{first}\r\nRecord-Route: <sip:{self._public};lr>\r\n{rest}"
        self._transport.sendto(head.encode() + body, (self.ip, self.phone_port))

    def _retarget(self, head: str) -> str:
        """baresip refuses a call whose Request-URI user is not its own ("UA not
        found"), as when Asterisk sends a carrier call for any number to a
        customer phone: aim such an INVITE at the phone's own user. The INVITE
        recorded for the test keeps the original Request-URI."""
        first, _, rest = head.partition("\r\n")
        parts = first.split(" ")
        if len(parts) != 3 or not self.user:
            return head
        target = _user_of(parts[1])
        if target == self.user or (target or "").startswith(f"{self.user}-0x"):
            return head
        parts[1] = f"sip:{self.user}@{self.ip}:{self.phone_port}"
        return " ".join(parts) + "\r\n" + rest

    @property
    def _public(self) -> str:
        return f"{self.ip}:{self.public_port}"

    def _is_own_route(self, line: str) -> bool:
        name, _, value = line.partition(":")
        return (
            name.strip().lower() in ("route", "record-route")
            and f"<sip:{self._public};lr>" in value
        )

    def _record(self, direction: Literal["in", "out"], message: SipMessage) -> None:
        trace = SipTrace(at=time.monotonic(), direction=direction, message=message)
        self.traces.append(trace)
        arrow = "<<<" if direction == "in" else ">>>"
        lines = [f"{key}: {value}" for key, value in message.headers]
        if message.body.strip():
            lines += ["", *message.body.strip().splitlines()]
        with contextlib.suppress(OSError, ValueError):
            self._trace_file.write(
                f"{_clock()} {arrow} {message.start_line}\n"
                + "".join(f"    {line}\n" for line in lines)
            )
            self._trace_file.flush()


def _clock() -> str:
    now = time.time()
    return time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"


def _split_head(data: bytes) -> tuple[str, bytes]:
    index = data.find(b"\r\n\r\n")
    if index < 0:
        return data.decode("utf-8", "replace"), b""
    return data[:index].decode("utf-8", "replace"), data[index:]


# ------------------------------------------------------------------- events


@dataclass(frozen=True)
class CallEvent:
    """One thing that happened on a phone.

    ``kind`` is one of: registered, register_failed, unregistering, incoming
    (a call arrives and rings here), ringing (the far end of a call we placed
    rings), progress (183 / early media), established, closed, rtp (first RTP
    received), rtcp, dtmf, exit (the process ended).
    """

    kind: str
    call_id: str | None
    peer_uri: str | None
    peer_name: str | None
    reason: str | None
    raw: Mapping[str, object]
    at: float = field(default_factory=time.monotonic)
    sip: SipMessage | None = None
    """For "incoming": the INVITE as the phone got it. For "closed": what the
    far end sent to end the call (a BYE or CANCEL request, or a final error
    response to our INVITE); None when this phone ended it."""

    @property
    def peer_number(self) -> str | None:
        """User part of the peer URI: the caller ID number on incoming calls."""
        return _user_of(self.peer_uri)

    @property
    def ended_by_peer(self) -> bool:
        """For "closed": the far end ended the call (BYE, CANCEL or an error response)."""
        return self.sip is not None and self.kind == "closed"

    @property
    def status_code(self) -> int | None:
        """The SIP status in a "closed" reason such as "486 Busy Here"."""
        if self.reason:
            match = re.match(r"\s*(\d{3})\b", self.reason)
            if match:
                return int(match.group(1))
        if self.sip is not None:
            return self.sip.status_code
        return None


@dataclass
class CallInfo:
    """What the phone knows about one of its calls."""

    call_id: str
    direction: Literal["incoming", "outgoing"]
    peer_uri: str | None
    peer_name: str | None
    state: CallState
    started_at: float = field(default_factory=time.monotonic)
    established_at: float | None = None
    closed_at: float | None = None
    close_reason: str | None = None
    invite: SipMessage | None = None
    rx_level_dbov: float | None = None
    """Level of the audio received, as last reported (every 0.5 s while RTP flows)."""
    rx_level_at: float | None = None
    tx_level_dbov: float | None = None
    rtcp: Mapping[str, object] | None = None
    muted: bool = False

    @property
    def active(self) -> bool:
        return self.state != "closed"


# -------------------------------------------------------------------- phone


# Ports this process has handed to a phone: never handed out twice, so that two
# phones started at the same moment cannot pick the same port.
_HANDED_OUT: set[tuple[str, int]] = set()


def _free_port(ip: str, *, kind: int, port_plus_one_tcp: bool = False) -> int:
    """A port on ``ip`` that is free for ``kind``; with ``port_plus_one_tcp`` the
    same port must be free for TCP too, and the next one for TCP (baresip binds
    SIP on UDP and TCP port P and TLS on TCP P+1)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, kind) as probe:
            probe.bind((ip, 0))
            port = int(probe.getsockname()[1])
        wanted = [(port, kind)]
        if port_plus_one_tcp:
            wanted += [(port, socket.SOCK_STREAM), (port + 1, socket.SOCK_STREAM)]
        if any((ip, p) in _HANDED_OUT or p > 65535 for p, _ in wanted):
            continue
        if all(_bindable(ip, p, k) for p, k in wanted[1:]):
            _HANDED_OUT.update((ip, p) for p, _ in wanted)
            return port
    raise PhoneError(f"no free port on {ip}")


def _bindable(ip: str, port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as probe:
        try:
            probe.bind((ip, port))
        except OSError:
            return False
    return True


def _split_hostport(value: str, default_port: int = 5060) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep:
        return value, default_port
    return host, int(port)


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    # baresip colours some lines with ANSI escapes
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    return "\n".join(text.splitlines()[-lines:])


def _netstring(payload: Mapping[str, object]) -> bytes:
    data = json.dumps(payload).encode()
    return str(len(data)).encode() + b":" + data + b","


def _write_file(path: Path, text: str) -> None:
    path.write_text(text)


def _open_append(path: Path) -> IO[str]:
    return path.open("a", buffering=1)


def _module_dir() -> str | None:
    for candidate in _MODULE_DIRS:
        if Path(candidate, "ctrl_tcp.so").exists():
            return candidate
    return None


@dataclass(frozen=True)
class _Layout:
    confdir: Path
    log_path: Path
    sip_log_path: Path


class Phone:
    """One real SIP phone (a baresip process) driven from async tests.

    Behaviour on incoming calls is read when the call arrives, so tests may
    change ``answer_after_ms`` / ``reject_with`` between calls:

    * ``reject_with`` set (e.g. 486 or 603): reject with that status;
    * else ``answer_after_ms`` an int: answer after that many milliseconds;
    * else (``None``): never answer; the phone rings until the caller cancels.
    """

    def __init__(
        self,
        name: str,
        *,
        layout: _Layout,
        bind_ip: str,
        registrar: tuple[str, int],
        username: str | None,
        user: str,
        answer_after_ms: int | None,
        reject_with: int | None,
    ) -> None:
        self.name = name
        self.bind_ip = bind_ip
        self.registrar = registrar
        self.username = username
        self.user = user
        self.answer_after_ms = answer_after_ms
        self.reject_with = reject_with
        self.log_path = layout.log_path
        self.sip_log_path = layout.sip_log_path
        self.confdir = layout.confdir
        self.calls: dict[str, CallInfo] = {}
        self.events: list[CallEvent] = []
        self.registered = False
        self.started_in_s: float | None = None
        self._consumed: set[int] = set()
        self._changed = asyncio.Condition()
        self._proc: asyncio.subprocess.Process | None = None
        self._edge: _SipEdge | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[str, asyncio.Future[tuple[bool, str]]] = {}
        self._tokens = itertools.count(1)
        self._command_lock = asyncio.Lock()
        self._dial_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._stopped = False
        self._stop_lock = asyncio.Lock()

    # ------------------------------------------------------------ start/stop

    @classmethod
    async def start(
        cls,
        name: str,
        *,
        workdir: Path,
        bind_ip: str = AGENT_IP,
        sip_port: int = 0,
        username: str | None = None,
        password: str | None = None,
        registrar: str = DEFAULT_REGISTRAR,
        caller_id: str | None = None,
        display_name: str | None = None,
        answer_after_ms: int | None = 0,
        reject_with: int | None = None,
        tone_hz: int = 440,
        start_timeout: float = 10.0,
        binary: str = "baresip",
    ) -> Phone:
        """Start a phone; with ``username`` it registers and this waits for it.

        ``caller_id`` is the From user of an unregistered phone (the ANI of a
        customer); a registered phone always uses ``username``. ``sip_port`` 0
        picks a free port for the phone's public SIP address.
        """
        if username is not None and caller_id not in (None, username):
            raise ValueError("a registered phone's From user is its username")
        executable = shutil.which(binary)
        if executable is None:
            raise PhoneError(f"{binary!r} not found: install Debian's baresip-core (baresip 1.0)")
        module_dir = _module_dir()
        user = username or caller_id or name
        layout = _Layout(
            confdir=workdir / name,
            log_path=workdir / f"{name}.log",
            sip_log_path=workdir / f"{name}.sip.log",
        )
        phone = cls(
            name,
            layout=layout,
            bind_ip=bind_ip,
            registrar=_split_hostport(registrar),
            username=username,
            user=user,
            answer_after_ms=answer_after_ms,
            reject_with=reject_with,
        )
        began = time.monotonic()
        try:
            await phone._launch(
                executable=executable,
                module_dir=module_dir,
                sip_port=sip_port,
                password=password if password is not None else DEFAULT_PASSWORD,
                display_name=display_name,
                tone_hz=tone_hz,
                timeout=start_timeout,
            )
            if username is not None:
                await phone._await_registration(began + start_timeout)
        except BaseException:
            await phone.stop()
            raise
        phone.started_in_s = time.monotonic() - began
        return phone

    async def _launch(
        self,
        *,
        executable: str,
        module_dir: str | None,
        sip_port: int,
        password: str,
        display_name: str | None,
        tone_hz: int,
        timeout: float,
    ) -> None:
        self.confdir.mkdir(parents=True, exist_ok=True)
        self._edge = await _SipEdge.open(
            ip=self.bind_ip,
            port=sip_port,
            upstream=self.registrar,
            trace_file=_open_append(self.sip_log_path),
        )
        self._edge.user = self.user
        deadline = time.monotonic() + timeout
        attempts = 3
        for attempt in range(1, attempts + 1):
            phone_port = _free_port(self.bind_ip, kind=socket.SOCK_DGRAM, port_plus_one_tcp=True)
            ctrl_port = _free_port(_CTRL_HOST, kind=socket.SOCK_STREAM)
            self._edge.phone_port = phone_port
            _write_file(
                self.confdir / "config",
                self._config_text(phone_port, ctrl_port, tone_hz, module_dir),
            )
            _write_file(
                self.confdir / "accounts",
                self._account_line(password=password, display_name=display_name),
            )
            log = _open_append(self.log_path)
            try:
                self._proc = await asyncio.create_subprocess_exec(
                    executable,
                    "-f",
                    str(self.confdir),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                )
            finally:
                log.close()
            if await self._connect_ctrl(ctrl_port, deadline):
                reader = self._spawn(self._read_ctrl(), f"{self.name}-ctrl")
                # baresip keeps running when ctrl_tcp cannot listen: make sure
                # the socket we reached belongs to this phone
                if await self._is_own_ctrl():
                    self._spawn(self._watch_process(), f"{self.name}-proc")
                    return
                await self._drop_ctrl(reader)
            await self._kill_process()
            if attempt == attempts or time.monotonic() >= deadline:
                break
        raise PhoneError(
            f"phone {self.name}: baresip did not come up\n--- {self.log_path} ---\n"
            + _tail(self.log_path)
        )

    async def _is_own_ctrl(self) -> bool:
        try:
            info = await self._command("reginfo", timeout=2.0)
        except PhoneError:
            return False
        return f"{self._aor()} " in info or info.rstrip().endswith(self._aor())

    async def _drop_ctrl(self, reader: asyncio.Task[None]) -> None:
        if self._writer is not None:
            self._writer.close()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        self._reader = self._writer = None
        self.events.clear()
        self.calls.clear()
        self._consumed.clear()
        self.registered = False

    def _aor(self) -> str:
        if self.username is not None:
            host, port = self.registrar
            return f"sip:{self.username}@{host}:{port}"
        return f"sip:{self.user}@{self.bind_ip}"

    def _config_text(
        self, phone_port: int, ctrl_port: int, tone_hz: int, module_dir: str | None
    ) -> str:
        lines = [
            ("poll_method", "epoll"),
            ("sip_listen", f"{self.bind_ip}:{phone_port}"),
            ("net_interface", self.bind_ip),
            ("call_local_timeout", "120"),
            ("call_max_calls", "4"),
            # ausine only runs at 48 kHz stereo; baresip resamples for G.711
            ("audio_source", f"ausine,{tone_hz}"),
            ("ausrc_srate", "48000"),
            ("ausrc_channels", "2"),
            # no sound hardware: received audio goes to an unpaired aubridge
            ("audio_player", "aubridge,nil"),
            ("audio_alert", "aubridge,nil"),
            ("audio_level", "no"),
            ("rtp_ports", _RTP_PORTS),
            ("rtp_stats", "yes"),
            ("rtcp_mux", "no"),
            # no jitter buffer: baresip 1.0's (libre 1.1) goes on dropping a
            # stream as late after a change of SSRC to one whose sequence
            # numbers are lower, where phones and browsers take a new SSRC
            # as a new source (RFC 3550, 8.2); on loopback nothing is late
            ("jitter_buffer_delay", "0-0"),
            ("statmode_default", "off"),
            ("ringback_disabled", "yes"),
            ("vumeter_stderr", "no"),
        ]
        if module_dir is not None:
            lines.append(("module_path", module_dir))
        lines += [
            ("module", "g711.so"),
            ("module", "ausine.so"),
            ("module", "aubridge.so"),
            ("module", "vumeter.so"),
            ("module_tmp", "uuid.so"),
            ("module_tmp", "account.so"),
            ("module_app", "menu.so"),
            ("module_app", "ctrl_tcp.so"),
            ("ctrl_tcp_listen", f"{_CTRL_HOST}:{ctrl_port}"),
        ]
        return "".join(f"{key:<24}{value}\n" for key, value in lines)

    def _account_line(self, *, password: str, display_name: str | None) -> str:
        assert self._edge is not None
        outbound = f"sip:{self.bind_ip}:{self._edge.public_port}"
        name = f'"{display_name}" ' if display_name else ""
        params = [
            f'outbound="{outbound}"',
            "answermode=manual",
            "audio_codecs=pcmu,pcma",
            "mwi=no",
            "call_transfer=no",
        ]
        aor = self._aor()
        if self.username is not None:
            params += [
                f"auth_user={self.username}",
                f"auth_pass={password}",
                f"regint={_REGISTER_INTERVAL_S}",
            ]
        else:
            params.append("regint=0")
        return f"{name}<{aor}>;" + ";".join(params) + "\n"

    async def _connect_ctrl(self, port: int, deadline: float) -> bool:
        assert self._proc is not None
        while time.monotonic() < deadline:
            if self._proc.returncode is not None:
                return False
            try:
                self._reader, self._writer = await asyncio.open_connection(_CTRL_HOST, port)
            except OSError:
                await asyncio.sleep(0.01)
                continue
            return True
        return False

    async def _await_registration(self, deadline: float) -> None:
        while True:
            if self.registered:
                return
            failure = next((e.reason for e in self.events if e.kind == "register_failed"), None)
            if failure is None:
                # a registration that finished before ctrl_tcp was connected sent
                # its event to nobody: ask for the state instead
                with contextlib.suppress(PhoneError):
                    info = re.sub(r"\x1b\[[0-9;]*m", "", await self._command("reginfo"))
                    if re.search(r"\bOK\b", info):
                        self.registered = True
                        return
                    if re.search(r"\bERR\b", info):
                        failure = self._last_register_response() or "error"
            if failure is not None:
                raise PhoneError(
                    f"phone {self.name}: registration failed: {failure}\n" + self._diagnostics()
                )
            if not self.running:
                raise PhoneError(f"phone {self.name}: baresip exited\n" + self._diagnostics())
            if time.monotonic() >= deadline:
                raise PhoneTimeout(
                    f"phone {self.name}: not registered in time\n" + self._diagnostics()
                )
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.05)

    def _last_register_response(self) -> str | None:
        for trace in reversed(self.sip_traces):
            message = trace.message
            if trace.direction == "in" and message.cseq_method == "REGISTER":
                return message.start_line.removeprefix("SIP/2.0 ")
        return None

    async def stop(self) -> None:
        """Hang up, unregister, end the process. Safe to call more than once."""
        async with self._stop_lock:
            if self._stopped:
                return
            self._stopping = True
            current = asyncio.current_task()
            for task in list(self._tasks):
                if task is not current and task.get_name().endswith("-respond"):
                    task.cancel()
            if self.running:
                with contextlib.suppress(PhoneError, OSError):
                    await self.hangup_all(timeout=3.0)
                registered = self.registered
                with contextlib.suppress(PhoneError, OSError):
                    # quit unregisters (REGISTER Expires: 0) before exiting
                    await self._command("quit", timeout=2.0)
                await self._wait_exit(5.0 if registered else 1.0)
            await self._kill_process()
            if self._writer is not None:
                self._writer.close()
                with contextlib.suppress(OSError, ConnectionError):
                    await self._writer.wait_closed()
            for task in list(self._tasks):
                if task is not current:
                    task.cancel()
            for task in list(self._tasks):
                if task is not current:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            if self._edge is not None:
                self._edge.close()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(PhoneError(f"phone {self.name} stopped"))
            self._pending.clear()
            self.registered = False
            self._stopped = True

    async def crash(self) -> None:
        """Kill the phone with SIGKILL: no BYE, no unregistration, as a phone that
        dies. Its contact stays registered in Asterisk and its SIP address keeps
        swallowing requests until ``stop()``."""
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    async def _wait_exit(self, timeout: float) -> None:
        if self._proc is None or self._proc.returncode is not None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._proc.wait(), timeout)

    async def _kill_process(self) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 1.0)
            return
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()

    # ------------------------------------------------------------ properties

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def sip_address(self) -> tuple[str, int]:
        """The phone's public SIP address (what Asterisk sees)."""
        assert self._edge is not None
        return self.bind_ip, self._edge.public_port

    @property
    def in_call(self) -> bool:
        return any(call.active for call in self.calls.values())

    @property
    def active_calls(self) -> list[CallInfo]:
        return [call for call in self.calls.values() if call.active]

    @property
    def current_call(self) -> CallInfo | None:
        """The most recent call that has not ended."""
        active = self.active_calls
        return active[-1] if active else None

    @property
    def last_call(self) -> CallInfo | None:
        return list(self.calls.values())[-1] if self.calls else None

    @property
    def rx_level_dbov(self) -> float | None:
        """Level of the audio received in the current call (dBov, updated every 0.5 s)."""
        call = self.current_call
        return call.rx_level_dbov if call is not None else None

    @property
    def sip_traces(self) -> list[SipTrace]:
        return list(self._edge.traces) if self._edge is not None else []

    # -------------------------------------------------------------- commands

    async def dial(self, number_or_uri: str) -> str:
        """Place a call; a bare number goes to ``sip:<number>@<registrar>``.

        Returns the call's id (its SIP Call-ID) once the INVITE is on its way.
        """
        uri = number_or_uri
        if not uri.startswith(("sip:", "sips:")):
            host, port = self.registrar
            uri = f"sip:{number_or_uri}@{host}:{port}"
        assert self._edge is not None
        edge = self._edge
        async with self._dial_lock:
            known = set(edge.sent_invites)
            await self._command("dial", uri)
            deadline = time.monotonic() + _COMMAND_TIMEOUT_S
            while not (new := [c for c in edge.sent_invites if c not in known]):
                if time.monotonic() >= deadline or not self.running:
                    raise PhoneError(f"phone {self.name}: dialled {uri} but sent no INVITE")
                await asyncio.sleep(0.002)
        call_id = new[0]
        if call_id not in self.calls:
            self._drop_ended_calls()
            self.calls[call_id] = CallInfo(
                call_id=call_id,
                direction="outgoing",
                peer_uri=uri,
                peer_name=None,
                state="outgoing",
                invite=edge.sent_invites[call_id],
            )
        return call_id

    async def answer(self, call_id: str | None = None) -> None:
        """Answer an incoming call (by default the latest one still ringing here)."""
        call = self._pick(call_id, "answer", states=("incoming",))
        await self._on_call(call.call_id, "accept")

    async def hangup(self, call_id: str | None = None) -> None:
        """End a call (by default the latest active one): BYE when established,
        CANCEL while our outgoing call rings, 486 Busy Here for a call ringing here."""
        call = self._pick(call_id, "hang up")
        if call.state == "incoming" and self._edge is not None:
            self._edge.reject_overrides.setdefault(call.call_id, (486, SIP_REASONS[486]))
        await self._on_call(call.call_id, "hangup")

    async def reject(self, call_id: str | None = None, status: int = 486) -> None:
        """Reject a call ringing here with ``status`` (486 Busy Here, 603 Decline ...)."""
        call = self._pick(call_id, "reject", states=("incoming",))
        assert self._edge is not None
        reason = SIP_REASONS.get(status, "Rejected")
        self._edge.reject_overrides[call.call_id] = (status, reason)
        await self._on_call(call.call_id, "hangup")

    async def hangup_all(self, timeout: float = 5.0) -> None:
        """Hang up every call and wait until the phone reports them closed."""
        for call in self.active_calls:
            with contextlib.suppress(PhoneError):
                await self.hangup(call.call_id)
        deadline = time.monotonic() + timeout
        async with self._changed:
            while self.in_call and self.running:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PhoneTimeout(f"phone {self.name}: calls still up: {self.active_calls}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    async def set_muted(self, muted: bool, call_id: str | None = None) -> None:
        """Mute (send silence) or unmute this phone's audio on a call."""
        call = self._pick(call_id, "mute", states=("established",))
        if call.muted != muted:
            await self._on_call(call.call_id, "mute")
            call.muted = muted

    async def send_dtmf(self, digits: str) -> None:
        """Send DTMF (RFC 4733) on the current call."""
        for digit in digits:
            await self._command("sndcode", digit)

    async def wait_for(
        self, kind: str, timeout: float = 10.0, *, call_id: str | None = None
    ) -> CallEvent:
        """The oldest not yet awaited event of ``kind`` (optionally of one call).

        Events that happened before this call are found too; each event is
        returned once. Unread events of a call are dropped once its "closed"
        event is read or when the phone gets or places a new call after it
        ended; ``clear_events()`` drops everything so far. With several calls
        at once, pass ``call_id`` (``dial()`` returns it; "incoming" has it).
        """
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                for index, event in enumerate(self.events):
                    if index in self._consumed or event.kind != kind:
                        continue
                    if call_id is not None and event.call_id != call_id:
                        continue
                    self._consumed.add(index)
                    if kind == "closed" and event.call_id is not None:
                        # once a test has seen a call end, that call's other
                        # unread events are stale: drop them
                        self._consumed.update(
                            i for i, e in enumerate(self.events) if e.call_id == event.call_id
                        )
                    return event
                if self._stopped or any(e.kind == "exit" for e in self.events):
                    raise PhoneError(
                        f"phone {self.name}: no {kind!r} event and the phone has ended\n"
                        + self._diagnostics()
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PhoneTimeout(
                        f"phone {self.name}: no {kind!r} event within {timeout:.1f}s\n"
                        + self._diagnostics()
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_for_audio(
        self, min_dbov: float = -40.0, timeout: float = 5.0, *, call_id: str | None = None
    ) -> float:
        """Wait until the phone hears audio of at least ``min_dbov``; the level.

        Only levels reported after this call began count (one every 0.5 s).
        The tones are about -10 dBov; a muted far end gives about -84 dBov.
        """
        since = time.monotonic()
        level = await self._wait_level(
            lambda lvl: lvl is not None and lvl >= min_dbov, since, timeout, call_id
        )
        assert level is not None
        return level

    async def wait_for_silence(
        self, max_dbov: float = -60.0, timeout: float = 5.0, *, call_id: str | None = None
    ) -> float | None:
        """Wait until the phone hears nothing louder than ``max_dbov`` or no RTP
        at all (no level report for 1.5 s: returns None)."""
        since = time.monotonic()
        return await self._wait_level(
            lambda lvl: lvl is None or lvl <= max_dbov, since, timeout, call_id
        )

    async def _wait_level(
        self,
        accept: Callable[[float | None], bool],
        since: float,
        timeout: float,
        call_id: str | None,
    ) -> float | None:
        deadline = since + timeout
        level: float | None = None
        async with self._changed:
            while True:
                now = time.monotonic()
                call = self.calls.get(call_id) if call_id else self.current_call
                if call is not None and call.rx_level_at is not None and call.rx_level_at >= since:
                    level = call.rx_level_dbov
                    if accept(level):
                        return level
                elif call is not None and now - since >= _NO_RTP_AFTER_S and accept(None):
                    return None
                remaining = deadline - now
                if remaining <= 0 or not self.running:
                    raise PhoneTimeout(
                        f"phone {self.name}: received level {level} dBov within"
                        f" {timeout:.1f}s did not match\n" + self._diagnostics()
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(remaining, 0.25))

    def clear_events(self) -> None:
        """Mark every event so far as seen."""
        self._consumed.update(range(len(self.events)))

    # --------------------------------------------------------------- control

    def _pick(
        self, call_id: str | None, action: str, *, states: tuple[CallState, ...] | None = None
    ) -> CallInfo:
        if call_id is not None:
            call = self.calls.get(call_id)
            if call is None or not call.active or (states and call.state not in states):
                state = call.state if call is not None else "unknown"
                raise PhoneError(f"phone {self.name}: cannot {action} call {call_id} ({state})")
            return call
        candidates = [c for c in self.active_calls if not states or c.state in states]
        if not candidates:
            raise PhoneError(f"phone {self.name}: no call to {action}")
        return candidates[-1]

    async def _on_call(self, call_id: str, command: str) -> None:
        """Run a call command on one call: baresip acts on its "current" call,
        so with several calls the call is selected first (callfind)."""
        async with self._command_lock:
            if len(self.active_calls) > 1:
                await self._command_unlocked("callfind", call_id)
            await self._command_unlocked(command)

    async def _command(
        self, command: str, params: str | None = None, *, timeout: float = _COMMAND_TIMEOUT_S
    ) -> str:
        async with self._command_lock:
            return await self._command_unlocked(command, params, timeout=timeout)

    async def _command_unlocked(
        self, command: str, params: str | None = None, *, timeout: float = _COMMAND_TIMEOUT_S
    ) -> str:
        if self._writer is None or not self.running:
            raise PhoneError(f"phone {self.name}: not running")
        token = f"t{next(self._tokens)}"
        payload: dict[str, object] = {"command": command, "token": token}
        if params is not None:
            payload["params"] = params
        future: asyncio.Future[tuple[bool, str]] = asyncio.get_running_loop().create_future()
        self._pending[token] = future
        try:
            self._writer.write(_netstring(payload))
            await self._writer.drain()
            ok, data = await asyncio.wait_for(future, timeout)
        except TimeoutError as exc:
            raise PhoneTimeout(f"phone {self.name}: no answer to {command!r}") from exc
        finally:
            self._pending.pop(token, None)
        if not ok:
            raise PhoneError(f"phone {self.name}: {command} {params or ''} failed: {data}")
        return data

    def _quick_ack(self) -> None:
        # baresip writes an event and a response back to back without
        # TCP_NODELAY: the second write waits for our ACK, and a delayed ACK
        # would hold every event by about 40 ms
        sock = self._writer.get_extra_info("socket") if self._writer is not None else None
        quickack = getattr(socket, "TCP_QUICKACK", None)
        if sock is not None and quickack is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)

    async def _read_ctrl(self) -> None:
        reader = self._reader
        assert reader is not None
        try:
            while True:
                self._quick_ack()
                length = await reader.readuntil(b":")
                size = int(length[:-1])
                blob = await reader.readexactly(size + 1)
                try:
                    message = json.loads(blob[:-1])
                except ValueError:
                    continue
                if isinstance(message, dict):
                    await self._dispatch(message)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            return

    async def _dispatch(self, message: dict[str, object]) -> None:
        if message.get("response"):
            future = self._pending.get(str(message.get("token")))
            if future is not None and not future.done():
                future.set_result((bool(message.get("ok")), str(message.get("data") or "")))
            return
        if message.get("event"):
            self._on_event(message)
            async with self._changed:
                self._changed.notify_all()

    def _on_event(self, raw: dict[str, object]) -> None:
        kind_name = str(raw.get("type", ""))
        if kind_name in ("VU_TX_REPORT", "VU_RX_REPORT"):
            self._on_level(raw, rx=kind_name == "VU_RX_REPORT")
            return
        kind = _EVENT_KINDS.get(kind_name)
        if kind is None:
            return
        call_id = str(raw["id"]) if raw.get("id") is not None else None
        peer_uri = str(raw["peeruri"]) if raw.get("peeruri") else None
        peer_name = str(raw["peerdisplayname"]) if raw.get("peerdisplayname") else None
        reason = str(raw["param"]) if raw.get("param") is not None else None
        sip: SipMessage | None = None
        if kind == "registered":
            self.registered = True
        elif kind == "unregistering":
            self.registered = False
        if call_id is not None and kind not in ("registered", "register_failed", "exit"):
            call = self._track(call_id, kind, raw, peer_uri, peer_name)
            if kind == "incoming":
                sip = call.invite
            elif kind == "closed":
                call.close_reason = reason
                if self._edge is not None:
                    response = self._edge.final_responses.get(call_id)
                    if response is not None and (response.status_code or 0) >= 300:
                        sip = response
                    else:
                        sip = self._edge.ending_requests.get(call_id)
            elif kind == "rtcp":
                stats = raw.get("rtcp_stats")
                call.rtcp = stats if isinstance(stats, dict) else None
        self.events.append(
            CallEvent(
                kind=kind,
                call_id=call_id,
                peer_uri=peer_uri,
                peer_name=peer_name,
                reason=reason if kind not in ("incoming", "ringing", "established") else None,
                raw=raw,
                sip=sip,
            )
        )
        if kind == "incoming" and call_id is not None and not self._stopping:
            self._spawn(
                self._respond(call_id, self.answer_after_ms, self.reject_with),
                f"{self.name}-{call_id}-respond",
            )

    def _track(
        self,
        call_id: str,
        kind: str,
        raw: Mapping[str, object],
        peer_uri: str | None,
        peer_name: str | None,
    ) -> CallInfo:
        call = self.calls.get(call_id)
        if call is None:
            direction: Literal["incoming", "outgoing"] = (
                "incoming" if raw.get("direction") == "incoming" else "outgoing"
            )
            call = CallInfo(
                call_id=call_id,
                direction=direction,
                peer_uri=peer_uri,
                peer_name=peer_name,
                state="incoming" if direction == "incoming" else "outgoing",
            )
            if self._edge is not None:
                call.invite = self._edge.invites.get(call_id)
            self._drop_ended_calls()
            self.calls[call_id] = call
        if kind in ("ringing", "progress") and call.state in ("outgoing", "ringing"):
            call.state = "progress" if kind == "progress" else "ringing"
        elif kind == "established":
            call.state = "established"
            call.established_at = time.monotonic()
        elif kind == "closed":
            call.state = "closed"
            call.closed_at = time.monotonic()
        return call

    def _drop_ended_calls(self) -> None:
        """A new call starts: unread events of calls that have ended are stale."""
        ended = {c.call_id for c in self.calls.values() if not c.active}
        self._consumed.update(i for i, e in enumerate(self.events) if e.call_id in ended)

    def _on_level(self, raw: Mapping[str, object], *, rx: bool) -> None:
        call = self.calls.get(str(raw.get("id")))
        if call is None:
            return
        try:
            level = float(str(raw.get("param")))
        except ValueError:
            return
        if rx:
            call.rx_level_dbov = level
            call.rx_level_at = time.monotonic()
        else:
            call.tx_level_dbov = level

    async def _respond(
        self, call_id: str, answer_after_ms: int | None, reject_with: int | None
    ) -> None:
        try:
            if reject_with is not None:
                await self.reject(call_id, reject_with)
                return
            if answer_after_ms is None:
                return
            if answer_after_ms > 0:
                await asyncio.sleep(answer_after_ms / 1000)
            call = self.calls.get(call_id)
            if call is not None and call.state == "incoming":
                await self.answer(call_id)
        except PhoneError as exc:
            call = self.calls.get(call_id)
            if call is not None and call.active:
                async with self._changed:
                    self.events.append(
                        CallEvent(
                            kind="error",
                            call_id=call_id,
                            peer_uri=None,
                            peer_name=None,
                            reason=str(exc),
                            raw={},
                        )
                    )
                    self._changed.notify_all()

    async def _watch_process(self) -> None:
        proc = self._proc
        assert proc is not None
        code = await proc.wait()
        self.registered = False
        for call in self.active_calls:
            call.state = "closed"
            call.close_reason = f"phone process exited ({code})"
        self.events.append(
            CallEvent(
                kind="exit",
                call_id=None,
                peer_uri=None,
                peer_name=None,
                reason=f"exit code {code}",
                raw={},
            )
        )
        async with self._changed:
            self._changed.notify_all()

    def _spawn(self, coro: Coroutine[object, object, None], name: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _diagnostics(self) -> str:
        recent = "\n".join(
            f"  {e.kind} call={e.call_id} peer={e.peer_uri} reason={e.reason}"
            for e in self.events[-15:]
        )
        return (
            f"--- recent events ---\n{recent or '  (none)'}\n"
            f"--- {self.log_path} ---\n{_tail(self.log_path)}"
        )

    def __repr__(self) -> str:
        return (
            f"<Phone {self.name} user={self.user} ip={self.bind_ip}"
            f" running={self.running} registered={self.registered}>"
        )


# ------------------------------------------------------------------ factory


class PhoneFactory:
    """Makes agent and customer phones for one test and stops them all.

    ``async with PhoneFactory(tmp_path) as phones: agent = await phones.agent("1001")``
    """

    def __init__(
        self,
        workdir: Path,
        *,
        registrar: str = DEFAULT_REGISTRAR,
        agent_ip: str = AGENT_IP,
        carrier_ip: str = CARRIER_IP,
        password: str = DEFAULT_PASSWORD,
    ) -> None:
        self.workdir = workdir
        self.registrar = registrar
        self.agent_ip = agent_ip
        self.carrier_ip = carrier_ip
        self.password = password
        self.phones: list[Phone] = []
        self._names: set[str] = set()

    def _unique(self, base: str) -> str:
        name = base
        for index in itertools.count(2):
            if name not in self._names:
                break
            name = f"{base}-{index}"
        self._names.add(name)
        return name

    async def agent(
        self,
        extension: str,
        *,
        answer_after_ms: int | None = 0,
        reject_with: int | None = None,
        password: str | None = None,
        name: str | None = None,
        tone_hz: int = 440,
        start_timeout: float = 10.0,
    ) -> Phone:
        """A registered agent phone for ``extension`` (username == extension)."""
        os.makedirs(self.workdir, exist_ok=True)
        phone = await Phone.start(
            self._unique(name or f"agent-{extension}"),
            workdir=self.workdir,
            bind_ip=self.agent_ip,
            username=extension,
            password=password if password is not None else self.password,
            registrar=self.registrar,
            answer_after_ms=answer_after_ms,
            reject_with=reject_with,
            tone_hz=tone_hz,
            start_timeout=start_timeout,
        )
        self.phones.append(phone)
        return phone

    async def customer(
        self,
        ani: str,
        *,
        display_name: str | None = None,
        name: str | None = None,
        sip_port: int = 0,
        answer_after_ms: int | None = 0,
        reject_with: int | None = None,
        tone_hz: int = 620,
        start_timeout: float = 10.0,
    ) -> Phone:
        """An unregistered phone on the carrier address whose From user is ``ani``."""
        os.makedirs(self.workdir, exist_ok=True)
        phone = await Phone.start(
            self._unique(name or f"customer-{ani}"),
            workdir=self.workdir,
            bind_ip=self.carrier_ip,
            sip_port=sip_port,
            registrar=self.registrar,
            caller_id=ani,
            display_name=display_name,
            answer_after_ms=answer_after_ms,
            reject_with=reject_with,
            tone_hz=tone_hz,
            start_timeout=start_timeout,
        )
        self.phones.append(phone)
        return phone

    async def close_all(self) -> None:
        phones, self.phones = self.phones, []
        await asyncio.gather(*(phone.stop() for phone in phones), return_exceptions=True)

    def __iter__(self) -> Iterator[Phone]:
        return iter(list(self.phones))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close_all()
