// DSK-9, DSK-11: what outdials and campaign calls share: the ringing card
// with Cancel where the tenant enables it (OD-4, PC-3), the message for
// each failure (OD-5) and for the limits' codes 26 and 27 (LIM-2).
import { useSignal } from '@preact/signals';
import { attempt } from '../actions';
import { ApiError } from '../api';
import { Icon, KIND_ICON } from '../components/Icon';
import { errorText, hasKey, t } from '../i18n';
import { config, interaction, notify, offer, onEvent } from '../store';
import { dialogsApi } from './api';

export const FAILURES = [
  'busy',
  'congestion',
  'no_answer',
  'rejected',
  'invalid_number',
  'failed',
  'agent_declined',
  'agent_no_answer',
  'agent_unreachable',
  'cancelled',
] as const;
export type Failure = (typeof FAILURES)[number];

/** OD-5: the message for a failed outdial or campaign call. */
export function failureText(outcome: unknown, fallback?: string): string {
  const key = `outdial.failed.${String(outcome)}`;
  if (hasKey(key)) return t(key);
  return fallback || t('outdial.failed.failed');
}

/** LIM-2: the code and its text. */
export function limitText(code: unknown): string {
  const key = `outdial.limit.${String(code)}`;
  return hasKey(key) ? t(key) : t('rule.LIM-2', { code: String(code) });
}

/** A refused outdial, history call or campaign call: the limit's code and text, the failure, or the rule's text. */
export function outboundErrorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.rule === 'LIM-2' && error.details['code'] !== undefined) return limitText(error.details['code']);
    if (typeof error.details['outcome'] === 'string') return failureText(error.details['outcome'], error.message);
  }
  return errorText(error);
}

onEvent((event) => {
  const data = event.data as Record<string, unknown>;
  if (event.type === 'interaction.outdial_failed') {
    const text = failureText(data['outcome'], typeof data['message'] === 'string' ? data['message'] : undefined);
    notify(text, data['outcome'] === 'cancelled' ? 'info' : 'error', 12000);
  } else if (event.type === 'interaction.refused' && data['code'] !== undefined) {
    notify(limitText(data['code']), 'error', 12000);
  }
});

/** The outbound call ringing now (the agent's phone, then the customer's), if any. */
export function ringingOutbound(): { id: string; kind: string; number: string } | null {
  const o = offer.value;
  if (o && o.direction === 'outbound' && (o.kind === 'outdial' || o.kind === 'campaign')) {
    return { id: o.interaction_id, kind: o.kind, number: o.dnis };
  }
  const ix = interaction.value;
  if (ix && ix.direction === 'outbound' && (ix.status === 'ringing' || ix.status === 'dialing')) {
    return { id: ix.id, kind: ix.kind, number: ix.dnis };
  }
  return null;
}

/** OD-4, PC-3: the ringing card's Cancel (only where the tenant enables it). */
export function RingingCard() {
  const busy = useSignal(false);
  const ringing = ringingOutbound();
  if (!ringing || !config.value?.outdial_cancel) return null;
  const cancel = async () => {
    if (busy.value) return;
    busy.value = true;
    try {
      await attempt(() => dialogsApi.cancel(ringing.id));
    } finally {
      busy.value = false;
    }
  };
  return (
    <div class="card ringing outbound-card" data-interaction={ringing.id}>
      <Icon name={KIND_ICON[ringing.kind] ?? 'outdial'} label={t(ringing.kind === 'campaign' ? 'kind.campaign' : 'kind.outdial')} />
      <span class="card-main">
        <span class="card-label">{t('outdial.ringingTo')}</span>
        <span class="card-number">{ringing.number}</span>
      </span>
      <button type="button" class="danger cancel-outbound" disabled={busy.value} onClick={() => void cancel()}>
        <Icon name="close" />
        {t('outdial.cancel')}
      </button>
    </div>
  );
}
