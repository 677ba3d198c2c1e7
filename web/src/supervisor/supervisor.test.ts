import { signal } from '@preact/signals';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api';
import { setLang } from '../i18n';
import { st, supervisor, supErrorText } from '../i18n/supervisor';
import { filterAgents, sortAgents } from './agents';
import { csvUrl, filterQuery } from './api';
import { series, totals } from './Charts';
import {
  applyDelta,
  applySupervisionEvent,
  autoAnswer,
  expectSupervision,
  forgetExpectation,
  noteSupervisionEvent,
  startedSupervision,
  supervision,
} from './live';
import type { AgentRow, Bucket, Snapshot, Supervision } from './types';

afterEach(() => setLang('en'));

function agent(id: string, over: Partial<AgentRow> = {}): AgentRow {
  return {
    id, name: id.toUpperCase(), team: 'tier1', queues: ['support'], state: 'available', reason: null,
    since: '2026-01-01T10:00:00Z', extension: null, ronas_today: 0, call: null, ...over,
  };
}

const SNAP: Snapshot = {
  tenant: 'acme', server_time: '2026-01-01T10:00:00Z', day: '2026-01-01', timezone: 'UTC',
  queues: [], agents: [agent('alice'), agent('bob')],
  limits: { datacenter: { used: 0, max: 50 }, tenant: { used: 0, max: 10 }, refused_today: { '26': 0, '27': 0 } },
};

describe('the live view', () => {
  it('replaces changed rows by ID, drops removed ones, keeps the rest', () => {
    const next = applyDelta(SNAP, {
      agents: [agent('bob', { state: 'idle', reason: 'break' }), agent('carol')],
      agents_removed: ['alice'],
      limits: { ...SNAP.limits, tenant: { used: 3, max: 10 } },
      server_time: '2026-01-01T10:00:01Z',
    });
    expect(next.agents.map((a) => [a.id, a.state])).toEqual([['bob', 'idle'], ['carol', 'available']]);
    expect(next.limits.tenant.used).toBe(3);
    expect(next.server_time).toBe('2026-01-01T10:00:01Z');
    expect(applyDelta(SNAP, {}).agents).toBe(SNAP.agents);
  });

  it('follows its own supervision through its events only', () => {
    const sv: Supervision = { interaction: 'ix1', supervisor: 'supervisor:sam', extension: '1009', mode: 'monitor', state: 'ringing', agent: 'alice', started_at: null };
    const started = applySupervisionEvent(sv, { type: 'interaction.supervision_started', data: { interaction: 'ix1', mode: 'monitor' } });
    expect(started?.state).toBe('active');
    const other = applySupervisionEvent(started, { type: 'interaction.supervision_stopped', data: { interaction: 'ix2' } });
    expect(other).toBe(started);
    const switched = applySupervisionEvent(started, { type: 'interaction.supervision_switched', data: { interaction: 'ix1', mode: 'barge' } });
    expect(switched?.mode).toBe('barge');
    expect(applySupervisionEvent(switched, { type: 'interaction.supervision_stopped', data: { interaction: 'ix1' } })).toBeNull();
  });
});

describe('a supervision whose phone answered before the request did', () => {
  it('is active once the answer comes, from the events kept meanwhile', () => {
    const sv: Supervision = { interaction: 'ix9', supervisor: 'supervisor:sam', extension: '1009', mode: 'whisper', state: 'ringing', agent: 'alice', started_at: null };
    expectSupervision('ix9');
    noteSupervisionEvent({ type: 'interaction.supervision_started', data: { interaction: 'ix8', mode: 'barge' } });
    startedSupervision(sv);
    expect(supervision.value?.state).toBe('ringing'); // (another call's event is not ours)
    expectSupervision('ix9');
    noteSupervisionEvent({ type: 'interaction.supervision_started', data: { interaction: 'ix9', mode: 'whisper' } });
    startedSupervision(sv);
    expect(supervision.value?.state).toBe('active');
    expectSupervision('ix9');
    noteSupervisionEvent({ type: 'interaction.supervision_stopped', data: { interaction: 'ix9', reason: 'not_answered' } });
    startedSupervision(sv);
    expect(supervision.value).toBeNull();
    supervision.value = null;
  });
});

describe('the agents table', () => {
  const rows = [
    agent('alice', { state: 'idle', since: '2026-01-01T09:00:00Z', ronas_today: 2 }),
    agent('bob', { state: 'connected', team: 'tier2', queues: ['vip'], since: '2026-01-01T09:30:00Z' }),
    agent('carol', { state: 'rona', since: '2026-01-01T09:45:00Z', ronas_today: 1 }),
  ];
  it('filters by team and queue', () => {
    expect(filterAgents(rows, 'tier2', '').map((r) => r.id)).toEqual(['bob']);
    expect(filterAgents(rows, '', 'support').map((r) => r.id)).toEqual(['alice', 'carol']);
    expect(filterAgents(rows, 'tier1', 'vip')).toEqual([]);
  });
  it('sorts by every column both ways', () => {
    expect(sortAgents(rows, 'state', 'ascending').map((r) => r.id)).toEqual(['carol', 'bob', 'alice']);
    expect(sortAgents(rows, 'since', 'ascending').map((r) => r.id)).toEqual(['alice', 'bob', 'carol']);
    expect(sortAgents(rows, 'ronas', 'descending').map((r) => r.id)).toEqual(['alice', 'carol', 'bob']);
    expect(sortAgents(rows, 'name', 'descending').map((r) => r.id)).toEqual(['carol', 'bob', 'alice']);
  });
});

describe('the interactions and charts', () => {
  it('puts only set filters in the query and the CSV link', () => {
    expect(filterQuery({ queue: 'support', agent: '' }, { status: 'all' })).toBe('?queue=support&status=all');
    expect(csvUrl({ queue: '', direction: 'inbound' })).toBe('/v1/supervisor/interactions.csv?direction=inbound');
    expect(csvUrl({})).toBe('/v1/supervisor/interactions.csv');
  });
  it('draws buckets as seconds, counts and service level in %', () => {
    const b: Bucket[] = [
      { bucket: 0, start: '2026-01-01T00:00+00:00', offered: 2, answered: 1, answered_in_sl: 1, abandoned: 1, service_level: 1 },
      { bucket: 1, start: '2026-01-01T00:15+00:00', offered: 0, answered: 0, answered_in_sl: 0, abandoned: 0, service_level: null },
    ];
    const [x, offered, , abandoned, sl] = series(b);
    expect(x[1]! - x[0]!).toBe(900);
    expect(offered).toEqual([2, 0]);
    expect(abandoned).toEqual([1, 0]);
    expect(sl).toEqual([100, null]);
    expect(totals(b)).toEqual({ offered: 2, answered: 1, abandoned: 1 });
  });
});

describe('the console\'s strings', () => {
  it('has every key in English and German, none empty, same placeholders', () => {
    expect(Object.keys(supervisor.de).sort()).toEqual(Object.keys(supervisor.en).sort());
    const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [key, text] of Object.entries(supervisor.en)) {
      const de = (supervisor.de as Record<string, string>)[key]!;
      expect(text.trim(), key).not.toBe('');
      expect(de.trim(), key).not.toBe('');
      expect(names(de), key).toEqual(names(text));
    }
  });
  it('shows a supervisor rule\'s text in the page\'s language', () => {
    const refused = new ApiError(409, { message: 'm', details: { rule: 'SUP-4', state: 'connected' } });
    expect(supErrorText(refused)).toContain('call in hand');
    setLang('de');
    expect(supErrorText(refused)).toContain('Nachbearbeitung');
    expect(st('sup.limits.used', { used: 3, max: 10 })).toBe('3 von 10 belegt');
  });
});

describe('the browser phone of the console (SUP-5)', () => {
  function fakePhone() {
    const incoming = signal(false);
    const incomingSupervision = signal<string | null>(null);
    const answer = vi.fn();
    const hangup = vi.fn(() => {
      incoming.value = false;
      incomingSupervision.value = null;
    });
    const ring = (about: string | null) => {
      incomingSupervision.value = about;
      incoming.value = true;
    };
    return { incoming, incomingSupervision, answer, hangup, ring };
  }

  it('answers once the leg of the supervision it asked for, and refuses any other call', () => {
    const phone = fakePhone();
    supervision.value = null;
    const stop = autoAnswer(phone);
    try {
      expectSupervision('ix1');
      phone.ring('ix1');
      expect(phone.answer).toHaveBeenCalledTimes(1);
      supervision.value = { interaction: 'ix1', supervisor: 'supervisor:sam', extension: '2101', mode: 'monitor', state: 'ringing', agent: 'alice', started_at: null };
      expect(phone.answer).toHaveBeenCalledTimes(1); // (not twice)
      phone.incoming.value = false;
      forgetExpectation();
      phone.ring('ix2'); // not asked for
      expect(phone.hangup).toHaveBeenCalledTimes(1);
      phone.ring(null); // an ordinary call
      expect(phone.hangup).toHaveBeenCalledTimes(2);
      // a leg rung again for the supervision going on (after a reload)
      phone.ring('ix1');
      expect(phone.answer).toHaveBeenCalledTimes(2);
    } finally {
      stop();
      supervision.value = null;
    }
  });
});

