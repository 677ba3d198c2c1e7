import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError } from '../api';
import { setLang } from '../i18n';
import { agent, applySnapshot, clearAll, interaction, notices, session } from '../store';
import type { Interaction, Me, Variable } from '../types';
import { ControlPane } from './ControlPane';
import { WrapUpDialog } from './WrapUp';

function ix(over: Partial<Interaction> = {}): Interaction {
  return {
    id: 'ix1', tenant: 'acme', direction: 'inbound', label: 'Acme Support', ani: '+15551234567', dnis: '8005550100',
    entry_point: 'support', queue: 'support', queue_name: 'Support', status: 'connected',
    entered_at: '2026-12-05T11:59:00.000+00:00', connected_at: '2026-12-05T11:59:30.000+00:00', ended_at: null,
    agent: 'alice', end_cause: null, wrap_up_reason: null, held: false, recording: 'recording', kind: 'call', legs: [],
    ...over,
  };
}

const VARS: Variable[] = [
  { name: 'customer_name', label: 'Customer name', type: 'string', editable: true, secure: false, value: 'Ann', version: 0 },
  { name: 'account', label: 'Account number', type: 'string', editable: false, secure: true, value: 'AC-1', version: 0 },
  { name: 'case_number', label: 'Case number', type: 'integer', editable: true, secure: false, value: null, version: 2 },
];

function snapshot(over: Partial<Me> = {}): Me {
  return {
    agent: { id: 'alice', tenant: 'acme', state: 'connected', previous: 'reserved', reason: 'answer',
      since: '2026-12-05T11:59:30.000+00:00', extension: '1001', offer: null, interaction: 'ix1' },
    interaction: ix(),
    consult: null,
    variables: { interaction_id: 'ix1', status: 'connected', can_edit: true, variables: VARS },
    server_time: '2026-12-05T12:00:00.000+00:00',
    config: { idle_reasons: { break: 'Break' }, wrap_up_reasons: { resolved: 'Resolved', follow_up: 'Needs follow-up', wrong_number: 'Wrong number' },
      auto_wrap_up_seconds: 0, outdial: true, keypad: true, outdial_cancel: true, privacy_shield_seconds: 30, campaigns: [] },
    ...over,
  };
}

beforeEach(() => {
  clearAll();
  setLang('en');
  session.value = { tenant: 'acme', agent: 'alice', role: 'agent', name: 'Alice Able', csrf_token: 't',
    phone: { kind: 'extension', extension: '1001', sip: null } };
});
afterEach(() => cleanup());

describe('control pane (DSK-4)', () => {
  it('disables End while held and shows the refusal\'s rule text', async () => {
    applySnapshot(snapshot({ interaction: ix({ held: true }) }));
    render(<ControlPane />);
    expect((screen.getByRole('button', { name: /End/ }) as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText('Call on hold')).toBeTruthy();
    const resume = vi.spyOn(api, 'resume').mockRejectedValue(
      new ApiError(503, { error_id: 'unavailable', message: 'x', details: { rule: 'HOLD-2' } }),
    );
    fireEvent.click(screen.getByRole('button', { name: /Resume/ }));
    await waitFor(() => expect(notices.value.map((n) => n.text)).toContain('The call is not on hold.'));
    expect(resume).toHaveBeenCalledWith('ix1');
  });

  it('holds with Alt+H', async () => {
    applySnapshot(snapshot());
    const { installHotkeys } = await import('../hotkeys');
    const remove = installHotkeys();
    const hold = vi.spyOn(api, 'hold').mockResolvedValue(ix({ held: true }));
    render(<ControlPane />);
    fireEvent.keyDown(document, { key: 'h', code: 'KeyH', altKey: true });
    await waitFor(() => expect(hold).toHaveBeenCalledWith('ix1'));
    await waitFor(() => expect(interaction.value?.held).toBe(true));
    remove();
  });

  it('disables the call\'s controls until an action is answered, also when its event came first', async () => {
    applySnapshot(snapshot({ interaction: ix({ held: true }) }));
    let answer: (value: Interaction) => void = () => undefined;
    vi.spyOn(api, 'resume').mockReturnValue(new Promise<Interaction>((resolve) => (answer = resolve)));
    const end = vi.spyOn(api, 'end');
    render(<ControlPane />);
    fireEvent.click(screen.getByRole('button', { name: /Resume/ }));
    // the event shows the call resumed before the action's answer came
    interaction.value = ix({ held: false });
    const endButton = await screen.findByRole('button', { name: /End/ });
    await waitFor(() => expect(screen.getByRole('toolbar').getAttribute('aria-busy')).toBe('true'));
    expect((endButton as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByRole('button', { name: /Hold/ }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(endButton);
    expect(end).not.toHaveBeenCalled();
    answer(ix({ held: false }));
    await waitFor(() => expect((screen.getByRole('button', { name: /End/ }) as HTMLButtonElement).disabled).toBe(false));
    expect(screen.getByRole('toolbar').getAttribute('aria-busy')).toBe('false');
  });
});

describe('call variables (DSK-5)', () => {
  it('shows the secure icon, validates an integer and saves with versions', async () => {
    applySnapshot(snapshot());
    render(<ControlPane />);
    expect(screen.getByRole('img', { name: 'Secure variable' })).toBeTruthy();
    const save = screen.getByRole('button', { name: 'Save' }) as HTMLButtonElement;
    expect(save.disabled).toBe(true);
    const caseInput = screen.getByLabelText('Case number') as HTMLInputElement;
    fireEvent.input(caseInput, { target: { value: '12a' } });
    expect(screen.getByText('Enter a whole number.')).toBeTruthy();
    expect(save.disabled).toBe(true);
    fireEvent.input(caseInput, { target: { value: '123' } });
    expect(save.disabled).toBe(false);
    const patch = vi.spyOn(api, 'saveVariables').mockResolvedValue({
      interaction_id: 'ix1', status: 'connected', can_edit: true,
      variables: VARS.map((v) => (v.name === 'case_number' ? { ...v, value: '123', version: 3 } : v)),
    });
    fireEvent.click(save);
    await waitFor(() => expect(patch).toHaveBeenCalledWith('ix1', { case_number: { value: '123', version: 2 } }));
    await waitFor(() => expect(screen.getByText('Saved.')).toBeTruthy());
  });

  it('names the variable and the other agent\'s value on a conflict', async () => {
    applySnapshot(snapshot());
    render(<ControlPane />);
    fireEvent.input(screen.getByLabelText('Customer name'), { target: { value: 'Anna' } });
    vi.spyOn(api, 'saveVariables').mockRejectedValue(
      new ApiError(409, {
        error_id: 'variable-conflict', message: 'm',
        details: { rule: 'CAD-4', variable: 'customer_name', current_value: 'Annette', current_version: 1,
          conflicts: [{ variable: 'customer_name', current_value: 'Annette', current_version: 1, masked: false }] },
      }),
    );
    vi.spyOn(api, 'variables').mockResolvedValue({
      interaction_id: 'ix1', status: 'connected', can_edit: true,
      variables: VARS.map((v) => (v.name === 'customer_name' ? { ...v, value: 'Annette', version: 1 } : v)),
    });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() =>
      expect(screen.getByText(/“Customer name” was saved by someone else meanwhile: it is now “Annette”/)).toBeTruthy(),
    );
    expect((screen.getByLabelText('Customer name') as HTMLInputElement).value).toBe('Annette');
  });

  it('shows the character count up to 256', () => {
    applySnapshot(snapshot());
    render(<ControlPane />);
    expect(screen.getByText('3 / 256 characters')).toBeTruthy();
    expect((screen.getByLabelText('Customer name') as HTMLInputElement).maxLength).toBe(256);
  });
});

describe('wrap-up dialog (DSK-12)', () => {
  function wrapUpState(auto = 0) {
    applySnapshot(
      snapshot({
        agent: { ...snapshot().agent, state: 'wrap_up', since: '2026-12-05T12:00:00.000+00:00' },
        interaction: ix({ status: 'ended' }),
        config: { ...snapshot().config, auto_wrap_up_seconds: auto },
      }),
    );
  }

  it('filters reasons, needs exactly one, and applies it', async () => {
    wrapUpState();
    render(<WrapUpDialog />);
    const submit = screen.getByRole('button', { name: 'Submit' }) as HTMLButtonElement;
    expect(submit.disabled).toBe(true);
    expect(screen.getAllByRole('radio')).toHaveLength(3);
    fireEvent.input(screen.getByLabelText('Search reasons'), { target: { value: 'follow' } });
    expect(screen.getAllByRole('radio')).toHaveLength(1);
    fireEvent.click(screen.getByLabelText('Needs follow-up'));
    expect(submit.disabled).toBe(false);
    const wrap = vi.spyOn(api, 'wrapUp').mockResolvedValue({ ...agent.value!, state: 'available' });
    fireEvent.click(submit);
    await waitFor(() => expect(wrap).toHaveBeenCalledWith('ix1', 'follow_up'));
  });

  it('counts the auto wrap-up down from server time', () => {
    wrapUpState(30);
    // the snapshot's server time is the state's start: 30 s left
    render(<WrapUpDialog />);
    expect(screen.getByText('Auto wrap-up in 30 s')).toBeTruthy();
  });
});

describe('header (DSK-1, PH-1)', () => {
  it('chooses Idle with a reason from the state selector', async () => {
    const { Header } = await import('./Header');
    applySnapshot(snapshot({ agent: { ...snapshot().agent, state: 'available', interaction: null }, interaction: null, variables: null }));
    render(<Header onSignOut={() => undefined} />);
    expect(screen.getByText('Alice Able')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: /Change state, now Available/ }));
    const items = screen.getAllByRole('menuitemradio').map((i) => i.textContent);
    expect(items).toEqual(['Available', 'Idle: Break']);
    const set = vi.spyOn(api, 'setState').mockResolvedValue({ ...agent.value!, state: 'idle', reason: 'break' });
    fireEvent.click(screen.getByRole('menuitemradio', { name: 'Idle: Break' }));
    await waitFor(() => expect(set).toHaveBeenCalledWith('alice', 'idle', 'break'));
  });

  it('shows the state selector disabled on a call, and the extension', async () => {
    const { Header } = await import('./Header');
    applySnapshot(snapshot());
    render(<Header onSignOut={() => undefined} />);
    expect((screen.getByRole('button', { name: /Change state, now Connected/ }) as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText('Extension 1001')).toBeTruthy();
  });

  it('warns while the browser phone is not registered', async () => {
    const { PhoneWarning } = await import('./Header');
    session.value = { ...session.value!, phone: { kind: 'browser', extension: '2001', sip: null } };
    render(<PhoneWarning />);
    expect(screen.getByRole('alert').textContent).toContain('Phone not registered — you get no offers.');
  });

  it('tells an agent who was logged out what to do', async () => {
    const { LoggedOutBanner } = await import('./Header');
    applySnapshot(snapshot({ agent: { ...snapshot().agent, state: 'logged_out', interaction: null }, interaction: null }));
    render(<LoggedOutBanner />);
    expect(screen.getByRole('alert').textContent).toContain('You were logged out.');
  });
});

describe('announcements (DSK-15)', () => {
  it('announces an offer and state changes in a live region', async () => {
    const { Announcer } = await import('./Announcer');
    applySnapshot(snapshot({ agent: { ...snapshot().agent, state: 'available', interaction: null }, interaction: null, variables: null }));
    render(<Announcer />);
    const region = document.getElementById('announcer')!;
    expect(region.getAttribute('aria-live')).toBe('assertive');
    await waitFor(() => expect(region.textContent).toBe('State: Available'));
    const { applyEvent } = await import('../store');
    applyEvent({ type: 'interaction.offered', data: { interaction_id: 'ix9', label: 'Acme Support', ani: '+1555', variables: [] } });
    await waitFor(() => expect(region.textContent).toBe('Contact request: Acme Support, +1555'));
  });
});
