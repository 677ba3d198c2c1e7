import { describe, expect, it } from 'vitest';
import { callStatus, controlsFor, type ControlContext } from './controls';
import type { Interaction, Leg } from './types';

const ctx: ControlContext = { me: 'alice', phoneKind: 'extension', phoneInCall: false, privacyShieldSeconds: 30 };

function ix(over: Partial<Interaction> = {}): Interaction {
  return {
    id: 'ix1', tenant: 'acme', direction: 'inbound', label: 'L', ani: '1', dnis: '2', entry_point: 'e',
    queue: 'q', queue_name: 'Q', status: 'connected', entered_at: null, connected_at: null, ended_at: null,
    agent: 'alice', end_cause: null, wrap_up_reason: null, held: false, recording: 'recording', kind: 'call',
    legs: [], ...over,
  };
}

function leg(state: Leg['state'], agent: string | null = 'bob'): Leg {
  return { channel: 'ix1-k1', role: 'consult', state, target: 'agent', agent, number: null, queue: null, by: 'alice', started_at: null, connected_at: null };
}

describe('interaction controls (DSK-4)', () => {
  it('connected: hold and end, no resume; privacy shield pauses the recording', () => {
    const c = controlsFor(ix(), ctx);
    expect(c.status).toBe('connected');
    expect([c.hold, c.resume, c.end]).toEqual([true, false, true]);
    expect([c.showRecording, c.pauseRecording, c.resumeRecording]).toEqual([true, true, false]);
  });

  it('held: resume, End disabled (END-1)', () => {
    const c = controlsFor(ix({ held: true }), ctx);
    expect(c.status).toBe('held');
    expect([c.hold, c.resume, c.end]).toEqual([false, true, false]);
  });

  it('recording paused: resume it; without a privacy shield there is nothing to pause', () => {
    const paused = controlsFor(ix({ recording: 'paused' }), ctx);
    expect([paused.showRecording, paused.pauseRecording, paused.resumeRecording]).toEqual([true, false, true]);
    const noShield = controlsFor(ix(), { ...ctx, privacyShieldSeconds: 0 });
    expect([noShield.showRecording, noShield.pauseRecording]).toEqual([false, false]);
    const off = controlsFor(ix({ recording: 'off' }), ctx);
    expect(off.showRecording).toBe(false);
  });

  it('conference: nobody is held (CF-3), End stays', () => {
    const c = controlsFor(ix({ legs: [leg('conference')] }), ctx);
    expect(c.status).toBe('conference');
    expect([c.hold, c.resume, c.end]).toEqual([false, false, true]);
  });

  it('consult: the customer held, resume switches back (HOLD-3); End disabled while held', () => {
    const c = controlsFor(ix({ held: true, legs: [leg('consulting')] }), ctx);
    expect(c.status).toBe('consulting');
    expect([c.hold, c.resume, c.end]).toEqual([false, true, false]);
    expect(callStatus(ix({ legs: [leg('queued')] }))).toBe('consultRequested');
    expect(callStatus(ix({ legs: [leg('consult_held')] }))).toBe('consultHeld');
  });

  it('the consulted agent has none of the customer call\'s controls (CO-5)', () => {
    const c = controlsFor(ix({ agent: 'bob', held: true, legs: [leg('consulting', 'alice')] }), ctx);
    expect(c.consulted).toBe(true);
    expect([c.hold, c.resume, c.end, c.pauseRecording, c.showRecording]).toEqual([false, false, false, false, false]);
  });

  it('nothing while not connected', () => {
    for (const status of ['ringing', 'dialing', 'ended'] as const) {
      const c = controlsFor(ix({ status }), ctx);
      expect([c.hold, c.resume, c.end, c.pauseRecording]).toEqual([false, false, false, false]);
    }
  });

  it('mute and keypad only with the browser phone in a call', () => {
    expect(controlsFor(ix(), ctx).showPhone).toBe(false);
    const idlePhone = controlsFor(ix(), { ...ctx, phoneKind: 'browser' });
    expect([idlePhone.showPhone, idlePhone.mute, idlePhone.keypad]).toEqual([true, false, false]);
    const inCall = controlsFor(ix(), { ...ctx, phoneKind: 'browser', phoneInCall: true });
    expect([inCall.mute, inCall.keypad]).toEqual([true, true]);
  });
});
