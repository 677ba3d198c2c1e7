// The desktop's state, as signals. The server is the only truth (DSK-13):
// a snapshot (GET /v1/me) replaces everything, then events are applied.

import { batch, computed, signal } from '@preact/signals';
import type {
  AgentRecord,
  AgentState,
  AgentStateData,
  DesktopConfig,
  Interaction,
  Me,
  Offer,
  ServerEvent,
  Session,
  Variable,
  VariablesView,
} from '../types';
import { parseTime, resetClock, sampleClock } from './clock';

export * from './clock';

export const session = signal<Session | null>(null);
export const agent = signal<AgentRecord | null>(null);
export const config = signal<DesktopConfig | null>(null);
/** The call the agent is on (connected, held, dialling, or ended and in wrap-up). */
export const interaction = signal<Interaction | null>(null);
/** An offer ringing for the agent (DSK-2). */
export const offer = signal<Offer | null>(null);
/** The consult going on for the current call, as the service last told it. */
export const consult = signal<unknown>(null);
/** The call's variables as last saved (DSK-5); drafts live in the form. */
export const variables = signal<VariablesView | null>(null);
/** The server time of the last event or snapshot. */
export const lastEventAt = signal<string | null>(null);
/** Whether the event stream is connected and the snapshot applied. */
export const connection = signal<'connecting' | 'live' | 'lost'>('connecting');
/** Why the session ended, shown on the sign-in screen. */
export const signedOutReason = signal<'ended' | 'replaced' | null>(null);

/** The last agent.state change applied (its `seq`), for ordering. */
let agentSeq: number | null = null;
/** The time of the state shown, for ordering when no `seq` is known. */
let agentSince: number | null = null;

export const agentState = computed<AgentState | null>(() => agent.value?.state ?? null);

export interface Notice {
  id: number;
  text: string;
  tone: 'info' | 'error';
}
export const notices = signal<Notice[]>([]);
let noticeId = 0;

export function notify(text: string, tone: Notice['tone'] = 'error', ttlMs = 8000): void {
  const id = ++noticeId;
  notices.value = [...notices.value.filter((n) => n.text !== text), { id, text, tone }];
  if (ttlMs > 0) setTimeout(() => dismiss(id), ttlMs);
}

export function dismiss(id: number): void {
  notices.value = notices.value.filter((n) => n.id !== id);
}

// Snapshot --------------------------------------------------------------------------

/** Replaces the whole state with a snapshot of GET /v1/me. */
export function applySnapshot(me: Me, localNow = Date.now()): void {
  batch(() => {
    resetClock(me.server_time, localNow);
    config.value = me.config;
    agent.value = me.agent;
    agentSeq = typeof me.agent.seq === 'number' ? me.agent.seq : null;
    agentSince = parseTime(me.agent.since);
    const ix = me.interaction;
    if (ix && ix.status === 'ringing' && me.agent.state === 'reserved') {
      offer.value = me.offer ?? offerOf(ix, me.variables?.variables ?? []);
      interaction.value = null;
    } else {
      offer.value = me.offer ?? null;
      interaction.value = ix;
    }
    consult.value = me.consult ?? null;
    variables.value = me.variables;
    lastEventAt.value = me.server_time;
  });
}

function offerOf(ix: Interaction, vars: Variable[]): Offer {
  return {
    interaction_id: ix.id,
    direction: ix.direction,
    label: ix.label,
    ani: ix.ani,
    dnis: ix.dnis,
    queue: ix.queue,
    queue_name: ix.queue_name,
    variables: vars,
    status: 'ringing',
    entered_at: ix.entered_at,
    kind: ix.kind,
  };
}

export function clearAll(): void {
  batch(() => {
    session.value = null;
    agent.value = null;
    config.value = null;
    interaction.value = null;
    offer.value = null;
    consult.value = null;
    variables.value = null;
    notices.value = [];
    connection.value = 'connecting';
  });
  agentSeq = null;
  agentSince = null;
}

// Events ----------------------------------------------------------------------------

/** Hooks for events others handle (dialogs); each gets every event. */
type Listener = (event: ServerEvent) => void;
const listeners = new Set<Listener>();
export function onEvent(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** What the event stream should do after an event (refetch the snapshot, sign out). */
export type EventEffect = 'none' | 'refresh' | 'replaced' | 'ended' | 'variables';

/** Applies one event; answers what else to do. */
export function applyEvent(event: ServerEvent, localNow = Date.now()): EventEffect {
  sampleClock(event.at, localNow);
  if (event.at) lastEventAt.value = event.at;
  let effect: EventEffect = 'none';
  batch(() => {
    effect = apply(event);
  });
  for (const listener of listeners) {
    try {
      listener(event);
    } catch (error) {
      console.error('event listener failed', error);
    }
  }
  return effect;
}

function asInteraction(data: unknown): Interaction | null {
  const d = data as Partial<Interaction> | null;
  return d && typeof d.id === 'string' && typeof d.status === 'string' ? (d as Interaction) : null;
}

function apply(event: ServerEvent): EventEffect {
  const data = event.data as Record<string, unknown>;
  switch (event.type) {
    case 'agent.state': {
      applyAgentState(data as unknown as AgentStateData);
      // Free of calls, yet showing one that has not ended: a snapshot read
      // while the call was ending showed it; the snapshot is read again.
      const s = agent.value?.state;
      const live = interaction.value !== null && interaction.value.status !== 'ended';
      return (s === 'available' || s === 'idle') && live ? 'refresh' : 'none';
    }
    case 'interaction.offered': {
      const o = data as unknown as Offer;
      offer.value = o;
      return 'none';
    }
    case 'interaction.consult_offered':
      // CO-2: a consult rings for this agent: shown like an offer.
      offer.value = { ...(data as unknown as Offer), status: 'ringing' };
      return 'none';
    case 'interaction.offer_withdrawn':
      if (!offer.value || offer.value.interaction_id === data['interaction_id']) offer.value = null;
      return 'none';
    case 'interaction.connected': {
      const ix = asInteraction(data);
      if (!ix) return 'none';
      if (offer.value?.interaction_id === ix.id) offer.value = null;
      interaction.value = ix;
      return 'variables';
    }
    case 'interaction.dialing':
    case 'interaction.held':
    case 'interaction.resumed':
    case 'interaction.recording_paused':
    case 'interaction.recording_resumed': {
      const ix = asInteraction(data);
      if (!ix) return 'none';
      if (offer.value?.interaction_id === ix.id) offer.value = null;
      const extra = event.type === 'interaction.recording_paused' ? { resume_at: (data['resume_at'] as string) ?? null } : {};
      const resumeAt = event.type === 'interaction.recording_resumed' ? { resume_at: null } : {};
      interaction.value = { ...ix, ...extra, ...resumeAt };
      return 'none';
    }
    case 'interaction.ended': {
      const ix = asInteraction(data);
      if (!ix) return 'none';
      if (offer.value?.interaction_id === ix.id) offer.value = null;
      if (!interaction.value || interaction.value.id === ix.id) {
        // A call that never connected (abandoned while ringing) leaves nothing to wrap up.
        interaction.value = ix.connected_at ? ix : interaction.value?.id === ix.id ? ix : null;
      }
      return 'none';
    }
    case 'interaction.wrapped_up': {
      const ix = asInteraction(data);
      if (!ix || !interaction.value || interaction.value.id === ix.id) {
        interaction.value = null;
        variables.value = null;
        consult.value = null;
      }
      return 'none';
    }
    case 'interaction.transferred': {
      // TR-6: the transferring agent leaves the call and wraps up.
      const ix = asInteraction(data);
      if (ix && interaction.value?.id === ix.id && data['from_agent'] === session.value?.agent) {
        interaction.value = { ...ix, legs: [] };
      } else if (ix && ix.agent === session.value?.agent) {
        interaction.value = ix;
        return 'refresh';
      }
      return 'none';
    }
    case 'interaction.variables_updated':
      mergeVariables(data['interaction_id'] as string, (data['variables'] as Variable[]) ?? []);
      return 'none';
    case 'interaction.outdial_failed':
    case 'interaction.callback_failed':
      if (offer.value?.interaction_id === data['interaction_id']) offer.value = null;
      return 'refresh';
    case 'session.replaced':
      return 'replaced';
    case 'session.ended':
      return 'ended';
    default:
      if (event.type.startsWith('interaction.consult') || event.type.startsWith('interaction.conference')) {
        consult.value = data;
        return 'refresh';
      }
      return 'none';
  }
}

function applyAgentState(d: AgentStateData): void {
  const at = parseTime(d.timestamp);
  if (typeof d.seq === 'number' && agentSeq !== null) {
    if (d.seq <= agentSeq) return; // older than what is shown (reached us late)
  } else if (at !== null && agentSince !== null && at < agentSince) {
    return;
  }
  if (typeof d.seq === 'number') agentSeq = d.seq;
  if (at !== null) agentSince = at;
  const prev = agent.value;
  const ixId = (d as unknown as { interaction?: string }).interaction ?? null;
  const keepsCall = d.state === 'connected' || d.state === 'wrap_up';
  agent.value = {
    id: d.agent ?? prev?.id ?? '',
    tenant: prev?.tenant ?? '',
    extension: prev?.extension ?? null,
    state: d.state,
    previous: d.previous,
    reason: d.reason,
    since: d.timestamp,
    offer: d.state === 'reserved' ? ixId ?? prev?.offer ?? null : null,
    interaction: keepsCall ? ixId ?? prev?.interaction ?? prev?.offer ?? null : null,
    seq: d.seq,
  };
  if (d.state !== 'reserved' && offer.value) offer.value = null;
  if (d.state === 'available' || d.state === 'idle' || d.state === 'logged_out' || d.state === 'rona') {
    if (interaction.value && (interaction.value.status === 'ended' || d.state === 'logged_out')) {
      interaction.value = null;
      variables.value = null;
      consult.value = null;
    }
  }
}

function mergeVariables(ixId: string, changed: Variable[]): void {
  const current = variables.value;
  if (current && current.interaction_id === ixId) {
    const byName = new Map(changed.map((v) => [v.name, v]));
    variables.value = {
      ...current,
      variables: current.variables.map((v) => byName.get(v.name) ?? v),
    };
  }
  const o = offer.value;
  if (o && o.interaction_id === ixId) {
    const byName = new Map(changed.map((v) => [v.name, v]));
    offer.value = { ...o, variables: o.variables.map((v) => byName.get(v.name) ?? v) };
  }
}

// For tests: the ordering state.
export function _orderingState(): { seq: number | null; since: number | null } {
  return { seq: agentSeq, since: agentSince };
}
