// DSK-13: a snapshot read again after an event (refresh) that is older than
// an agent.state event applied meanwhile is not shown: it is read again.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Api } from './api';
import { EventStream } from './events';
import { agent, clearAll } from './store';
import { FakeSocket, flush, snapshot } from './events.testkit';
import type { Me } from './types';

beforeEach(() => {
  vi.useFakeTimers();
  clearAll();
  FakeSocket.all = [];
});
afterEach(() => vi.useRealTimers());

describe('a refresh racing an agent.state event', () => {
  it('reads the snapshot again when it is older than the state shown', async () => {
    const answers = [
      snapshot('idle', '2026-12-05T12:00:00.000+00:00'), // on connect
      snapshot('reserved', '2026-12-05T12:00:05.000+00:00'), // read before the attempt failed
      snapshot('idle', '2026-12-05T12:00:07.000+00:00'), // read again
    ];
    const resolvers: ((m: Me) => void)[] = [];
    const api = new Api('', async () => new Response('{}'));
    api.me = vi.fn(() => new Promise<Me>((resolve) => resolvers.push(resolve))) as unknown as Api['me'];
    const s = new EventStream({ api, onSignedOut: vi.fn(), url: 'ws://x/v1/events', socket: (u) => new FakeSocket(u) as unknown as WebSocket });
    s.start();
    const ws = FakeSocket.all[0]!;
    ws.open();
    resolvers.shift()!(answers[0]!);
    await flush();
    expect(agent.value?.state).toBe('idle');

    // The outdial failed: the desktop reads the snapshot; meanwhile the agent is idle again.
    ws.send({ type: 'interaction.outdial_failed', at: '2026-12-05T12:00:06.000+00:00', data: { interaction_id: 'x', outcome: 'busy' } });
    await flush();
    ws.send({ type: 'agent.state', at: '2026-12-05T12:00:07.000+00:00', data: { agent: 'alice', seq: 9, previous: 'reserved', state: 'idle', reason: 'break', timestamp: '2026-12-05T12:00:07.000+00:00' } });
    expect(agent.value?.state).toBe('idle');
    resolvers.shift()!(answers[1]!); // the stale snapshot (reserved)
    await flush();
    expect(agent.value?.state).toBe('idle'); // not shown
    await vi.advanceTimersByTimeAsync(200);
    resolvers.shift()!(answers[2]!);
    await flush();
    expect(agent.value?.state).toBe('idle');
    expect(api.me).toHaveBeenCalledTimes(3);
    s.stop();
  });

  it('reads the snapshot once more when an event asked for it while one was on its way', async () => {
    const resolvers: ((m: Me) => void)[] = [];
    const api = new Api('', async () => new Response('{}'));
    api.me = vi.fn(() => new Promise<Me>((resolve) => resolvers.push(resolve))) as unknown as Api['me'];
    const s = new EventStream({ api, onSignedOut: vi.fn(), url: 'ws://x/v1/events', socket: (u) => new FakeSocket(u) as unknown as WebSocket });
    s.start();
    const ws = FakeSocket.all[0]!;
    ws.open();
    resolvers.shift()!(snapshot('connected', '2026-12-05T12:00:00.000+00:00'));
    await flush();
    // consult requested, then answered, while the first snapshot is on its way
    ws.send({ type: 'interaction.consult_requested', at: '2026-12-05T12:00:01.000+00:00', data: { interaction_id: 'x' } });
    await flush();
    ws.send({ type: 'interaction.consult_connected', at: '2026-12-05T12:00:02.000+00:00', data: { interaction_id: 'x' } });
    await flush();
    expect(api.me).toHaveBeenCalledTimes(2);
    resolvers.shift()!(snapshot('connected', '2026-12-05T12:00:00.000+00:00'));
    await flush();
    expect(api.me).toHaveBeenCalledTimes(3); // read again: the first may predate the answer
    resolvers.shift()!(snapshot('connected', '2026-12-05T12:00:00.000+00:00'));
    await flush();
    expect(api.me).toHaveBeenCalledTimes(3);
    s.stop();
  });
});
