// The event stream (GET /v1/events, a WebSocket authenticated by the session
// cookie). On every (re)connect the desktop reads the snapshot (GET /v1/me),
// replaces its state with it, then applies the events that came meanwhile
// and after (DSK-13). A lost connection is retried with capped backoff.

import { Api, ApiError } from './api';
import {
  _orderingState,
  applyEvent,
  applySnapshot,
  connection,
  interaction,
  variables,
} from './store';
import { parseTime } from './store/clock';
import type { Me, ServerEvent } from './types';

export interface EventStreamOptions {
  api: Api;
  /** The session is gone (401) or replaced: back to sign-in. */
  onSignedOut: (why: 'ended' | 'replaced') => void;
  url?: string;
  /** WebSocket constructor (tests pass a fake). */
  socket?: (url: string) => WebSocket;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** How often the session is checked while the socket seems open (0: never). */
  watchdogMs?: number;
}

/** The close code of an event socket whose session is over (ended or replaced). */
export const SESSION_OVER = 4001;

export function eventsUrl(loc: Location = window.location): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/v1/events`;
}

/** The snapshot's agent state is older than the one the events already showed. */
function isOlderThanShown(me: Me): boolean {
  const shown = _orderingState().since;
  const at = parseTime(me.agent.since);
  return shown !== null && at !== null && at < shown;
}

export class EventStream {
  private ws: WebSocket | null = null;
  private attempts = 0;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private syncing = false;
  private buffer: ServerEvent[] = [];
  private generation = 0;
  private refreshing: Promise<void> | null = null;
  /** An event asked for the snapshot while one was on its way: read it once more after. */
  private refreshAgain = false;
  private readonly minDelay: number;
  private readonly maxDelay: number;
  private watchdog: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly opts: EventStreamOptions) {
    this.minDelay = opts.minDelayMs ?? 250;
    this.maxDelay = opts.maxDelayMs ?? 1000;
  }

  start(): void {
    this.stopped = false;
    if (typeof window !== 'undefined') {
      window.addEventListener('online', this.onOnline);
      window.addEventListener('offline', this.onOffline);
    }
    const every = this.opts.watchdogMs ?? 15000;
    if (every > 0) this.watchdog = setInterval(() => void this.check(), every);
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (typeof window !== 'undefined') {
      window.removeEventListener('online', this.onOnline);
      window.removeEventListener('offline', this.onOffline);
    }
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.close(1000);
    }
  }

  /** The delay before the n-th retry: doubling from the minimum, capped. */
  delay(attempt: number): number {
    return Math.min(this.maxDelay, this.minDelay * 2 ** Math.max(0, attempt - 1));
  }

  private onOnline = (): void => {
    if (!this.ws || this.ws.readyState !== 1) {
      if (this.retry) clearTimeout(this.retry);
      this.retry = null;
      this.connect();
    }
  };

  private onOffline = (): void => {
    connection.value = 'lost';
  };

  /** A socket can look open on a network that is gone: the session is
   * asked now and then; when the service cannot be reached the socket is
   * dropped and connected again (a new snapshot follows). */
  private async check(): Promise<void> {
    if (this.stopped || !this.ws || this.syncing) return;
    try {
      await this.opts.api.currentSession();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        this.signedOut('ended');
      } else if (error instanceof ApiError && error.status === 0 && this.ws) {
        const ws = this.ws;
        this.ws = null;
        ws.onclose = null;
        ws.close();
        void this.scheduleRetry(true);
      }
    }
  }

  private connect(): void {
    if (this.stopped) return;
    const gen = ++this.generation;
    const url = this.opts.url ?? eventsUrl();
    let ws: WebSocket;
    try {
      ws = this.opts.socket ? this.opts.socket(url) : new WebSocket(url);
    } catch {
      void this.scheduleRetry(false);
      return;
    }
    this.ws = ws;
    let opened = false;
    this.syncing = true;
    this.buffer = [];
    ws.onopen = () => {
      if (gen !== this.generation) return;
      opened = true;
      void this.sync(gen);
    };
    ws.onmessage = (msg: MessageEvent) => {
      if (gen !== this.generation) return;
      let event: ServerEvent;
      try {
        event = JSON.parse(String(msg.data)) as ServerEvent;
      } catch {
        return;
      }
      if (event.type === 'hello') return;
      if (this.syncing) this.buffer.push(event);
      else this.handle(event);
    };
    ws.onclose = (e: CloseEvent) => {
      if (gen !== this.generation) return;
      this.ws = null;
      if (e.code === SESSION_OVER) {
        // The session ended or was replaced (its event came first, if at all).
        void this.checkSession();
        return;
      }
      void this.scheduleRetry(opened);
    };
    ws.onerror = () => {
      // onclose follows
    };
  }

  private async sync(gen: number): Promise<void> {
    try {
      const me = await this.opts.api.me();
      if (gen !== this.generation) return;
      applySnapshot(me);
      this.attempts = 0;
      const snapshotAt = parseTime(me.server_time) ?? 0;
      const { seq } = _orderingState();
      const pending = this.buffer;
      this.buffer = [];
      this.syncing = false;
      for (const event of pending) {
        // What happened before the snapshot is in it already; agent states
        // are ordered by their seq where the snapshot names one.
        const at = parseTime(event.at) ?? Number.POSITIVE_INFINITY;
        const isState = event.type === 'agent.state';
        if (isState && seq !== null) this.handle(event);
        else if (at >= snapshotAt) this.handle(event);
      }
      connection.value = 'live';
      if (interaction.value && interaction.value.status === 'connected' && !variables.value) {
        void this.loadVariables(interaction.value.id);
      }
    } catch (error) {
      if (gen !== this.generation) return;
      if (error instanceof ApiError && error.status === 401) {
        this.signedOut('ended');
        return;
      }
      // The snapshot failed: drop this connection and try again.
      const ws = this.ws;
      this.ws = null;
      if (ws) {
        ws.onclose = null;
        ws.close();
      }
      void this.scheduleRetry(false);
    }
  }

  private handle(event: ServerEvent): void {
    const effect = applyEvent(event);
    if (effect === 'replaced') this.signedOut('replaced');
    else if (effect === 'ended') this.signedOut('ended');
    else if (effect === 'refresh') void this.refresh();
    else if (effect === 'variables') {
      const ix = interaction.value;
      if (ix) void this.loadVariables(ix.id);
    }
  }

  /** Reads the snapshot again (after events whose whole effect only it shows). */
  refresh(): Promise<void> {
    if (this.refreshing) {
      // The snapshot on its way may have been read before this event's change.
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      try {
        let me = await this.opts.api.me();
        // A snapshot read while the agent's state changed may be older than
        // an agent.state event applied meanwhile: it is read again.
        for (let i = 0; i < 3 && isOlderThanShown(me); i++) {
          await new Promise((resolve) => setTimeout(resolve, 150));
          me = await this.opts.api.me();
        }
        applySnapshot(me);
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) this.signedOut('ended');
      } finally {
        this.refreshing = null;
        if (this.refreshAgain) {
          this.refreshAgain = false;
          void this.refresh();
        }
      }
    })();
    return this.refreshing;
  }

  private async loadVariables(ixId: string): Promise<void> {
    try {
      const view = await this.opts.api.variables(ixId);
      if (interaction.value?.id === ixId) variables.value = view;
    } catch {
      // shown from the next snapshot
    }
  }

  private async scheduleRetry(wasOpen: boolean): Promise<void> {
    if (this.stopped) return;
    connection.value = 'lost';
    this.syncing = false;
    this.attempts += 1;
    if (!wasOpen && this.attempts >= 2) {
      // A socket that never opens may mean the session is gone.
      try {
        await this.opts.api.currentSession();
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) {
          this.signedOut('ended');
          return;
        }
      }
    }
    if (this.stopped) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.connect();
    }, this.delay(this.attempts));
  }

  private async checkSession(): Promise<void> {
    try {
      await this.opts.api.currentSession();
      void this.scheduleRetry(true);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) this.signedOut('ended');
      else void this.scheduleRetry(true);
    }
  }

  private signedOut(why: 'ended' | 'replaced'): void {
    this.stop();
    this.opts.onSignedOut(why);
  }
}
