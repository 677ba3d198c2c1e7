// DSK-9: the header's Outdial button ("Externer Anruf", shown where the
// profile allows outdial) and its dialog: the searchable address book with
// a Call button per entry, the keypad where the profile allows it, and the
// outdial ANI drop-down (alphabetical, with a "none chosen" entry: the
// tenant's default is used).
import { useSignal, useSignalEffect } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { Dialog } from '../components/Dialog';
import { Icon } from '../components/Icon';
import { t } from '../i18n';
import { agent, config, interaction, offer } from '../store';
import { dialogsApi, type BookEntry } from './api';
import { outboundErrorText } from './outbound';
import { DialNumberField, dialProblemText, me } from './shared';

/** OD-1: available or idle, with no call and no offer. */
export function mayDialOut(): boolean {
  const state = agent.value?.state;
  return (state === 'available' || state === 'idle') && !interaction.value && !offer.value;
}

/** OD-3: the ANIs in alphabetical order. */
export function sortedAnis(anis: readonly string[]): string[] {
  return [...anis].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

export function AniSelect({ id, value, onChange }: { id: string; value: string; onChange: (v: string) => void }) {
  const anis = useSignal<string[]>([]);
  const fallback = useSignal<string | null>(null);
  useEffect(() => {
    void dialogsApi
      .anis(me())
      .then((r) => {
        anis.value = sortedAnis(r.anis);
        fallback.value = r.default;
      })
      .catch(() => undefined);
  }, []);
  return (
    <div class="ani-field">
      <label for={id}>{t('outdial.ani')}</label>
      <select id={id} value={value} onChange={(e) => onChange((e.currentTarget as HTMLSelectElement).value)}>
        <option value="">{fallback.value ? t('outdial.aniNoneDefault', { ani: fallback.value }) : t('outdial.aniNone')}</option>
        {anis.value.map((a) => (
          <option key={a} value={a}>
            {a}
          </option>
        ))}
      </select>
    </div>
  );
}

const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#', '+'];

export function DialPad({ onKey }: { onKey: (k: string) => void }) {
  return (
    <div class="keypad dialpad" role="group" aria-label={t('outdial.keypad')}>
      {KEYS.map((k) => (
        <button type="button" key={k} aria-label={t('outdial.key', { key: k })} onClick={() => onKey(k)}>
          {k}
        </button>
      ))}
    </div>
  );
}

export function OutdialDialog({ onClose }: { onClose: () => void }) {
  const search = useSignal('');
  const entries = useSignal<BookEntry[]>([]);
  const number = useSignal('');
  const tried = useSignal(false);
  const ani = useSignal('');
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const gen = useRef(0);
  const keypad = config.value?.keypad ?? false;

  const load = async (text: string) => {
    const mine = ++gen.current;
    try {
      const r = await dialogsApi.addressBook(text);
      if (mine === gen.current) entries.value = r.entries;
    } catch (e) {
      if (mine === gen.current) error.value = outboundErrorText(e);
    }
  };
  useEffect(() => void load(''), []);

  const dial = async (body: { number?: string; address_book?: string }) => {
    if (busy.value || !mayDialOut()) return;
    busy.value = true;
    error.value = null;
    try {
      await dialogsApi.outdial(me(), ani.value ? { ...body, ani: ani.value } : body);
      onClose();
    } catch (e) {
      error.value = outboundErrorText(e);
    } finally {
      busy.value = false;
    }
  };
  const problem = dialProblemText(number.value);
  const dialTyped = () => {
    tried.value = true;
    // (read now, not from the last render: the field may have changed since)
    if (!dialProblemText(number.value)) void dial({ number: number.value });
  };

  return (
    <Dialog id="outdial-dialog" title={t('outdial.title')} onClose={onClose} class="outdial-dialog" initialFocus="#outdial-search">
      <AniSelect id="outdial-ani" value={ani.value} onChange={(v) => (ani.value = v)} />
      <div class={`outdial-body${keypad ? ' with-keypad' : ''}`}>
        <section class="outdial-book" aria-labelledby="outdial-book-title">
          <h3 id="outdial-book-title" class="subhead">
            {t('target.addressBook')}
          </h3>
          <label for="outdial-search">{t('target.search')}</label>
          <input
            id="outdial-search"
            type="search"
            autoComplete="off"
            value={search.value}
            onInput={(e) => {
              search.value = (e.currentTarget as HTMLInputElement).value;
              void load(search.value);
            }}
          />
          <ul class="book-list">
            {entries.value.length === 0 ? <li class="muted">{t('target.none')}</li> : null}
            {entries.value.map((entry) => (
              <li key={entry.name} class="book-entry" data-entry={entry.name}>
                <span class="book-name">{entry.name}</span>
                <span class="book-number number">{entry.number}</span>
                <button
                  type="button"
                  class="primary call-entry"
                  disabled={busy.value || !mayDialOut()}
                  aria-label={t('outdial.callName', { name: entry.name })}
                  onClick={() => void dial({ address_book: entry.name })}
                >
                  <Icon name="phone" />
                  {t('outdial.call')}
                </button>
              </li>
            ))}
          </ul>
        </section>
        {keypad ? (
          <section class="outdial-keypad" aria-labelledby="outdial-keypad-title">
            <h3 id="outdial-keypad-title" class="subhead">
              {t('outdial.keypad')}
            </h3>
            <DialNumberField
              id="outdial-number"
              value={number.value}
              onInput={(v) => (number.value = v)}
              error={tried.value ? problem : null}
              onEnter={dialTyped}
            />
            <DialPad
              onKey={(k) => {
                number.value = number.value + k;
              }}
            />
            <button type="button" class="primary call-number" disabled={busy.value || !mayDialOut()} onClick={dialTyped}>
              <Icon name="phone" />
              {t('outdial.call')}
            </button>
          </section>
        ) : null}
      </div>
      {error.value ? (
        <p class="message error outdial-error" role="alert">
          {error.value}
        </p>
      ) : null}
      <div class="dialog-actions">
        <button type="button" onClick={onClose}>
          {t('common.close')}
        </button>
      </div>
    </Dialog>
  );
}

export function OutdialButton() {
  const open = useSignal(false);
  // An offer or a call takes the agent's attention: the dialog gives way to
  // it. A passing change of state does not close it (what was typed stays);
  // its Call buttons wait instead (OD-1).
  useSignalEffect(() => {
    const live = interaction.value !== null && interaction.value.status !== 'ended';
    if (offer.value !== null || live) open.value = false;
  });
  if (!config.value?.outdial) return null;
  const enabled = mayDialOut();
  return (
    <>
      <button
        type="button"
        class="header-button outdial-button"
        disabled={!enabled}
        aria-haspopup="dialog"
        onClick={() => (open.value = true)}
      >
        <Icon name="outdial" />
        {t('header.outdial')}
      </button>
      {open.value ? <OutdialDialog onClose={() => (open.value = false)} /> : null}
    </>
  );
}
