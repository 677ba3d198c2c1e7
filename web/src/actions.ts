// What the agent does, as calls of the API; a refusal shows its rule's text.

import { api, ApiError } from './api';
import { errorText } from './i18n';
import { agent, interaction, notify, session } from './store';
import type { Interaction } from './types';

/** Runs an action; on failure shows the rule's text and answers the error. */
export async function attempt<T>(action: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await action() };
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) notify(errorText(error), 'error');
    return { ok: false, error };
  }
}

function me(): string {
  return session.value?.agent ?? agent.value?.id ?? '';
}

function updateInteraction(ix: Interaction): void {
  if (interaction.value && interaction.value.id === ix.id) {
    interaction.value = { ...interaction.value, ...ix };
  }
}

export function setAvailable() {
  return attempt(() => api.setState(me(), 'available'));
}

export function setIdle(reason: string) {
  return attempt(() => api.setState(me(), 'idle', reason));
}

export function hold(id: string) {
  return attempt(async () => {
    const ix = await api.hold(id);
    updateInteraction(ix);
    return ix;
  });
}

export function resume(id: string) {
  return attempt(async () => {
    const ix = await api.resume(id);
    updateInteraction(ix);
    return ix;
  });
}

export function end(id: string) {
  return attempt(async () => {
    const ix = await api.end(id);
    updateInteraction(ix);
    return ix;
  });
}

export function pauseRecording(id: string) {
  return attempt(() => api.pauseRecording(id));
}

export function resumeRecording(id: string) {
  return attempt(() => api.resumeRecording(id));
}

export function wrapUp(id: string, reason: string) {
  return attempt(() => api.wrapUp(id, reason));
}
