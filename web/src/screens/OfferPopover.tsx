// DSK-2: the connecting popover while the agent is reserved and the offer's
// details are on their way, then (as soon as they arrive) the contact-request
// popover: label,
// kind icon, ANI, DNIS, queue, the variables, status "Ringing" and a timer
// from the time the call entered; with the browser phone it rings and has
// Accept (Alt+A).
import { useEffect } from 'preact/hooks';
import { Dialog } from '../components/Dialog';
import { Icon, KIND_ICON } from '../components/Icon';
import { Timer } from '../components/Timer';
import { bindHotkey, HOTKEYS } from '../hotkeys';
import { t, type Key } from '../i18n';
import { phone } from '../phone';
import { startRinging, stopRinging } from '../ring';
import { agent, offer, session } from '../store';
import type { Offer, Variable } from '../types';

export function kindLabel(kind: string): string {
  return t(`kind.${kind}` as Key);
}

export function VariableValue({ v }: { v: Variable }) {
  if (v.masked) return <span class="muted">{t('vars.masked')}</span>;
  if (v.value === null || v.value === '') return <span class="muted">{t('vars.empty')}</span>;
  if (v.type === 'boolean') return <>{v.value === 'true' ? t('vars.true') : t('vars.false')}</>;
  if (v.type === 'datetime') {
    const d = new Date(v.value);
    return <>{Number.isNaN(d.getTime()) ? v.value : d.toLocaleString()}</>;
  }
  return <>{v.value}</>;
}

function OfferDetails({ o }: { o: Offer }) {
  return (
    <div class="offer-body">
      <p class="offer-label">
        <Icon name={KIND_ICON[o.kind] ?? 'inbound'} label={kindLabel(o.kind)} size={20} />
        <strong id="offer-label-text">{o.label}</strong>
      </p>
      <dl class="facts">
        <dt>{t('offer.ani')}</dt>
        <dd data-field="ani">{o.ani}</dd>
        <dt>{t('offer.dnis')}</dt>
        <dd data-field="dnis">{o.dnis}</dd>
        {o.queue_name || o.queue ? (
          <>
            <dt>{t('offer.queue')}</dt>
            <dd data-field="queue">{o.queue_name || o.queue}</dd>
          </>
        ) : null}
        <dt>{t('offer.status')}</dt>
        <dd data-field="status" class="ringing">
          {t('offer.ringing')}
        </dd>
        <dt>{t('offer.sinceEntered')}</dt>
        <dd>
          <Timer since={o.entered_at} label={t('offer.sinceEntered')} />
        </dd>
      </dl>
      {o.variables.length > 0 ? (
        <>
          <h3 class="subhead">{t('offer.variables')}</h3>
          <dl class="facts offer-vars">
            {o.variables.slice(0, 30).map((v) => (
              <div class="fact" key={v.name} data-variable={v.name}>
                <dt>
                  {v.label}
                  {v.secure ? <Icon name="secure" label={t('icon.secure')} size={14} /> : null}
                </dt>
                <dd>
                  <VariableValue v={v} />
                </dd>
              </div>
            ))}
          </dl>
        </>
      ) : null}
    </div>
  );
}

export function OfferPopover() {
  const a = agent.value;
  const o = offer.value;
  const reserved = a?.state === 'reserved';
  const browser = session.value?.phone.kind === 'browser';
  const ringingInBrowser = browser && phone.incoming.value;
  const visible = reserved || o !== null;

  useEffect(() => {
    if (o && ringingInBrowser) startRinging();
    else stopRinging();
    return () => stopRinging();
  }, [o?.interaction_id, ringingInBrowser]);

  useEffect(() => {
    if (!ringingInBrowser) return;
    return bindHotkey('answer', () => phone.answer());
  }, [ringingInBrowser]);

  if (!visible) return null;
  if (!o) {
    return (
      <Dialog id="connecting" title={t('offer.connecting')} modal={false} keepFocus class="offer-popover connecting">
        <p class="muted" role="status">
          {t('offer.connectingText')}
        </p>
      </Dialog>
    );
  }
  return (
    <Dialog
      id="offer"
      title={t('offer.title')}
      modal={false}
      keepFocus={!ringingInBrowser}
      initialFocus=".accept"
      class="offer-popover"
      describedBy="offer-label-text"
    >
      <OfferDetails o={o} />
      <div class="dialog-actions">
        {browser ? (
          <button
            type="button"
            class="primary accept"
            disabled={!ringingInBrowser}
            onClick={() => phone.answer()}
            title={t('common.hotkey', { keys: HOTKEYS.answer.label })}
            aria-keyshortcuts="Alt+A"
          >
            <Icon name="phone" />
            {t('offer.accept')}
          </button>
        ) : (
          <p class="muted">{t('offer.answerOnPhone')}</p>
        )}
      </div>
    </Dialog>
  );
}
