// DSK-3: after a call not answered in time the agent chooses Available or
// Idle (with a reason); nothing is offered until then (ST-3).
import { useSignal } from '@preact/signals';
import { setAvailable, setIdle } from '../actions';
import { Dialog } from '../components/Dialog';
import { t } from '../i18n';
import { agent, config } from '../store';

export function RonaPopover() {
  const reasons = config.value?.idle_reasons ?? {};
  const first = Object.keys(reasons)[0] ?? '';
  const reason = useSignal(first);
  const busy = useSignal(false);
  if (agent.value?.state !== 'rona') return null;
  const run = async (f: () => Promise<unknown>) => {
    busy.value = true;
    try {
      await f();
    } finally {
      busy.value = false;
    }
  };
  return (
    <Dialog id="rona" title={t('rona.title')} role="alertdialog" describedBy="rona-text" class="rona-popover">
      <p id="rona-text">{t('rona.text')}</p>
      <div class="dialog-actions rona-actions">
        <button type="button" class="primary" disabled={busy.value} onClick={() => void run(setAvailable)}>
          <span class="dot state-available" aria-hidden="true" />
          {t('rona.available')}
        </button>
        <span class="idle-choice">
          <label for="rona-reason">{t('rona.reason')}</label>
          <select id="rona-reason" value={reason.value || first} onChange={(e) => (reason.value = (e.target as HTMLSelectElement).value)}>
            {Object.entries(reasons).map(([code, label]) => (
              <option key={code} value={code}>
                {label}
              </option>
            ))}
          </select>
          <button type="button" disabled={busy.value || !(reason.value || first)} onClick={() => void run(() => setIdle(reason.value || first))}>
            <span class="dot state-idle" aria-hidden="true" />
            {t('rona.goIdle')}
          </button>
        </span>
      </div>
    </Dialog>
  );
}
