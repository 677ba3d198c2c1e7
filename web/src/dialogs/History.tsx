// DSK-10: the interaction history in the auxiliary pane ("Agent-
// Interaktionsverlauf"): All and Calls tabs, each wrapped-up call with its
// number, direction, times, queue and wrap-up reason; Click-to-call and
// Edit before call (with the keypad permission), both disabled during an
// active call (HI-2).
import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { Dialog } from '../components/Dialog';
import { Icon, KIND_ICON } from '../components/Icon';
import { formatDuration } from '../store/clock';
import { locale, t } from '../i18n';
import { config, onEvent } from '../store';
import { signal } from '@preact/signals';
import { dialogsApi, type HistoryEntry } from './api';
import { outboundErrorText } from './outbound';
import { mayDialOut, AniSelect, DialPad } from './Outdial';
import { DialNumberField, dialProblemText, me } from './shared';

/** Bumped when a call was wrapped up: the history reads itself again. */
const changed = signal(0);
onEvent((event) => {
  if (event.type === 'interaction.wrapped_up') changed.value += 1;
});

function time(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(locale.value, { dateStyle: 'short', timeStyle: 'short' });
}

function EditCall({ entry, onClose }: { entry: HistoryEntry; onClose: () => void }) {
  const number = useSignal(entry.number);
  const ani = useSignal('');
  const tried = useSignal(false);
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const problem = dialProblemText(number.value);
  const call = async () => {
    tried.value = true;
    if (dialProblemText(number.value) || busy.value) return;
    busy.value = true;
    try {
      await dialogsApi.historyCall(me(), entry.interaction_id, ani.value ? { number: number.value, ani: ani.value } : { number: number.value });
      onClose();
    } catch (e) {
      error.value = outboundErrorText(e);
    } finally {
      busy.value = false;
    }
  };
  return (
    <Dialog id="history-edit" title={t('history.editTitle')} onClose={onClose} class="outdial-dialog" initialFocus="#history-number">
      <DialNumberField id="history-number" value={number.value} onInput={(v) => (number.value = v)} error={tried.value ? problem : null} onEnter={() => void call()} />
      <DialPad onKey={(k) => (number.value = number.value + k)} />
      <AniSelect id="history-ani" value={ani.value} onChange={(v) => (ani.value = v)} />
      {error.value ? (
        <p class="message error" role="alert">
          {error.value}
        </p>
      ) : null}
      <div class="dialog-actions">
        <button type="button" onClick={onClose}>
          {t('common.cancel')}
        </button>
        <button type="button" class="primary call-number" disabled={busy.value || !mayDialOut()} onClick={() => void call()}>
          <Icon name="phone" />
          {t('outdial.call')}
        </button>
      </div>
    </Dialog>
  );
}

function Row({ entry, onCall, onEdit, busy }: { entry: HistoryEntry; onCall: () => void; onEdit: () => void; busy: boolean }) {
  const can = mayDialOut() && !busy;
  const keypad = config.value?.keypad ?? false;
  return (
    <li class="history-entry" data-interaction={entry.interaction_id}>
      <div class="history-main">
        <Icon name={entry.direction === 'outbound' ? 'outdial' : KIND_ICON[entry.kind] ?? 'inbound'} label={t(`kind.${entry.kind}`)} />
        <span class="history-number number">{entry.number}</span>
        <span class="history-label">{entry.label}</span>
      </div>
      <dl class="history-facts">
        <dt>{t('history.direction')}</dt>
        <dd>{entry.direction === 'outbound' ? t('history.outbound') : t('history.inbound')}</dd>
        <dt>{t('history.started')}</dt>
        <dd>{time(entry.started_at)}</dd>
        <dt>{t('history.duration')}</dt>
        <dd>{entry.duration_seconds !== null ? formatDuration(entry.duration_seconds) : '—'}</dd>
        {entry.queue_name ? (
          <>
            <dt>{t('offer.queue')}</dt>
            <dd>{entry.queue_name}</dd>
          </>
        ) : null}
        <dt>{t('history.wrapUp')}</dt>
        <dd>{entry.wrap_up_label ?? entry.wrap_up_reason ?? '—'}</dd>
      </dl>
      <div class="history-actions">
        <button type="button" class="click-to-call" disabled={!can} aria-label={t('history.callNumber', { number: entry.number })} onClick={onCall}>
          <Icon name="phone" />
          {t('history.clickToCall')}
        </button>
        {keypad ? (
          <button type="button" class="edit-call" disabled={!can} aria-label={t('history.editNumber', { number: entry.number })} onClick={onEdit}>
            <Icon name="keypad" />
            {t('history.edit')}
          </button>
        ) : null}
      </div>
    </li>
  );
}

export function HistoryPane() {
  const tab = useSignal<'all' | 'calls'>('all');
  const entries = useSignal<HistoryEntry[] | null>(null);
  const error = useSignal<string | null>(null);
  const editing = useSignal<HistoryEntry | null>(null);
  const busy = useSignal(false);
  const gen = useRef(0);
  const version = changed.value;

  useEffect(() => {
    const mine = ++gen.current;
    void dialogsApi
      .history(me(), tab.value)
      .then((r) => {
        if (mine === gen.current) {
          entries.value = r.entries;
          error.value = null;
        }
      })
      .catch((e: unknown) => {
        if (mine === gen.current) error.value = outboundErrorText(e);
      });
  }, [tab.value, version]);

  const call = async (entry: HistoryEntry) => {
    if (busy.value) return;
    busy.value = true;
    try {
      await dialogsApi.historyCall(me(), entry.interaction_id, {});
      error.value = null;
    } catch (e) {
      error.value = outboundErrorText(e);
    } finally {
      busy.value = false;
    }
  };
  const tabs: ['all' | 'calls', string][] = [
    ['all', t('history.all')],
    ['calls', t('history.calls')],
  ];
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      e.preventDefault();
      tab.value = tab.value === 'all' ? 'calls' : 'all';
      document.getElementById(`history-tab-${tab.value}`)?.focus();
    }
  };
  const list = entries.value;
  return (
    <div class="history">
      <div role="tablist" class="tabs sub-tabs" aria-label={t('aux.history')} onKeyDown={onKey}>
        {tabs.map(([id, label]) => (
          <button
            key={id}
            type="button"
            role="tab"
            id={`history-tab-${id}`}
            aria-selected={tab.value === id}
            aria-controls="history-panel"
            tabIndex={tab.value === id ? 0 : -1}
            onClick={() => (tab.value = id)}
          >
            {label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id="history-panel" aria-labelledby={`history-tab-${tab.value}`}>
        {!mayDialOut() ? <p class="muted history-note">{t('history.disabled')}</p> : null}
        {error.value ? (
          <p class="message error" role="alert">
            {error.value}
          </p>
        ) : null}
        {list === null ? <p class="muted">{t('common.loading')}</p> : list.length === 0 ? <p class="muted">{t('history.empty')}</p> : null}
        {list && list.length > 0 ? (
          <ul class="history-list">
            {list.map((entry) => (
              <Row key={entry.interaction_id} entry={entry} busy={busy.value} onCall={() => void call(entry)} onEdit={() => (editing.value = entry)} />
            ))}
          </ul>
        ) : null}
      </div>
      {editing.value ? <EditCall entry={editing.value} onClose={() => (editing.value = null)} /> : null}
    </div>
  );
}
