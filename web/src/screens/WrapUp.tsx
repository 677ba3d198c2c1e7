// DSK-12: the wrap-up dialog: searchable reasons, exactly one chosen, and the
// auto wrap-up countdown (from server time) where the tenant sets one.
import { useSignal } from '@preact/signals';
import { wrapUp } from '../actions';
import { Dialog } from '../components/Dialog';
import { Countdown } from '../components/Timer';
import { t } from '../i18n';
import { agent, config, interaction } from '../store';
import { parseTime } from '../store/clock';

export function filterReasons(reasons: Record<string, string>, search: string): [string, string][] {
  const q = search.trim().toLocaleLowerCase();
  return Object.entries(reasons).filter(([code, label]) => !q || label.toLocaleLowerCase().includes(q) || code.includes(q));
}

export function WrapUpDialog() {
  const a = agent.value;
  const search = useSignal('');
  const chosen = useSignal<string | null>(null);
  const busy = useSignal(false);
  const ixId = a?.state === 'wrap_up' ? a.interaction ?? interaction.value?.id ?? null : null;
  if (!a || a.state !== 'wrap_up' || !ixId) return null;
  const reasons = config.value?.wrap_up_reasons ?? {};
  const shown = filterReasons(reasons, search.value);
  const autoSeconds = config.value?.auto_wrap_up_seconds ?? 0;
  const started = parseTime(a.since);
  const autoAt = autoSeconds > 0 && started !== null ? started + autoSeconds * 1000 : null;
  const pick = chosen.value && chosen.value in reasons ? chosen.value : null;

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!pick || busy.value) return;
    busy.value = true;
    try {
      const result = await wrapUp(ixId, pick);
      if (result.ok) {
        chosen.value = null;
        search.value = '';
      }
    } finally {
      busy.value = false;
    }
  };

  return (
    <Dialog id="wrapup" title={t('wrapup.title')} class="wrapup-dialog" initialFocus="#wrapup-search">
      <form onSubmit={submit} noValidate>
        <p class="muted">{t('wrapup.ended')}</p>
        {autoAt !== null ? (
          <p class="auto-wrapup" id="auto-wrapup">
            <Countdown
              until={autoAt}
              render={(s) => (s > 0 ? t('wrapup.auto', { seconds: s }) : t('wrapup.autoDone'))}
            />
          </p>
        ) : null}
        <label for="wrapup-search">{t('wrapup.search')}</label>
        <input
          id="wrapup-search"
          type="search"
          autocomplete="off"
          value={search.value}
          onInput={(e) => (search.value = (e.target as HTMLInputElement).value)}
        />
        <fieldset class="reasons">
          <legend>{t('wrapup.reasons')}</legend>
          {shown.length === 0 ? <p class="muted">{t('wrapup.noMatch')}</p> : null}
          {shown.map(([code, label]) => (
            <label class="radio reason" key={code}>
              <input
                type="radio"
                name="wrapup-reason"
                value={code}
                checked={pick === code}
                onChange={() => (chosen.value = code)}
              />
              {label}
            </label>
          ))}
        </fieldset>
        <div class="dialog-actions">
          <span class="muted" id="wrapup-hint">
            {pick ? '' : t('wrapup.chooseOne')}
          </span>
          <button type="submit" class="primary" disabled={!pick || busy.value} aria-describedby="wrapup-hint">
            {t('wrapup.submit')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
