// DSK-5: the call's variables: at most 30 in order, the secure icon, an
// input per type, the 256-character limit, copy, Save (with the versions
// read), Restore (the last saved values), the warning before leaving with
// unsaved changes and the conflict message (CAD-4). Values live only in
// memory: never in storage or the URL.
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { api, ApiError } from '../api';
import { Icon } from '../components/Icon';
import { errorText, hasKey, t } from '../i18n';
import { interaction, notify, variables } from '../store';
import { varsDirty } from '../store/ui';
import type { Variable, VariablesView } from '../types';
import { changed, edits, MAX_LENGTH, MAX_SHOWN, problems, toInput, type Bases, type Drafts } from '../varform';
import { VariableValue } from './OfferPopover';

async function copy(v: Variable, text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    notify(t('vars.copied', { label: v.label }), 'info', 3000);
  } catch {
    notify(t('vars.copyFailed'), 'error', 4000);
  }
}

function Field({
  v,
  input,
  canEdit,
  problem,
  onInput,
}: {
  v: Variable;
  input: string;
  canEdit: boolean;
  problem: string | null;
  onInput: (value: string) => void;
}) {
  const id = `var-${v.name}`;
  const editable = canEdit && v.editable;
  const describedBy = [problem ? `${id}-problem` : '', v.type === 'string' && editable ? `${id}-count` : '']
    .filter(Boolean)
    .join(' ');
  const common = {
    id,
    name: v.name,
    autocomplete: 'off',
    'aria-invalid': problem ? true : undefined,
    'aria-describedby': describedBy || undefined,
    'data-type': v.type,
  } as const;
  let control;
  if (!editable) {
    control = (
      <output id={id} class="readonly" aria-labelledby={`${id}-label`} data-type={v.type}>
        <VariableValue v={v} />
      </output>
    );
  } else if (v.type === 'boolean') {
    control = (
      <input
        {...common}
        type="checkbox"
        checked={input === 'true'}
        onChange={(e) => onInput((e.target as HTMLInputElement).checked ? 'true' : 'false')}
      />
    );
  } else if (v.type === 'datetime') {
    control = (
      <input {...common} type="datetime-local" step={1} value={input} onInput={(e) => onInput((e.target as HTMLInputElement).value)} />
    );
  } else {
    control = (
      <input
        {...common}
        type="text"
        inputMode={v.type === 'integer' ? 'numeric' : v.type === 'decimal' ? 'decimal' : undefined}
        spellcheck={false}
        maxLength={MAX_LENGTH}
        value={input}
        onInput={(e) => onInput((e.target as HTMLInputElement).value)}
      />
    );
  }
  const copyText = editable ? input : v.value ?? '';
  return (
    <div class={`var-row${problem ? ' invalid' : ''}`} data-variable={v.name}>
      <label id={`${id}-label`} for={editable ? id : undefined} class="var-label">
        {v.label}
        {v.secure ? <Icon name="secure" label={t('icon.secure')} size={14} /> : null}
        {!editable ? <span class="visually-hidden"> ({t('vars.readOnly')})</span> : null}
      </label>
      <div class="var-input">
        {control}
        <button
          type="button"
          class="icon-button copy"
          aria-label={t('vars.copy', { label: v.label })}
          title={t('vars.copy', { label: v.label })}
          disabled={!copyText || v.masked}
          onClick={() => void copy(v, copyText)}
        >
          <Icon name="copy" />
        </button>
      </div>
      {v.type === 'string' && editable ? (
        <small id={`${id}-count`} class={`count${input.length >= MAX_LENGTH ? ' at-limit' : ''}`}>
          {t('vars.count', { count: input.length, max: MAX_LENGTH })}
        </small>
      ) : null}
      {problem ? (
        <small id={`${id}-problem`} class="problem" role="alert">
          {problem}
        </small>
      ) : null}
    </div>
  );
}

export function VariablesForm() {
  const view = variables.value;
  const ix = interaction.value;
  const drafts = useSignal<Drafts>({});
  const bases = useSignal<Bases>({});
  const serverProblems = useSignal<Record<string, string>>({});
  const message = useSignal<{ text: string; tone: 'error' | 'info' } | null>(null);
  const busy = useSignal(false);
  const ixId = view?.interaction_id ?? null;

  // A new call starts with no drafts.
  useEffect(() => {
    drafts.value = {};
    bases.value = {};
    serverProblems.value = {};
    message.value = null;
  }, [ixId]);

  const vars = (view?.variables ?? []).slice(0, MAX_SHOWN);
  const canEdit = Boolean(view?.can_edit) && ix?.status === 'connected' && ix.id === ixId;
  const dirtyNames = changed(vars, drafts.value);
  const localProblems = problems(vars, drafts.value);
  const dirty = canEdit && dirtyNames.length > 0;

  useEffect(() => {
    varsDirty.value = dirty;
  }, [dirty]);
  useEffect(() => () => void (varsDirty.value = false), []);

  if (!view || !ix || view.interaction_id !== ix.id) return null;

  const inputOf = (v: Variable) => drafts.value[v.name] ?? toInput(v);

  const setDraft = (name: string, value: string) => {
    if (!(name in bases.value)) {
      const v = vars.find((x) => x.name === name);
      bases.value = { ...bases.value, [name]: v?.version ?? 0 };
    }
    drafts.value = { ...drafts.value, [name]: value };
    if (serverProblems.value[name]) {
      const { [name]: _gone, ...rest } = serverProblems.value;
      serverProblems.value = rest;
    }
    message.value = null;
  };

  const applySaved = (saved: VariablesView, keep: Drafts) => {
    variables.value = saved;
    drafts.value = keep;
    const kept: Bases = {};
    for (const name of Object.keys(keep)) if (name in bases.value) kept[name] = bases.value[name]!;
    bases.value = kept;
  };

  const save = async (e: Event) => {
    e.preventDefault();
    if (!dirty || Object.keys(localProblems).length > 0 || busy.value) return;
    busy.value = true;
    message.value = null;
    try {
      const saved = await api.saveVariables(view.interaction_id, edits(vars, drafts.value, bases.value));
      applySaved(saved, {});
      serverProblems.value = {};
      message.value = { text: t('vars.saved'), tone: 'info' };
    } catch (error) {
      if (error instanceof ApiError && error.errorId === 'variable-conflict') {
        // CAD-4: the first save won: show its value, keep the other drafts.
        const name = String(error.details['variable'] ?? '');
        const v = vars.find((x) => x.name === name);
        const label = v?.label ?? name;
        const value = error.details['current_value'];
        message.value = {
          tone: 'error',
          text:
            value === null || value === undefined || error.details['masked'] === true
              ? t('vars.conflictMasked', { label })
              : t('vars.conflict', { label, value: String(value) }),
        };
        const conflicted = new Set(
          ((error.details['conflicts'] as { variable: string }[] | undefined) ?? [{ variable: name }]).map((c) => c.variable),
        );
        const keep: Drafts = {};
        for (const [k, val] of Object.entries(drafts.value)) if (!conflicted.has(k)) keep[k] = val;
        try {
          applySaved(await api.variables(view.interaction_id), keep);
        } catch {
          drafts.value = keep;
        }
      } else if (error instanceof ApiError && typeof error.details['variable'] === 'string') {
        const name = error.details['variable'];
        serverProblems.value = { ...serverProblems.value, [name]: errorText(error) };
        const v = vars.find((x) => x.name === name);
        message.value = { tone: 'error', text: t('vars.invalid', { label: v?.label ?? name, problem: errorText(error) }) };
      } else {
        message.value = { tone: 'error', text: errorText(error) };
      }
    } finally {
      busy.value = false;
    }
  };

  const restore = async () => {
    message.value = null;
    serverProblems.value = {};
    try {
      applySaved(await api.variables(view.interaction_id), {});
    } catch (error) {
      drafts.value = {};
      message.value = { tone: 'error', text: errorText(error) };
    }
  };

  return (
    <form class="variables" aria-labelledby="vars-title" onSubmit={save} autocomplete="off" noValidate>
      <div class="vars-head">
        <h3 id="vars-title" class="subhead">
          {t('vars.title')}
        </h3>
        {dirty ? (
          <span class="unsaved" role="status">
            {t('vars.unsaved')}
          </span>
        ) : null}
      </div>
      {vars.length === 0 ? <p class="muted">{t('vars.none')}</p> : null}
      <div class="var-grid">
        {vars.map((v) => {
          const local = localProblems[v.name];
          const problem = local && hasKey(local) ? t(local, { max: MAX_LENGTH }) : serverProblems.value[v.name] ?? null;
          return (
            <Field
              key={v.name}
              v={v}
              input={inputOf(v)}
              canEdit={canEdit}
              problem={problem}
              onInput={(value) => setDraft(v.name, value)}
            />
          );
        })}
      </div>
      <div class="vars-message" aria-live="polite">
        {message.value ? (
          <p class={`message ${message.value.tone}`} id="vars-message" role={message.value.tone === 'error' ? 'alert' : undefined}>
            {message.value.text}
          </p>
        ) : null}
      </div>
      {canEdit && vars.some((v) => v.editable) ? (
        <div class="form-actions">
          <button type="button" onClick={() => void restore()} disabled={busy.value}>
            {t('vars.restore')}
          </button>
          <button type="submit" class="primary" disabled={!dirty || busy.value || Object.keys(localProblems).length > 0}>
            {t('vars.save')}
          </button>
        </div>
      ) : null}
    </form>
  );
}
