import { act, cleanup, fireEvent, render, screen } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const fake = vi.hoisted(() => ({ outdial: vi.fn() }));
vi.mock('./api', async (original) => {
  const real = await original<typeof import('./api')>();
  return {
    ...real,
    dialogsApi: {
      ...real.dialogsApi,
      addressBook: vi.fn(() => Promise.resolve({ entries: [] })),
      anis: vi.fn(() => Promise.resolve({ anis: [], default: null })),
      outdial: fake.outdial,
    },
  };
});

import { setLang } from '../i18n';
import { agent, applyEvent, applySnapshot, clearAll, offer, session } from '../store';
import type { Me, Offer } from '../types';
import { OutdialButton } from './Outdial';

const IDLE: Me = {
  agent: { id: 'alice', tenant: 'acme', state: 'idle', previous: 'available', reason: 'break',
    since: '2026-12-05T12:00:00.000+00:00', extension: '1001', offer: null, interaction: null, seq: 5 },
  interaction: null,
  consult: null,
  variables: null,
  server_time: '2026-12-05T12:00:10.000+00:00',
  config: { idle_reasons: { break: 'Break' }, wrap_up_reasons: {}, auto_wrap_up_seconds: 0, outdial: true,
    keypad: true, outdial_cancel: true, privacy_shield_seconds: 0, campaigns: [] },
};

function state(seq: number, s: string): void {
  applyEvent({
    type: 'agent.state',
    data: { agent: 'alice', seq, previous: 'x', state: s, reason: null, timestamp: `2026-12-05T12:00:${10 + seq}.000+00:00` },
  });
}

beforeEach(() => {
  clearAll();
  setLang('en');
  fake.outdial.mockReset();
  fake.outdial.mockResolvedValue({});
  session.value = { tenant: 'acme', agent: 'alice', role: 'agent', name: 'Alice Able', csrf_token: 't',
    phone: { kind: 'extension', extension: '1001', sip: null } };
  applySnapshot(IDLE);
});
afterEach(() => cleanup());

describe('the outdial dialog (DSK-9, OD-1)', () => {
  it('keeps what was typed through a passing change of state; Call waits meanwhile', async () => {
    render(<OutdialButton />);
    fireEvent.click(screen.getByRole('button', { name: 'Outdial' }));
    const field = screen.getByRole('textbox', { name: 'Dial number' }) as HTMLInputElement;
    fireEvent.input(field, { target: { value: '+15551000000' } });
    act(() => state(6, 'reserved'));
    expect(agent.value?.state).toBe('reserved');
    const call = () => screen.getByRole('button', { name: 'Call' }) as HTMLButtonElement;
    expect(call().disabled).toBe(true);
    act(() => state(7, 'idle'));
    expect((screen.getByRole('textbox', { name: 'Dial number' }) as HTMLInputElement).value).toBe('+15551000000');
    expect(call().disabled).toBe(false);
    await act(async () => {
      fireEvent.click(call());
      await Promise.resolve();
    });
    expect(fake.outdial).toHaveBeenCalledWith('alice', { number: '+15551000000' });
  });

  it('gives way to an offer', () => {
    render(<OutdialButton />);
    fireEvent.click(screen.getByRole('button', { name: 'Outdial' }));
    expect(screen.getByRole('dialog', { name: 'Outdial' })).toBeTruthy();
    act(() => {
      offer.value = { interaction_id: 'ix9', status: 'ringing' } as Offer;
    });
    expect(screen.queryByRole('dialog', { name: 'Outdial' })).toBeNull();
  });
});
