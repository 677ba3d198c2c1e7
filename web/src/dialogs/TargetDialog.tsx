// DSK-6, DSK-7: the transfer and consult dialogs ("Anforderung übergeben",
// "Beratungs-Anforderung"): the kinds of target the call allows (TR-7),
// a search field, a refresh button, agents with their state (colour and
// text), queues (and entry points, for a transfer), and a number typed or
// taken from the address book (names with their numbers).
import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { attempt } from '../actions';
import { Dialog } from '../components/Dialog';
import { StateBadge } from '../components/StateBadge';
import { errorText, t, type Key } from '../i18n';
import type { Interaction } from '../types';
import { dialogsApi, type AgentTarget, type QueueTarget, type Target, type TargetKind } from './api';
import { DialNumberField, dialProblemText, rememberNames, rememberQueues, syncCall } from './shared';
import {
  agentSelectable,
  choicesFor,
  filterTargets,
  listedKinds,
  targetKey,
  targetValue,
  type Choice,
} from './targets';

export type Mode = 'transfer' | 'consult';

export function RefreshIcon() {
  return (
    <svg class="icon" width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" focusable="false" aria-hidden="true">
      <path d="M20 11a8 8 0 1 0-2.3 5.7M20 4v7h-7" />
    </svg>
  );
}

const CHOICE_KEY: Record<Choice, Key> = {
  agent: 'target.agent',
  queue: 'target.queue',
  dial_number: 'target.dialNumber',
};

function TargetRow({ target, mode, name, checked, onPick }: {
  target: Target;
  mode: Mode;
  name: string;
  checked: boolean;
  onPick: () => void;
}) {
  const id = `${name}-${targetKey(target).replace(/[^a-zA-Z0-9_-]/g, '_')}`;
  const disabled = target.kind === 'agent' && !agentSelectable(target.state, mode);
  return (
    <li class={`target-row${checked ? ' chosen' : ''}${disabled ? ' unavailable' : ''}`} data-target={targetValue(target)} data-kind={target.kind}>
      <input type="radio" id={id} name={name} checked={checked} disabled={disabled} onChange={onPick} />
      <label for={id}>
        <span class="target-name">{target.name}</span>
        {target.kind === 'agent' ? (
          <>
            <span class="target-sub">{target.extension}</span>
            <StateBadge state={target.state} />
          </>
        ) : target.kind === 'queue' ? (
          <span class="target-sub">{t('target.waiting', { count: target.waiting })}</span>
        ) : target.kind === 'entry_point' ? (
          <span class="target-sub">
            {t('target.entryPoint')} · {target.number}
          </span>
        ) : (
          <span class="target-sub number">{target.number}</span>
        )}
      </label>
    </li>
  );
}

export function TargetDialog({ ix, mode, onClose }: { ix: Interaction; mode: Mode; onClose: () => void }) {
  const kinds = useSignal<TargetKind[] | null>(null);
  const choice = useSignal<Choice>('agent');
  const search = useSignal('');
  const list = useSignal<Target[]>([]);
  const loading = useSignal(false);
  const picked = useSignal<Target | null>(null);
  const number = useSignal('');
  const tried = useSignal(false);
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const generation = useRef(0);

  const load = async (which: Choice, text: string, allowed: TargetKind[]) => {
    const gen = ++generation.current;
    loading.value = true;
    try {
      const wanted = listedKinds(which, allowed);
      const results = await Promise.all(wanted.map((k) => dialogsApi.targets(k, text, ix.id, mode)));
      if (gen !== generation.current) return;
      const all = results.flatMap((r) => r.targets);
      rememberNames(all.filter((x): x is AgentTarget => x.kind === 'agent'));
      rememberQueues(all.filter((x): x is QueueTarget => x.kind === 'queue'));
      list.value = all;
      error.value = null;
    } catch (e) {
      if (gen === generation.current) error.value = errorText(e);
    } finally {
      if (gen === generation.current) loading.value = false;
    }
  };

  // The first list answers which kinds this call allows (TR-7, CO-1).
  useEffect(() => {
    void (async () => {
      loading.value = true;
      try {
        const first = await dialogsApi.targets('agent', '', ix.id, mode);
        const allowed = mode === 'transfer' ? first.transfer_kinds : first.consult_kinds;
        kinds.value = allowed;
        const offered = choicesFor(allowed);
        const start = offered[0] ?? 'agent';
        choice.value = start;
        if (start === 'agent') {
          rememberNames(first.targets.filter((x): x is AgentTarget => x.kind === 'agent'));
          list.value = first.targets;
          loading.value = false;
        } else {
          await load(start, '', allowed);
        }
      } catch (e) {
        error.value = errorText(e);
        loading.value = false;
      }
    })();
  }, []);

  const allowed = kinds.value ?? [];
  const choices = choicesFor(allowed);

  const choose = (c: Choice) => {
    if (c === choice.value) return;
    choice.value = c;
    picked.value = null;
    list.value = [];
    error.value = null;
    void load(c, search.value, allowed);
  };
  const onSearch = (text: string) => {
    search.value = text;
    void load(choice.value, text, allowed);
  };

  const shown = filterTargets(list.value, search.value);
  const numberProblem = choice.value === 'dial_number' && !picked.value ? dialProblemText(number.value) : null;
  const canSend =
    !busy.value && (choice.value === 'dial_number' ? picked.value !== null || number.value !== '' : picked.value !== null);

  const send = async () => {
    tried.value = true;
    if (busy.value) return;
    let kind: TargetKind;
    let target: string;
    if (picked.value) {
      kind = picked.value.kind;
      target = targetValue(picked.value);
    } else if (choice.value === 'dial_number') {
      if (dialProblemText(number.value)) return;
      kind = 'dial_number';
      target = number.value;
    } else {
      return;
    }
    busy.value = true;
    try {
      if (mode === 'transfer') {
        const result = await attempt(() => dialogsApi.transfer(ix.id, kind, target));
        if (result.ok) onClose();
      } else {
        const result = await attempt(() => dialogsApi.consult(ix.id, kind, target));
        if (result.ok) {
          onClose();
          await syncCall(ix.id, result.value);
        }
      }
    } finally {
      busy.value = false;
    }
  };

  const title = mode === 'transfer' ? t('transfer.title') : t('consult.title');
  const listName = `${mode}-target`;
  return (
    <Dialog id={`${mode}-dialog`} title={title} onClose={onClose} class="target-dialog" initialFocus={`#${mode}-search`}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        <fieldset class="target-kinds">
          <legend>{mode === 'transfer' ? t('transfer.to') : t('consult.with')}</legend>
          {choices.map((c) => (
            <label key={c} class="radio">
              <input type="radio" name={`${mode}-kind`} value={c} checked={choice.value === c} onChange={() => choose(c)} />
              {t(CHOICE_KEY[c])}
            </label>
          ))}
        </fieldset>
        <div class="target-search">
          <label for={`${mode}-search`}>{t('target.search')}</label>
          <input
            id={`${mode}-search`}
            type="search"
            autoComplete="off"
            value={search.value}
            onInput={(e) => onSearch((e.currentTarget as HTMLInputElement).value)}
          />
          <button
            type="button"
            class="icon-button refresh"
            aria-label={t('target.refresh')}
            title={t('target.refresh')}
            onClick={() => void load(choice.value, search.value, allowed)}
          >
            <RefreshIcon />
          </button>
        </div>
        {choice.value === 'dial_number' ? (
          <DialNumberField
            id={`${mode}-number`}
            value={number.value}
            onInput={(v) => {
              number.value = v;
              picked.value = null;
            }}
            error={tried.value ? numberProblem : null}
            onEnter={() => void send()}
          />
        ) : null}
        {choice.value === 'dial_number' ? <h3 class="subhead">{t('target.addressBook')}</h3> : null}
        <div class="target-list" aria-busy={loading.value ? 'true' : 'false'}>
          {shown.length === 0 && !loading.value ? <p class="muted">{t('target.none')}</p> : null}
          <ul aria-label={choice.value === 'dial_number' ? t('target.addressBook') : t(CHOICE_KEY[choice.value])}>
            {shown.map((x) => (
              <TargetRow
                key={targetKey(x)}
                target={x}
                mode={mode}
                name={listName}
                checked={picked.value !== null && targetKey(picked.value) === targetKey(x)}
                onPick={() => {
                  picked.value = x;
                  if (x.kind === 'address_book') number.value = '';
                }}
              />
            ))}
          </ul>
        </div>
        {error.value ? (
          <p class="message error" role="alert">
            {error.value}
          </p>
        ) : null}
        <div class="dialog-actions">
          <button type="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" class="primary send" disabled={!canSend}>
            {mode === 'transfer' ? t('transfer.send') : t('consult.send')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
