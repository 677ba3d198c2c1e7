// TR-1, TR-7, CO-1: which kinds of target the transfer and consult dialogs
// offer, and the filtering of the target lists by search text (the service
// filters too; the list also narrows at once while the agent types).
import type { AgentState } from '../types';
import type { Target, TargetKind } from './api';

/** The dialog's choices: agents; queues (and entry points, for a transfer); a number (typed or from the address book). */
export type Choice = 'agent' | 'queue' | 'dial_number';

/** The choices the call allows, from the service's `transfer_kinds` (TR-7) or `consult_kinds`. */
export function choicesFor(kinds: readonly TargetKind[]): Choice[] {
  const out: Choice[] = [];
  if (kinds.includes('agent')) out.push('agent');
  if (kinds.includes('queue') || kinds.includes('entry_point')) out.push('queue');
  if (kinds.includes('dial_number') || kinds.includes('address_book')) out.push('dial_number');
  return out;
}

/** The API kinds a choice lists (a queue choice lists entry points too where allowed). */
export function listedKinds(choice: Choice, kinds: readonly TargetKind[]): TargetKind[] {
  const wanted: TargetKind[] =
    choice === 'agent' ? ['agent'] : choice === 'queue' ? ['queue', 'entry_point'] : ['address_book'];
  return wanted.filter((k) => kinds.includes(k));
}

function fold(s: string): string {
  return s.toLocaleLowerCase().normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
}

/** The words a target is found by: its name, ID, extension or number. */
export function targetWords(t: Target): string[] {
  switch (t.kind) {
    case 'agent':
      return [t.name, t.id, t.extension, t.team_name];
    case 'queue':
      return [t.name, t.id];
    case 'entry_point':
      return [t.name, t.id, t.number];
    case 'address_book':
      return [t.name, t.number];
  }
}

/** The targets whose name, ID or number contains the search text (case and accents ignored; digits match digits). */
export function filterTargets<T extends Target>(targets: readonly T[], search: string): T[] {
  const q = fold(search.trim());
  if (!q) return [...targets];
  const qDigits = q.replace(/[^0-9]/g, '');
  const digitsOnly = qDigits.length > 0 && /^[0-9+\-\s()]+$/.test(q);
  return targets.filter((t) =>
    targetWords(t).some((w) => fold(w).includes(q) || (digitsOnly && w.replace(/[^0-9]/g, '').includes(qDigits))),
  );
}

/** A stable key for a target (kind and ID or name). */
export function targetKey(t: Target): string {
  return t.kind === 'address_book' ? `address_book:${t.name}` : `${t.kind}:${t.id}`;
}

/** What the API's `target` field carries for a chosen target. */
export function targetValue(t: Target): string {
  return t.kind === 'address_book' ? t.name : t.id;
}

/** TR-2: only an available agent takes a blind transfer; CO-1: a consult goes to an available or idle agent. */
export function agentSelectable(state: AgentState, mode: 'transfer' | 'consult'): boolean {
  return mode === 'transfer' ? state === 'available' : state === 'available' || state === 'idle';
}
