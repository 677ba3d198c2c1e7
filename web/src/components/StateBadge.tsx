import { t } from '../i18n';
import type { AgentState } from '../types';

/** The agent's state as a coloured badge (the colour means the state). */
export function StateBadge({ state, reason }: { state: AgentState; reason?: string | null }) {
  const text = t(`state.${state}`);
  return (
    <span class={`badge state-${state}`} data-state={state}>
      <span class="dot" aria-hidden="true" />
      {text}
      {reason ? <span class="badge-reason">: {reason}</span> : null}
    </span>
  );
}
