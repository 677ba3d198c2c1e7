"""SIPp (Debian's ``sip-tester``) for the load benchmarks: agent phones that
register with digest auth and answer with RTP echo, and customers that call
from the carrier address with a tone streamed in every call.

One SIPp UAS serves all the agents: each agent registers from the UAS's own
address (``rewrite_contact`` keeps the source address), so Asterisk sends
every agent's INVITE there.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
from pathlib import Path
from typing import Final

import devstack

SIPP: Final = "sipp"
ASTERISK_SIP: Final = f"{devstack.LOOPBACK}:{devstack.SIP_PORT}"
AGENT_IP: Final = "127.0.0.1"
AGENT_SIP_PORT: Final = 5070
AGENT_MEDIA_PORT: Final = 30000  # outside Asterisk's RTP range (10000-20000)
CUSTOMER_SIP_PORT: Final = 5080
CUSTOMER_MEDIA_PORT: Final = 40000
TONE_FILE: Final = "tone.ulaw"

_REGISTER = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="bench agent registration">
  <send retrans="500">
    <![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[field0]@[remote_ip]>;tag=[pid]reg[call_number]
      To: <sip:[field0]@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      Expires: 3600
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="401" auth="true"/>
  <send retrans="500">
    <![CDATA[
      REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[field0]@[remote_ip]>;tag=[pid]reg[call_number]
      To: <sip:[field0]@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 2 REGISTER
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      [field1]
      Expires: 3600
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
</scenario>
"""

# The agent's phone: rings (180), answers at once or after ring_ms with SDP
# on the echo port, and waits for the BYE. A CANCEL while ringing gets 200
# and then 487 for the INVITE.
_AGENT = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="bench agent phone">
  <recv request="INVITE" crlf="true"/>
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>
  {ring}
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=agent 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
  <recv request="BYE"/>
  <send next="done">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  {cancel}
  <label id="done"/>
  <timewait milliseconds="2000"/>
</scenario>
"""

_AGENT_RING = """<recv request="CANCEL" next="cancel" timeout="{ms}" ontimeout="answer"/>
  <label id="answer"/>"""

_AGENT_CANCEL = """
  <label id="cancel"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <send>
    <![CDATA[
      SIP/2.0 487 Request Terminated
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      CSeq: [last_cseq_number] INVITE
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK"/>
"""

# The customer: calls the number given with -s from a unique number, streams
# a tone once answered, hangs up after the pause (-d).
_CUSTOMER = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="bench customer">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Bench" <sip:{ani_prefix}[call_number]@[local_ip]:[local_port]>;tag=[pid]c[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:{ani_prefix}[call_number]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=customer 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [rtpstream_audio_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Bench" <sip:{ani_prefix}[call_number]@[local_ip]:[local_port]>;tag=[pid]c[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:{ani_prefix}[call_number]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <nop>
    <action>
      <exec rtp_stream="{tone},-1,0,PCMU/8000"/>
    </action>
  </nop>
  <pause/>
  <send retrans="500">
    <![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Bench" <sip:{ani_prefix}[call_number]@[local_ip]:[local_port]>;tag=[pid]c[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:{ani_prefix}[call_number]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
"""


def _ulaw(sample: int) -> int:
    """G.711 mu-law encoding of one 16-bit linear sample."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), clip) + bias
    exponent = 7
    for exp in range(7, -1, -1):
        if magnitude & (0x4000 >> (7 - exp)):
            exponent = exp
            break
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def write_scenarios(workdir: Path, *, ring_ms: int, ani_prefix: str) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "register.xml").write_text(_REGISTER)
    if ring_ms > 0:
        ring = _AGENT_RING.replace("{ms}", str(ring_ms))
        agent = _AGENT.replace("{ring}", ring).replace("{cancel}", _AGENT_CANCEL)
    else:
        agent = _AGENT.replace("{ring}", "").replace("{cancel}", "")
    (workdir / "agent.xml").write_text(agent)
    tone = workdir / TONE_FILE
    (workdir / "customer.xml").write_text(
        _CUSTOMER.replace("{ani_prefix}", ani_prefix).replace("{tone}", str(tone))
    )
    # one second of a 440 Hz tone at 8 kHz, mu-law, looped by SIPp
    tone.write_bytes(
        bytes(_ulaw(int(8000 * math.sin(2 * math.pi * 440 * n / 8000))) for n in range(8000))
    )


class SippProcess:
    """One SIPp process of ours: started in its own session, stopped by its PID."""

    def __init__(self, name: str, argv: list[str], workdir: Path) -> None:
        self.name = name
        self.argv = [SIPP, *argv, "-nostdin"]
        self.workdir = workdir
        self.stat_file = workdir / f"{name}.stat.csv"
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.stat_file.unlink(missing_ok=True)
        argv = [*self.argv, "-trace_stat", "-stf", str(self.stat_file), "-fd", "1"]
        argv += ["-trace_err", "-error_file", str(self.workdir / f"{self.name}.errors.log")]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                argv,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout: float) -> int | None:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float = 5.0) -> None:
        """SIGUSR1 (SIPp's own graceful quit), then SIGTERM, then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGUSR1, grace), (signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, sig)
            if self.wait(wait) is not None:
                return

    def stats(self) -> dict[str, str]:
        """The last line of SIPp's statistics file, by column name."""
        try:
            lines = self.stat_file.read_text(errors="replace").strip().splitlines()
        except FileNotFoundError:
            return {}
        if len(lines) < 2:
            return {}
        header = lines[0].split(";")
        return dict(zip(header, lines[-1].split(";"), strict=False))

    def count(self, column: str) -> int:
        try:
            return int(self.stats().get(column, "0") or 0)
        except ValueError:
            return 0


def register_agents(workdir: Path, exts: list[int], password: str, timeout: float = 60.0) -> None:
    """Register every agent from the agents' SIPp address; raise if one fails."""
    csv = workdir / "agents.csv"
    # SIPp expands no keyword inside [authentication ...]: the field holds all of it
    csv.write_text(
        "SEQUENTIAL\n"
        + "".join(f"{e};[authentication username={e} password={password}]\n" for e in exts)
    )
    rate = min(200, len(exts))
    proc = SippProcess(
        "register",
        [
            "-sf", "register.xml", "-inf", str(csv),
            "-i", AGENT_IP, "-p", str(AGENT_SIP_PORT),
            "-m", str(len(exts)), "-r", str(rate), "-l", "50",
            ASTERISK_SIP,
        ],
        workdir,
    )  # fmt: skip
    proc.start()
    code = proc.wait(timeout)
    if code is None:
        proc.stop()
        raise RuntimeError(f"agent registration did not finish within {timeout:.0f} s")
    ok = proc.count("SuccessfulCall(C)")
    if code != 0 or ok != len(exts):
        raise RuntimeError(
            f"agent registration: {ok}/{len(exts)} registered (exit {code}); see {proc.log_path}"
        )


def agent_phones(workdir: Path) -> SippProcess:
    """All agents' phones (the ring time is in the scenario: ``write_scenarios``)."""
    return SippProcess(
        "agents",
        [
            "-sf", "agent.xml",
            "-i", AGENT_IP, "-p", str(AGENT_SIP_PORT),
            "-mi", AGENT_IP, "-mp", str(AGENT_MEDIA_PORT), "-rtp_echo",
            "-max_socket", "10000",
        ],
        workdir,
    )  # fmt: skip


def customers(
    workdir: Path, *, number: str, rate: float, total: int, limit: int, hold_ms: int
) -> SippProcess:
    return SippProcess(
        f"customers-{number}",
        [
            "-sf", "customer.xml", "-s", number,
            "-i", devstack.CARRIER_IP, "-p", str(CUSTOMER_SIP_PORT),
            "-mi", devstack.CARRIER_IP, "-mp", str(CUSTOMER_MEDIA_PORT),
            "-r", f"{rate:g}", "-m", str(total), "-l", str(limit),
            "-d", str(hold_ms),
            "-max_socket", "10000",
            ASTERISK_SIP,
        ],
        workdir,
    )  # fmt: skip
