"""Local development stack: Asterisk 22 in a chroot, and Redis.

Used by the pytest fixtures, the benchmarks and ``controlplane dev up/down``;
it runs from a source checkout (it needs ``asterisk-conf/`` and ``dialplans/``)
and is not part of the installed package. Everything
here is synchronous and uses the standard library only. Three runners, each
with a pidfile and a log in its run directory, all refusing to start on a
port that is taken: ``AsteriskRunner``, ``RedisRunner`` and ``ServiceRunner``
(the control plane itself, ``python -m controlplane serve``).

Asterisk runs from the Debian rootfs built by ``asterisk-conf/build-rootfs.sh``
as ``unshare --pid --fork --kill-child --mount-proc=ROOT/proc chroot ROOT
/bin/sh -c "asterisk -f & wait"``:

- its own mount namespace: the /proc it needs is mounted only inside it, so
  nothing is ever left mounted on the host;
- its own PID namespace, whose PID 1 is that small root shell. If the
  ``unshare`` process dies, ``--kill-child`` kills the shell and the kernel
  then kills everything else in the namespace. (Asterisk itself cannot be
  PID 1 here: it drops to the ``asterisk`` user, and a change of user clears
  the parent-death signal that ``--kill-child`` relies on.)

It listens on loopback only: SIP 127.0.0.1:5060/udp, HTTP/ARI (and SIP
over WebSocket, /ws) 127.0.0.1:8088 and AMI 127.0.0.1:5038. Browser
phones' media uses the WebRTC media address given to ``AsteriskRunner``
(``dev up``: ``$CONTROLPLANE_WEBRTC_MEDIA``), else loopback.

The credentials below are the local-demo defaults of ``asterisk-conf/etc``;
they are valid only on this machine's loopback interface.
"""

from devstack.asterisk import AsteriskRunner, ensure_rootfs
from devstack.base import (
    AGENT_EXTENSIONS,
    AGENT_PHONE_PASSWORD,
    AMI_PORT,
    AMI_SECRET,
    AMI_USERNAME,
    ARI_PASSWORD,
    ARI_PORT,
    ARI_URL,
    ARI_USERNAME,
    CARRIER_IP,
    DEFAULT_RUN_DIR,
    LOOPBACK,
    REPO_ROOT,
    SIP_PORT,
    STASIS_APP,
    DevStackError,
)
from devstack.redis_server import RedisRunner
from devstack.service import ServiceRunner
from devstack.stack import WEBRTC_MEDIA_ENV, down, up, webrtc_media_from_env

__all__ = [
    "AGENT_EXTENSIONS",
    "AGENT_PHONE_PASSWORD",
    "AMI_PORT",
    "AMI_SECRET",
    "AMI_USERNAME",
    "ARI_PASSWORD",
    "ARI_PORT",
    "ARI_URL",
    "ARI_USERNAME",
    "CARRIER_IP",
    "DEFAULT_RUN_DIR",
    "LOOPBACK",
    "REPO_ROOT",
    "SIP_PORT",
    "STASIS_APP",
    "WEBRTC_MEDIA_ENV",
    "AsteriskRunner",
    "DevStackError",
    "RedisRunner",
    "ServiceRunner",
    "down",
    "ensure_rootfs",
    "up",
    "webrtc_media_from_env",
]
