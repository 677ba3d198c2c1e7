import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Api, ApiError } from './api';
import { EventStream, SESSION_OVER } from './events';
import { agent, clearAll, connection, interaction } from './store';
import { FakeSocket, flush, snapshot } from './events.testkit';
import type { Me } from './types';

function stateEvent(seq: number, state: string, ts: string) {
  return { type: 'agent.state', at: ts, data: { agent: 'alice', seq, previous: 'idle', state, reason: null, timestamp: ts } };
}

let api: Api;
let me: ReturnType<typeof vi.fn>;
let resolveMe: ((m: Me) => void) | null;

beforeEach(() => {
  vi.useFakeTimers();
  clearAll();
  FakeSocket.all = [];
  api = new Api('', async () => new Response('{}'));
  resolveMe = null;
  me = vi.fn(() => new Promise<Me>((resolve) => (resolveMe = resolve)));
  api.me = me as unknown as Api['me'];
});
afterEach(() => vi.useRealTimers());

function stream(onSignedOut = vi.fn(), watchdogMs = 0) {
  const s = new EventStream({ api, onSignedOut, url: 'ws://x/v1/events', watchdogMs, socket: (u) => new FakeSocket(u) as unknown as WebSocket });
  s.start();
  return s;
}

describe('the event stream (DSK-13)', () => {
  it('reads the snapshot on connect, then applies the events that came meanwhile', async () => {
    const s = stream();
    const ws = FakeSocket.all[0]!;
    ws.open();
    expect(me).toHaveBeenCalledTimes(1);
    // events while the snapshot is on its way: one from before it, one after
    ws.send(stateEvent(4, 'idle', '2026-12-05T11:59:59.000+00:00'));
    ws.send(stateEvent(6, 'available', '2026-12-05T12:00:01.000+00:00'));
    resolveMe!(snapshot('idle', '2026-12-05T12:00:00.000+00:00', { agent: { ...snapshot('idle', '2026-12-05T12:00:00.000+00:00').agent, seq: 5 } }));
    await flush();
    expect(agent.value?.state).toBe('available');
    expect(agent.value?.seq).toBe(6);
    expect(connection.value).toBe('live');
    s.stop();
  });

  it('reconnects with capped backoff and replaces the state with a fresh snapshot', async () => {
    const s = stream();
    FakeSocket.all[0]!.open();
    resolveMe!(snapshot('connected', '2026-12-05T12:00:00.000+00:00', { interaction: { id: 'ix1', status: 'connected' } as never }));
    await flush();
    expect(interaction.value?.id).toBe('ix1');
    FakeSocket.all[0]!.close();
    await flush();
    expect(connection.value).toBe('lost');
    expect(s.delay(1)).toBe(250);
    expect(s.delay(2)).toBe(500);
    expect(s.delay(3)).toBe(1000);
    expect(s.delay(10)).toBe(1000);
    vi.advanceTimersByTime(250);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.all[1]!.open();
    resolveMe!(snapshot('wrap_up', '2026-12-05T12:00:05.000+00:00'));
    await flush();
    expect(agent.value?.state).toBe('wrap_up');
    expect(interaction.value).toBeNull();
    expect(connection.value).toBe('live');
    s.stop();
  });

  it('returns to sign-in when the session is replaced', async () => {
    const out = vi.fn();
    stream(out);
    FakeSocket.all[0]!.open();
    resolveMe!(snapshot('idle', '2026-12-05T12:00:00.000+00:00'));
    await flush();
    FakeSocket.all[0]!.send({ type: 'session.replaced', data: {} });
    expect(out).toHaveBeenCalledWith('replaced');
  });

  it('checks the session when the socket closes as "session over"', async () => {
    const out = vi.fn();
    api.currentSession = vi.fn(async () => {
      throw new ApiError(401, { error_id: 'unauthorized', message: 'no', details: {} });
    });
    stream(out);
    FakeSocket.all[0]!.open();
    resolveMe!(snapshot('idle', '2026-12-05T12:00:00.000+00:00'));
    await flush();
    FakeSocket.all[0]!.close(SESSION_OVER);
    await flush();
    expect(out).toHaveBeenCalledWith('ended');
  });

  it('drops a socket that looks open when the service cannot be reached, and reconnects', async () => {
    api.currentSession = vi.fn(async () => {
      throw new ApiError(0, { message: 'network error' });
    });
    const s = stream(vi.fn(), 15000);
    FakeSocket.all[0]!.open();
    resolveMe!(snapshot('idle', '2026-12-05T12:00:00.000+00:00'));
    await flush();
    expect(connection.value).toBe('live');
    vi.advanceTimersByTime(15000);
    await flush();
    expect(connection.value).toBe('lost');
    vi.advanceTimersByTime(250);
    expect(FakeSocket.all).toHaveLength(2);
    s.stop();
  });
});
