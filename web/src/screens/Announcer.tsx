// Screen readers hear what arrives without the focus moving: an offer, a
// RONA, the wrap-up and every change of the agent's state.
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { t, type Key } from '../i18n';
import { agent, offer } from '../store';

export function Announcer() {
  const text = useSignal('');
  const o = offer.value;
  const state = agent.value?.state ?? null;
  useEffect(() => {
    if (o) text.value = `${t('offer.title')}: ${o.label}, ${o.ani}`;
  }, [o?.interaction_id]);
  useEffect(() => {
    if (!state) return;
    if (state === 'rona') text.value = t('rona.title');
    else if (state === 'wrap_up') text.value = t('wrapup.title');
    else if (state !== 'reserved') text.value = `${t('header.state')}: ${t(`state.${state}` as Key)}`;
  }, [state]);
  return (
    <div class="visually-hidden" aria-live="assertive" aria-atomic="true" id="announcer">
      {text.value}
    </div>
  );
}
