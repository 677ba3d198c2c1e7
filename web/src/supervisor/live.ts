// The console's live view (SUP-1..SUP-3, SUP-5): the batched WebSocket
// /v1/supervisor/events (a snapshot, then deltas of changed rows) and the
// tenant's events on /v1/events (the supervision's progress, and the end of
// the session). Both reconnect with capped backoff; the view socket sends a
// fresh snapshot on every connect, so nothing is missed.

import { effect, signal } from '@preact/signals';
import { api, ApiError } from '../api';
import { SESSION_OVER } from '../events';
import type { BrowserPhone } from '../phone/types';
import { resetClock, sampleClock } from '../store/clock';
import type { ServerEvent } from '../types';
import type { AgentRow, Delta, QueueRow, Snapshot, Supervision } from './types';

export const snapshot = signal<Snapshot | null>(null);
export const liveState = signal<'connecting' | 'live' | 'lost'>('connecting');
/** The supervision this console started (one at a time), as last told. */
export const supervision = signal<Supervision | null>(null);
/** Why the last supervision stopped (shown until the next one starts). */
export const stoppedReason = signal<string | null>(null);

/** Supervision events of the call being started, kept until the start's
 * answer came: the phone may answer (and the event arrive on the other
 * socket) before the request's response does. */
let pending: { interaction: string; events: ServerEvent[] } | null = null;

/** The interaction whose supervision is being requested, if any. */
export function expectedSupervision(): string | null {
  return pending?.interaction ?? null;
}

/** A supervision is being requested for `interaction`: its events are kept. */
export function expectSupervision(interaction: string): void {
  pending = { interaction, events: [] };
}

/** The start was refused: nothing is expected any more. */
export function forgetExpectation(): void {
  pending = null;
}

/** Keeps a supervision event of the call being started (see `pending`). */
export function noteSupervisionEvent(event: ServerEvent): void {
  const about = (event.data as { interaction?: string }).interaction;
  if (pending && about === pending.interaction) pending.events.push(event);
}

/** The start's answer: the supervision, with the events that came first applied. */
export function startedSupervision(started: Supervision): void {
  let current: Supervision | null = started;
  const early = pending?.interaction === started.interaction ? pending.events : [];
  pending = null;
  stoppedReason.value = null;
  for (const event of early) {
    if (event.type === 'interaction.supervision_stopped')
      stoppedReason.value = (event.data as { reason?: string }).reason ?? 'stopped';
    current = applySupervisionEvent(current, event);
  }
  supervision.value = current;
}

/** SUP-5: the console answers the call to its browser phone that names the
 * supervision it asked for (the INVITE's X-CP-Supervision): the
 * supervisor's own request, so it does not ring. It takes no other call:
 * one it did not ask for is refused at once. Returns the stop function. */
export function autoAnswer(
  phone: Pick<BrowserPhone, 'incoming' | 'incomingSupervision' | 'answer' | 'hangup'>,
): () => void {
  let answering = false; // (once per incoming call)
  return effect(() => {
    const ringing = phone.incoming.value;
    const about = phone.incomingSupervision.value;
    if (!ringing) {
      answering = false;
      return;
    }
    if (answering) return;
    const wanted = expectedSupervision() ?? supervision.value?.interaction ?? null;
    if (about !== null && about === wanted) {
      answering = true;
      phone.answer();
    } else phone.hangup();
  });
}

function merge<T extends { id: string }>(rows: T[], changed: T[] | undefined, removed: string[] | undefined): T[] {
  if (!changed?.length && !removed?.length) return rows;
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const row of changed ?? []) byId.set(row.id, row);
  for (const id of removed ?? []) byId.delete(id);
  // keep the order the service gives (by ID), new rows in place
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A snapshot with a delta applied: changed rows replaced by ID, removed ones gone. */
export function applyDelta(current: Snapshot, delta: Delta): Snapshot {
  return {
    ...current,
    server_time: delta.server_time ?? current.server_time,
    day: delta.day ?? current.day,
    queues: merge<QueueRow>(current.queues, delta.queues, delta.queues_removed),
    agents: merge<AgentRow>(current.agents, delta.agents, delta.agents_removed),
    limits: delta.limits ?? current.limits,
  };
}

/** A supervision event applied to the console's supervision (only its own call's). */
export function applySupervisionEvent(current: Supervision | null, event: ServerEvent): Supervision | null {
  const data = event.data as Partial<Supervision> & { interaction?: string; reason?: string };
  if (!current || data.interaction !== current.interaction) return current;
  switch (event.type) {
    case 'interaction.supervision_started':
      return { ...current, state: 'active', mode: (data.mode as Supervision['mode']) ?? current.mode };
    case 'interaction.supervision_switched':
      return { ...current, mode: (data.mode as Supervision['mode']) ?? current.mode };
    case 'interaction.supervision_stopped':
      return null;
    default:
      return current;
  }
}

function wsUrl(path: string): string {
  const loc = window.location;
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}${path}`;
}

export class Live {
  private view: WebSocket | null = null;
  private events: WebSocket | null = null;
  private stopped = false;
  private viewAttempts = 0;
  private eventAttempts = 0;
  private timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly onSignedOut: (why: 'ended' | 'replaced') => void) {}

  start(): void {
    this.stopped = false;
    this.connectView();
    this.connectEvents();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const ws of [this.view, this.events]) {
      if (ws) {
        ws.onclose = null;
        ws.close(1000);
      }
    }
    this.view = null;
    this.events = null;
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private delay(attempt: number): number {
    return Math.min(2000, 250 * 2 ** Math.max(0, attempt - 1));
  }

  /** A socket closed unexpectedly: is the session still there? */
  private async sessionGone(): Promise<boolean> {
    try {
      await api.currentSession();
      return false;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        this.signedOut('ended');
        return true;
      }
      return false;
    }
  }

  private signedOut(why: 'ended' | 'replaced'): void {
    if (this.stopped) return;
    this.stop();
    this.onSignedOut(why);
  }

  private connectView(): void {
    if (this.stopped) return;
    const ws = new WebSocket(wsUrl('/v1/supervisor/events'));
    this.view = ws;
    ws.onmessage = (msg: MessageEvent<string>) => {
      let data: ({ type: string } & Partial<Snapshot> & Delta) | null = null;
      try {
        data = JSON.parse(msg.data) as { type: string } & Partial<Snapshot> & Delta;
      } catch {
        return;
      }
      if (data.type === 'snapshot') {
        this.viewAttempts = 0;
        snapshot.value = data as unknown as Snapshot;
        // the server's word on this supervisor's own supervision (after a
        // reload the bar comes back); a start under way keeps its own course
        if (data.supervision !== undefined && pending === null) supervision.value = data.supervision;
        if (data.server_time) resetClock(data.server_time);
        liveState.value = 'live';
      } else if (data.type === 'delta' && snapshot.value) {
        snapshot.value = applyDelta(snapshot.value, data);
        if (data.server_time) sampleClock(data.server_time);
      }
    };
    ws.onclose = () => {
      if (this.stopped || this.view !== ws) return;
      liveState.value = 'lost';
      this.viewAttempts += 1;
      void this.sessionGone().then((gone) => {
        if (!gone) this.later(() => this.connectView(), this.delay(this.viewAttempts));
      });
    };
  }

  private connectEvents(): void {
    if (this.stopped) return;
    const ws = new WebSocket(wsUrl('/v1/events'));
    this.events = ws;
    ws.onopen = () => (this.eventAttempts = 0);
    ws.onmessage = (msg: MessageEvent<string>) => {
      let event: ServerEvent | null = null;
      try {
        event = JSON.parse(msg.data) as ServerEvent;
      } catch {
        return;
      }
      if (event.type === 'session.replaced') return this.signedOut('replaced');
      if (event.type === 'session.ended') return this.signedOut('ended');
      if (event.type.startsWith('interaction.supervision_')) {
        noteSupervisionEvent(event);
        if (event.type === 'interaction.supervision_stopped') {
          const data = event.data as { interaction?: string; reason?: string };
          if (supervision.value && data.interaction === supervision.value.interaction)
            stoppedReason.value = data.reason ?? 'stopped';
        }
        supervision.value = applySupervisionEvent(supervision.value, event);
      }
    };
    ws.onclose = (e: CloseEvent) => {
      if (this.stopped || this.events !== ws) return;
      if (e.code === SESSION_OVER) return this.signedOut('ended');
      this.eventAttempts += 1;
      void this.sessionGone().then((gone) => {
        if (!gone) this.later(() => this.connectEvents(), this.delay(this.eventAttempts));
      });
    };
  }
}
