import { beforeEach, describe, expect, it } from 'vitest';
import {
  agent,
  applyEvent,
  applySnapshot,
  clearAll,
  clockOffset,
  interaction,
  offer,
  secondsSince,
  serverNow,
  tick,
  variables,
} from './index';
import { formatDuration } from './clock';
import type { Interaction, Me } from '../types';

const T0 = Date.parse('2026-12-05T12:00:00.000Z');

function ix(over: Partial<Interaction> = {}): Interaction {
  return {
    id: 'ix1',
    tenant: 'acme',
    direction: 'inbound',
    label: 'Acme Support',
    ani: '+15551234567',
    dnis: '8005550100',
    entry_point: 'support',
    queue: 'support',
    queue_name: 'Support',
    status: 'connected',
    entered_at: '2026-12-05T11:59:00.000+00:00',
    connected_at: '2026-12-05T11:59:30.000+00:00',
    ended_at: null,
    agent: 'alice',
    end_cause: null,
    wrap_up_reason: null,
    held: false,
    recording: 'recording',
    kind: 'call',
    legs: [],
    ...over,
  };
}

function me(over: Partial<Me> = {}): Me {
  return {
    agent: {
      id: 'alice',
      tenant: 'acme',
      state: 'connected',
      previous: 'reserved',
      reason: 'answer',
      since: '2026-12-05T11:59:30.000+00:00',
      extension: '1001',
      offer: null,
      interaction: 'ix1',
    },
    interaction: ix(),
    consult: null,
    variables: { interaction_id: 'ix1', status: 'connected', can_edit: true, variables: [] },
    server_time: '2026-12-05T12:00:00.000+00:00',
    config: {
      idle_reasons: { break: 'Break' },
      wrap_up_reasons: { resolved: 'Resolved' },
      auto_wrap_up_seconds: 0,
      outdial: true,
      keypad: true,
      outdial_cancel: true,
      privacy_shield_seconds: 30,
      campaigns: [],
    },
    ...over,
  };
}

function stateEvent(seq: number, state: string, timestamp: string, extra: Record<string, unknown> = {}) {
  return {
    type: 'agent.state',
    at: timestamp,
    agent: 'alice',
    data: { agent: 'alice', seq, previous: 'x', state, reason: null, timestamp, ...extra },
  };
}

beforeEach(() => clearAll());

describe('snapshot then events', () => {
  it('replaces the whole state with the snapshot', () => {
    offer.value = { interaction_id: 'old' } as never;
    applySnapshot(me(), T0);
    expect(agent.value?.state).toBe('connected');
    expect(interaction.value?.id).toBe('ix1');
    expect(offer.value).toBeNull();
    expect(variables.value?.interaction_id).toBe('ix1');
  });

  it('shows a ringing interaction of a reserved agent as the offer', () => {
    const snap = me({
      agent: { ...me().agent, state: 'reserved', offer: 'ix1', interaction: null },
      interaction: ix({ status: 'ringing', connected_at: null }),
      variables: null,
    });
    applySnapshot(snap, T0);
    expect(offer.value?.interaction_id).toBe('ix1');
    expect(offer.value?.label).toBe('Acme Support');
    expect(interaction.value).toBeNull();
  });

  it('applies the events that follow: hold, end, wrap-up', () => {
    applySnapshot(me(), T0);
    applyEvent({ type: 'interaction.held', at: '2026-12-05T12:00:01.000+00:00', data: ix({ held: true }) as never }, T0 + 1000);
    expect(interaction.value?.held).toBe(true);
    applyEvent({ type: 'interaction.resumed', at: '2026-12-05T12:00:02.000+00:00', data: ix({ held: false }) as never }, T0 + 2000);
    expect(interaction.value?.held).toBe(false);
    applyEvent({
      type: 'interaction.ended',
      at: '2026-12-05T12:00:03.000+00:00',
      data: ix({ status: 'ended', ended_at: '2026-12-05T12:00:03.000+00:00' }) as never,
    });
    expect(interaction.value?.status).toBe('ended');
    applyEvent(stateEvent(10, 'wrap_up', '2026-12-05T12:00:03.010+00:00', { interaction: 'ix1' }));
    expect(agent.value?.state).toBe('wrap_up');
    expect(agent.value?.interaction).toBe('ix1');
    applyEvent({ type: 'interaction.wrapped_up', data: ix({ status: 'ended' }) as never });
    expect(interaction.value).toBeNull();
    expect(variables.value).toBeNull();
  });

  it('takes the offer from its event and drops it when it is withdrawn', () => {
    applySnapshot(me({ agent: { ...me().agent, state: 'available' }, interaction: null, variables: null }), T0);
    applyEvent(stateEvent(5, 'reserved', '2026-12-05T12:00:01.000+00:00', { interaction: 'ix2' }));
    expect(agent.value?.offer).toBe('ix2');
    applyEvent({ type: 'interaction.offered', data: { interaction_id: 'ix2', label: 'L', variables: [] } as never });
    expect(offer.value?.interaction_id).toBe('ix2');
    applyEvent({ type: 'interaction.offer_withdrawn', data: { interaction_id: 'ix2', reason: 'ring_no_answer' } });
    expect(offer.value).toBeNull();
    applyEvent(stateEvent(6, 'rona', '2026-12-05T12:00:05.000+00:00'));
    expect(agent.value?.state).toBe('rona');
    expect(agent.value?.offer).toBeNull();
  });

  it('shows a consult offered to this agent as an offer (CO-2)', () => {
    applySnapshot(me({ agent: { ...me().agent, state: 'available' }, interaction: null, variables: null }), T0);
    applyEvent(stateEvent(5, 'reserved', '2026-12-05T12:00:01.000+00:00', { interaction: 'ix3-k1' }));
    applyEvent({
      type: 'interaction.consult_offered',
      data: { interaction_id: 'ix3', kind: 'consult', label: 'Consult: Bob Baker', variables: [] },
    });
    expect(offer.value?.kind).toBe('consult');
    expect(offer.value?.label).toBe('Consult: Bob Baker');
  });

  it('merges updated variables into the saved ones', () => {
    applySnapshot(
      me({
        variables: {
          interaction_id: 'ix1',
          status: 'connected',
          can_edit: true,
          variables: [
            { name: 'a', label: 'A', type: 'string', editable: true, secure: false, value: 'x', version: 0 },
            { name: 'b', label: 'B', type: 'string', editable: true, secure: false, value: 'y', version: 0 },
          ],
        },
      }),
      T0,
    );
    applyEvent({
      type: 'interaction.variables_updated',
      data: {
        interaction_id: 'ix1',
        variables: [{ name: 'b', label: 'B', type: 'string', editable: true, secure: false, value: 'z', version: 1 }],
      },
    });
    expect(variables.value?.variables.map((v) => [v.name, v.value, v.version])).toEqual([
      ['a', 'x', 0],
      ['b', 'z', 1],
    ]);
  });

  it('answers what the stream must do for session events', () => {
    expect(applyEvent({ type: 'session.replaced', data: {} })).toBe('replaced');
    expect(applyEvent({ type: 'session.ended', data: {} })).toBe('ended');
    applySnapshot(me(), T0);
    expect(applyEvent({ type: 'interaction.connected', data: ix() as never })).toBe('variables');
  });
});

describe('agent states are ordered by seq', () => {
  it('ignores a change older than the one shown', () => {
    applySnapshot(me({ agent: { ...me().agent, state: 'available' }, interaction: null, variables: null }), T0);
    applyEvent(stateEvent(7, 'idle', '2026-12-05T12:00:02.000+00:00', { reason: 'break' }));
    applyEvent(stateEvent(6, 'available', '2026-12-05T12:00:01.000+00:00'));
    expect(agent.value?.state).toBe('idle');
    expect(agent.value?.seq).toBe(7);
    applyEvent(stateEvent(8, 'available', '2026-12-05T12:00:03.000+00:00'));
    expect(agent.value?.state).toBe('available');
  });

  it('without a seq in the snapshot, ignores changes from before it', () => {
    applySnapshot(
      me({ agent: { ...me().agent, state: 'idle', since: '2026-12-05T12:00:00.000+00:00' }, interaction: null }),
      T0,
    );
    applyEvent(stateEvent(3, 'available', '2026-12-05T11:59:59.000+00:00'));
    expect(agent.value?.state).toBe('idle');
    applyEvent(stateEvent(4, 'available', '2026-12-05T12:00:01.000+00:00'));
    expect(agent.value?.state).toBe('available');
    applyEvent(stateEvent(3, 'idle', '2026-12-05T12:00:02.000+00:00'));
    expect(agent.value?.state).toBe('available');
  });
});

describe('a snapshot read while a call was ending', () => {
  it('is read again when the agent is free of calls but the snapshot still shows one', () => {
    // An outdial failed (OD-5): the snapshot was read before the call ended,
    // and the agent's return to idle came after it.
    const snap = me({
      agent: { ...me().agent, state: 'connected', seq: 20 },
      interaction: ix({ direction: 'outbound', kind: 'outdial', status: 'dialing', connected_at: null }),
      variables: null,
    });
    applySnapshot(snap, T0);
    const effect = applyEvent(stateEvent(21, 'idle', '2026-12-05T12:00:01.000+00:00'));
    expect(agent.value?.state).toBe('idle');
    expect(effect).toBe('refresh');
  });

  it('asks nothing more when the call shown has ended (it waits for its wrap-up)', () => {
    applySnapshot(me({ agent: { ...me().agent, seq: 30 } }), T0);
    applyEvent({
      type: 'interaction.ended',
      at: '2026-12-05T12:00:01.000+00:00',
      data: ix({ status: 'ended', ended_at: '2026-12-05T12:00:01.000+00:00' }) as never,
    });
    expect(applyEvent(stateEvent(31, 'wrap_up', '2026-12-05T12:00:01.010+00:00'))).toBe('none');
    expect(applyEvent(stateEvent(32, 'available', '2026-12-05T12:00:02.000+00:00'))).toBe('none');
    expect(interaction.value).toBeNull();
  });
});

describe('timers use the server clock', () => {
  it('counts from server timestamps whatever this machine\'s clock says', () => {
    const localNow = T0 - 3_600_000; // this machine is an hour behind
    applySnapshot(me(), localNow);
    expect(clockOffset.value).toBe(3_600_000);
    tick(localNow + 5000);
    expect(serverNow.value).toBe(T0 + 5000);
    // connected at 11:59:30, server now 12:00:05
    expect(secondsSince(interaction.value?.connected_at)).toBe(35);
    expect(formatDuration(35)).toBe('0:35');
  });

  it('moves the estimate forward only from later event times', () => {
    applySnapshot(me(), T0);
    const before = clockOffset.value;
    applyEvent({ type: 'interaction.held', at: '2026-12-05T11:59:59.000+00:00', data: ix({ held: true }) as never }, T0);
    expect(clockOffset.value).toBe(before); // a late event says nothing new
    applyEvent({ type: 'interaction.resumed', at: '2026-12-05T12:00:01.500+00:00', data: ix() as never }, T0 + 1000);
    expect(clockOffset.value).toBe(before + 500);
  });

  it('formats hours', () => {
    expect(formatDuration(3723)).toBe('1:02:03');
    expect(formatDuration(-4)).toBe('0:00');
  });
});
