import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const fakePhone = vi.hoisted(() => ({
  answer: vi.fn(),
  incoming: null as unknown as { value: boolean },
}));
vi.mock('../phone', async () => {
  const { signal: s } = await import('@preact/signals');
  fakePhone.incoming = s(false);
  return {
    phone: {
      reg: s('registered'),
      incoming: fakePhone.incoming,
      inCall: s(false),
      muted: s(false),
      start: vi.fn(),
      stop: vi.fn(),
      answer: fakePhone.answer,
      hangup: vi.fn(),
      setMuted: vi.fn(),
      sendDtmf: vi.fn(),
    },
  };
});
const ring = vi.hoisted(() => ({ startRinging: vi.fn(), stopRinging: vi.fn() }));
vi.mock('../ring', () => ring);

import { installHotkeys } from '../hotkeys';
import { setLang } from '../i18n';
import { agent, applyEvent, clearAll, offer, session } from '../store';
import { OfferPopover } from './OfferPopover';


beforeEach(() => {
  clearAll();
  setLang('en');
  fakePhone.answer.mockClear();
  ring.startRinging.mockClear();
  fakePhone.incoming.value = false;
  session.value = { tenant: 'acme', agent: 'alice', role: 'agent', name: 'Alice Able', csrf_token: 't',
    phone: { kind: 'browser', extension: '2001', sip: null } };
  agent.value = { id: 'alice', tenant: 'acme', state: 'reserved', previous: 'available', reason: 'offer',
    since: new Date().toISOString(), extension: '2001', offer: 'ix1', interaction: null };
});
afterEach(() => cleanup());

describe('offer with the browser phone (DSK-2)', () => {
  it('shows connecting, then the request; rings; Accept and Alt+A answer', async () => {
    render(<OfferPopover />);
    expect(screen.getByRole('dialog', { name: 'Connecting…' })).toBeTruthy();
    applyEvent({
      type: 'interaction.offered',
      data: { interaction_id: 'ix1', kind: 'callback', label: 'Callback: Acme Support', ani: '+15551234567',
        dnis: '8005550100', queue: 'support', queue_name: 'Support', status: 'ringing',
        entered_at: new Date().toISOString(), direction: 'inbound',
        variables: [{ name: 'account', label: 'Account number', type: 'string', editable: false, secure: true, value: 'AC-1' }] },
    });
    fakePhone.incoming.value = true;
    const dialog = await screen.findByRole('dialog', { name: 'Contact request' });
    expect(dialog.textContent).toContain('Callback: Acme Support');
    expect(screen.getByRole('img', { name: 'Callback' })).toBeTruthy();
    expect(screen.getByRole('img', { name: 'Secure variable' })).toBeTruthy();
    expect(dialog.textContent).toContain('Ringing');
    await waitFor(() => expect(ring.startRinging).toHaveBeenCalled());
    const accept = screen.getByRole('button', { name: 'Accept' }) as HTMLButtonElement;
    expect(accept.disabled).toBe(false);
    expect(accept.title).toContain('Alt+A');
    fireEvent.click(accept);
    expect(fakePhone.answer).toHaveBeenCalledTimes(1);
    const remove = installHotkeys();
    fireEvent.keyDown(document, { key: 'a', code: 'KeyA', altKey: true });
    expect(fakePhone.answer).toHaveBeenCalledTimes(2);
    remove();
    expect(offer.value?.interaction_id).toBe('ix1');
  });
});
