// Pieces the dialogs share: who is signed in, the dial-number field (DN-1,
// DN-2), refreshing the call after an action, and agents' names.
import { signal } from '@preact/signals';
import { api } from '../api';
import { t, type Key } from '../i18n';
import { agent, consult, interaction, session } from '../store';
import type { ConsultView } from './api';
import { dialNumberProblem, filterDialNumber } from './dialnumber';

export function me(): string {
  return session.value?.agent ?? agent.value?.id ?? '';
}

/** Agents' names as the target lists showed them (the consult pane names the consulted agent). */
export const agentNames = signal<Record<string, string>>({});
/** Queues' names, likewise (a consult waiting in a queue). */
export const queueNames = signal<Record<string, string>>({});

export function rememberQueues(list: { id: string; name: string }[]): void {
  if (list.length === 0) return;
  const next = { ...queueNames.value };
  for (const q of list) next[q.id] = q.name;
  queueNames.value = next;
}

export function rememberNames(list: { id: string; name: string }[]): void {
  const next = { ...agentNames.value };
  for (const a of list) next[a.id] = a.name;
  agentNames.value = next;
}

/** After a consult or conference action: show its answer at once (the
 * consult leg and whether the customer is held), then the call as the
 * service has it (only its own agent may read it; the consulted agent gets
 * it with the next snapshot). */
export async function syncCall(ixId: string, view?: ConsultView): Promise<void> {
  const current = interaction.value;
  if (view) {
    consult.value = view;
    if (current && current.id === ixId) {
      const others = (current.legs ?? []).filter((l) => l.role !== 'consult');
      interaction.value = {
        ...current,
        held: view.customer.state === 'held',
        legs: view.consult ? [...others, view.consult] : others,
      };
    }
  }
  if (!current || current.agent !== me()) return;
  try {
    const ix = await api.interaction(ixId);
    if (interaction.value?.id === ixId) interaction.value = { ...interaction.value, ...ix };
  } catch {
    // the events and the next snapshot show it
  }
}

export function dialProblemText(value: string): string | null {
  const problem = dialNumberProblem(value);
  return problem ? t(`dial.problem.${problem}` as Key) : null;
}

export interface DialNumberFieldProps {
  id: string;
  value: string;
  onInput: (value: string) => void;
  /** Shown below the field once the agent tried to send. */
  error: string | null;
  label?: string;
  disabled?: boolean;
  onEnter?: () => void;
}

/** DN-1: keeps only digits and `+ # * :` as typed or pasted; DN-2's digit count is checked before sending. */
export function DialNumberField(props: DialNumberFieldProps) {
  const hint = `${props.id}-hint`;
  const err = `${props.id}-error`;
  return (
    <div class="dial-field">
      <label for={props.id}>{props.label ?? t('dial.label')}</label>
      <input
        id={props.id}
        type="text"
        inputMode="tel"
        autoComplete="off"
        value={props.value}
        disabled={props.disabled}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={props.error ? `${hint} ${err}` : hint}
        onInput={(e) => {
          const input = e.currentTarget as HTMLInputElement;
          const cleaned = filterDialNumber(input.value);
          if (cleaned !== input.value) input.value = cleaned;
          props.onInput(cleaned);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && props.onEnter) {
            e.preventDefault();
            props.onEnter();
          }
        }}
      />
      <span id={hint} class="hint">
        {t('dial.hint')}
      </span>
      {props.error ? (
        <span id={err} class="problem" role="alert">
          {props.error}
        </span>
      ) : null}
    </div>
  );
}
