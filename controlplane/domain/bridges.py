"""Which kind of bridge an interaction's parties talk in (IN-2), and when it
changes. Pure rules: no I/O.

While a call is only its customer and its agent, their bridge (ID = the
interaction's) is a plain `mixing` bridge: Asterisk relays the two phones'
RTP natively, each packet sent on by the thread that read it, as `Queue()`
does. Before its parties change for the first time (hold, consult,
transfer, conference, supervision), both move to a `mixing,proxy_media`
bridge (`<interaction>-shared`) for the rest of the call, in which Asterisk
sends each phone a stream of its own.

Why the move, and why before the change: a bridge that relays natively
and then changes its technology in place (a third member joins, a snoop's
audiohook is attached, one of the two leaves) goes on sending each
remaining phone Asterisk's own packets under the SSRC it relayed, with
Asterisk's own sequence numbers; a phone whose sequence numbers jump back
under the same SSRC drops every further packet as late. A channel that
leaves a bridge is given a new SSRC (chan_pjsip's source change), so the
move itself starts a fresh stream on both phones. Consult and supervisor
bridges are `mixing,proxy_media` from the start, and so is the bridge of a
call to be recorded: the recorder (REC-1) joins a bridge some time after
Asterisk answered its request, and may find two phones relayed natively.
"""

from __future__ import annotations

from controlplane.domain.interaction import Interaction

DIRECT_TYPE = "mixing"  # two phones: native RTP relaying where the phones allow it
SHARED_TYPE = "mixing,proxy_media"  # every phone hears Asterisk's own stream
SHARED_SUFFIX = "-shared"


def shared_bridge_id(ix_id: str) -> str:
    """The bridge an interaction's parties move to before their first change."""
    return f"{ix_id}{SHARED_SUFFIX}"


def first_bridge(ix_id: str, recorded: bool) -> str:
    """The bridge an interaction's parties first talk in: the direct one, or
    for a call to be recorded the shared one."""
    return shared_bridge_id(ix_id) if recorded else ix_id


def shared_owner(bridge_id: str) -> str | None:
    """The interaction a shared bridge belongs to (None: not a shared bridge)."""
    if not bridge_id.endswith(SHARED_SUFFIX):
        return None
    return bridge_id.removesuffix(SHARED_SUFFIX) or None


def must_share(ix: Interaction) -> bool:
    """Whether the interaction's parties must move to a shared bridge before
    a change of parties (or a recorder): their bridge is the direct one."""
    return ix.bridge == ix.id
