// DSK-1, PH-1: the agent's name, the state selector with the time in state,
// the phone, the header actions (outdial, campaign contact), language, help
// and sign-out.
import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { setAvailable, setIdle } from '../actions';
import { Icon } from '../components/Icon';
import { StateBadge } from '../components/StateBadge';
import { Timer } from '../components/Timer';
import { bindHotkey, HOTKEYS } from '../hotkeys';
import { t, type Key } from '../i18n';
import { phone } from '../phone';
import { headerActions } from '../slots';
import { agent, config, session } from '../store';
import { helpOpen } from '../store/ui';
import type { AgentState } from '../types';
import { LanguageSwitch } from './LanguageSwitch';

const CHOOSABLE: AgentState[] = ['idle', 'available', 'rona'];

export function stateLabel(state: AgentState): string {
  return t(`state.${state}` as Key);
}

export function idleReasonLabel(code: string | null | undefined): string | null {
  if (!code) return null;
  return config.value?.idle_reasons[code] ?? null;
}

function StateSelector() {
  const open = useSignal(false);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLUListElement>(null);
  const a = agent.value;
  const reasons = config.value?.idle_reasons ?? {};
  const current = a?.state ?? 'logged_out';
  const canChoose = CHOOSABLE.includes(current);
  const reasonText = current === 'idle' ? idleReasonLabel(a?.reason) : null;

  useEffect(() => bindHotkey('state', () => button.current?.click()), []);
  useEffect(() => {
    if (open.value) menu.current?.querySelector<HTMLElement>('[role="menuitemradio"]')?.focus();
  }, [open.value]);

  const close = (focus = true) => {
    open.value = false;
    if (focus) button.current?.focus();
  };
  const choose = async (state: 'available' | 'idle', reason?: string) => {
    close();
    if (state === 'available') await setAvailable();
    else if (reason) await setIdle(reason);
  };
  const onMenuKey = (e: KeyboardEvent) => {
    const items = Array.from(menu.current?.querySelectorAll<HTMLElement>('[role="menuitemradio"]') ?? []);
    const i = items.indexOf(document.activeElement as HTMLElement);
    if (e.key === 'Escape') {
      e.preventDefault();
      close();
    } else if (e.key === 'ArrowDown') {
      e.preventDefault();
      items[(i + 1) % items.length]?.focus();
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      items[(i - 1 + items.length) % items.length]?.focus();
    } else if (e.key === 'Home') {
      e.preventDefault();
      items[0]?.focus();
    } else if (e.key === 'End') {
      e.preventDefault();
      items[items.length - 1]?.focus();
    } else if (e.key === 'Tab') {
      close(false);
    }
  };

  return (
    <div class="state-selector">
      <button
        ref={button}
        type="button"
        id="state-button"
        class="state-button"
        aria-haspopup="menu"
        aria-expanded={open.value}
        aria-controls="state-menu"
        aria-label={t('header.stateSelector', { state: reasonText ? `${stateLabel(current)}: ${reasonText}` : stateLabel(current) })}
        title={`${t('header.state')} (${HOTKEYS.state.label})`}
        disabled={!canChoose}
        onClick={() => (open.value = !open.value)}
      >
        <StateBadge state={current} reason={reasonText} />
        {canChoose ? <span class="caret" aria-hidden="true">▾</span> : null}
      </button>
      {open.value ? (
        <ul id="state-menu" ref={menu} role="menu" aria-labelledby="state-button" class="menu" onKeyDown={onMenuKey}>
          <li role="none">
            <button
              type="button"
              role="menuitemradio"
              aria-checked={current === 'available'}
              class="menu-item"
              onClick={() => void choose('available')}
            >
              <span class="dot state-available" aria-hidden="true" />
              {t('state.available')}
            </button>
          </li>
          {Object.entries(reasons).map(([code, label]) => (
            <li role="none" key={code}>
              <button
                type="button"
                role="menuitemradio"
                aria-checked={current === 'idle' && a?.reason === code}
                class="menu-item"
                onClick={() => void choose('idle', code)}
              >
                <span class="dot state-idle" aria-hidden="true" />
                {t('header.idleWith', { reason: label })}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <span class="state-time">
        <Icon name="clock" />
        <Timer since={a?.since} label={t('header.timeInState')} />
      </span>
    </div>
  );
}

function PhoneStatus() {
  const s = session.value;
  if (!s) return null;
  if (s.phone.kind === 'extension') {
    return (
      <span class="phone-status" data-phone="extension">
        <Icon name="phone" />
        {t('header.phone.extension', { extension: s.phone.extension ?? '' })}
      </span>
    );
  }
  const reg = phone.reg.value;
  return (
    <span class={`phone-status reg-${reg}`} data-phone="browser" data-reg={reg} role="status">
      <Icon name="phone" />
      {t(`header.phone.${reg}` as Key)}
    </span>
  );
}

/** SUP-4: a supervisor logged the agent out; the page says what to do. */
export function LoggedOutBanner() {
  if (agent.value?.state !== 'logged_out') return null;
  return (
    <div class="banner warning" role="alert" id="logged-out">
      <Icon name="warning" />
      {t('header.loggedOut')}
    </div>
  );
}

/** PH-1: while the browser phone is not registered the agent gets no offers. */
export function PhoneWarning() {
  const s = session.value;
  if (!s || s.phone.kind !== 'browser') return null;
  const reg = phone.reg.value;
  if (reg === 'registered' || reg === 'registering') return null;
  return (
    <div class="banner warning" role="alert" id="phone-warning">
      <Icon name="warning" />
      {t('header.phone.lost')}
    </div>
  );
}

export function Header({ onSignOut }: { onSignOut: () => void }) {
  const s = session.value;
  return (
    <header class="app-header" role="banner">
      <div class="who">
        <Icon name="user" />
        <span class="agent-name" id="agent-name">
          {s?.name ?? ''}
        </span>
      </div>
      <nav class="header-main" aria-label={t('header.region')}>
        <StateSelector />
        <PhoneStatus />
        <div class="header-actions">
          {headerActions.value.map((a) => (
            <span key={a.id} class="header-action" data-slot={a.id}>
              {a.render()}
            </span>
          ))}
        </div>
      </nav>
      <div class="header-tools">
        <LanguageSwitch id="header-lang" />
        <button
          type="button"
          class="icon-button"
          onClick={() => (helpOpen.value = true)}
          title={`${t('help.open')} (${HOTKEYS.help.label})`}
          aria-label={t('help.open')}
        >
          <Icon name="help" />
        </button>
        <button type="button" class="signout" onClick={onSignOut}>
          <Icon name="signout" />
          {t('header.signOut')}
        </button>
      </div>
    </header>
  );
}
