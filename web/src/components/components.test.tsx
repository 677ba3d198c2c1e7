import { cleanup, fireEvent, render, screen } from '@testing-library/preact';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resetClock } from '../store/clock';
import { Dialog } from './Dialog';
import { Icon } from './Icon';
import { Timer } from './Timer';

afterEach(() => cleanup());

describe('Dialog', () => {
  it('is labelled, takes the focus, keeps Tab inside and closes with Escape', () => {
    const onClose = vi.fn();
    render(
      <div>
        <button>outside</button>
        <Dialog id="d" title="Title" onClose={onClose}>
          <button>first</button>
          <button>last</button>
        </Dialog>
      </div>,
    );
    const dialog = screen.getByRole('dialog', { name: 'Title' });
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    expect(document.activeElement?.textContent).toBe('first');
    screen.getByText('last').focus();
    fireEvent.keyDown(dialog, { key: 'Tab' });
    expect(document.activeElement?.textContent).toBe('first');
    fireEvent.keyDown(dialog, { key: 'Tab', shiftKey: true });
    expect(document.activeElement?.textContent).toBe('last');
    fireEvent.keyDown(dialog, { key: 'Escape' });
    expect(onClose).toHaveBeenCalledOnce();
  });

  it('a popover leaves the focus where it is', () => {
    render(
      <div>
        <input aria-label="typing" />
        <Dialog id="p" title="Offer" modal={false} keepFocus>
          <button>accept</button>
        </Dialog>
      </div>,
    );
    const input = screen.getByLabelText('typing');
    input.focus();
    expect(document.activeElement).toBe(input);
    expect(screen.getByRole('dialog', { name: 'Offer' }).getAttribute('aria-modal')).toBeNull();
  });
});

describe('Timer', () => {
  it('counts from a server timestamp, and stops where the call ended', () => {
    resetClock('2026-12-05T12:01:05.000Z', Date.now());
    render(
      <>
        <Timer since="2026-12-05T12:00:00.000Z" label="running" />
        <Timer since="2026-12-05T12:00:00.000Z" until="2026-12-05T12:00:42.000Z" label="stopped" />
      </>,
    );
    expect(screen.getByLabelText('running').textContent).toBe('1:05');
    expect(screen.getByLabelText('stopped').textContent).toBe('0:42');
  });
});

describe('Icon', () => {
  it('is an image with a name when labelled, else hidden', () => {
    render(
      <>
        <Icon name="secure" label="Secure variable" />
        <Icon name="hold" />
      </>,
    );
    expect(screen.getByRole('img', { name: 'Secure variable' })).toBeTruthy();
    expect(document.querySelector('.icon-hold')?.getAttribute('aria-hidden')).toBe('true');
  });
});
