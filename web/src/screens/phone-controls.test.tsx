import { cleanup, fireEvent, render, screen } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const fake = vi.hoisted(() => ({
  setMuted: vi.fn(),
  sendDtmf: vi.fn(),
  inCall: null as unknown as { value: boolean },
  muted: null as unknown as { value: boolean },
}));
vi.mock('../phone', async () => {
  const { signal } = await import('@preact/signals');
  fake.inCall = signal(true);
  fake.muted = signal(false);
  fake.setMuted.mockImplementation((m: boolean) => (fake.muted.value = m));
  return {
    phone: {
      reg: signal('registered'),
      incoming: signal(false),
      inCall: fake.inCall,
      muted: fake.muted,
      start: vi.fn(),
      stop: vi.fn(),
      answer: vi.fn(),
      hangup: vi.fn(),
      setMuted: fake.setMuted,
      sendDtmf: fake.sendDtmf,
    },
  };
});

import { installHotkeys } from '../hotkeys';
import { setLang } from '../i18n';
import { applySnapshot, clearAll, session } from '../store';
import type { Me } from '../types';
import { ControlPane } from './ControlPane';

const ME: Me = {
  agent: { id: 'alice', tenant: 'acme', state: 'connected', previous: 'reserved', reason: 'answer',
    since: '2026-12-05T12:00:00.000+00:00', extension: '2001', offer: null, interaction: 'ix1' },
  interaction: { id: 'ix1', tenant: 'acme', direction: 'inbound', label: 'Acme Support', ani: '+1555', dnis: '800',
    entry_point: 'support', queue: 'support', queue_name: 'Support', status: 'connected',
    entered_at: '2026-12-05T12:00:00.000+00:00', connected_at: '2026-12-05T12:00:00.000+00:00', ended_at: null,
    agent: 'alice', end_cause: null, wrap_up_reason: null, held: false, recording: 'off', kind: 'call', legs: [] },
  consult: null,
  variables: null,
  server_time: '2026-12-05T12:00:10.000+00:00',
  config: { idle_reasons: {}, wrap_up_reasons: {}, auto_wrap_up_seconds: 0, outdial: false, keypad: false,
    outdial_cancel: false, privacy_shield_seconds: 0, campaigns: [] },
};

beforeEach(() => {
  clearAll();
  setLang('en');
  fake.setMuted.mockClear();
  fake.sendDtmf.mockClear();
  fake.muted.value = false;
  fake.inCall.value = true;
  session.value = { tenant: 'acme', agent: 'alice', role: 'agent', name: 'Alice Able', csrf_token: 't',
    phone: { kind: 'browser', extension: '2001', sip: null } };
  applySnapshot(ME);
});
afterEach(() => cleanup());

describe('browser-phone controls (DSK-4)', () => {
  it('mutes by button and Alt+M, and sends tones from the keypad', () => {
    render(<ControlPane />);
    const mute = screen.getByRole('button', { name: 'Mute' });
    expect(mute.getAttribute('aria-pressed')).toBe('false');
    fireEvent.click(mute);
    expect(fake.setMuted).toHaveBeenLastCalledWith(true);
    expect(screen.getByRole('button', { name: 'Unmute' }).getAttribute('aria-pressed')).toBe('true');
    const remove = installHotkeys();
    fireEvent.keyDown(document, { key: 'm', code: 'KeyM', altKey: true });
    expect(fake.setMuted).toHaveBeenLastCalledWith(false);
    remove();
    fireEvent.click(screen.getByRole('button', { name: 'Keypad' }));
    const keypad = screen.getByRole('dialog', { name: 'Send tones' });
    fireEvent.click(screen.getByRole('button', { name: 'Tone 5' }));
    fireEvent.click(screen.getByRole('button', { name: 'Tone #' }));
    expect(fake.sendDtmf.mock.calls).toEqual([['5'], ['#']]);
    fireEvent.keyDown(keypad, { key: 'Escape' });
    expect(screen.queryByRole('dialog', { name: 'Send tones' })).toBeNull();
  });

  it('has no mute or keypad while the browser phone has no call', () => {
    fake.inCall.value = false;
    render(<ControlPane />);
    expect((screen.getByRole('button', { name: 'Mute' }) as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByRole('button', { name: 'Keypad' }) as HTMLButtonElement).disabled).toBe(true);
  });
});
