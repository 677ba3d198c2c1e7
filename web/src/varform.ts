// Call-variable values between the API's normalised strings and the form's
// inputs (DSK-5, CAD-3): validation per type, datetime-local to ISO 8601
// with the UTC offset, the 256-character limit.

import type { Key } from './i18n';
import type { Variable, VariableType } from './types';

export const MAX_LENGTH = 256;
export const MAX_SHOWN = 30;

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** An ISO 8601 instant as a datetime-local input value in this machine's zone. */
export function isoToLocalInput(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const base = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
  return d.getSeconds() ? `${base}:${two(d.getSeconds())}` : base;
}

/** A datetime-local input value as ISO 8601 with this machine's UTC offset
 * at that date (2024-05-01T12:00:00+02:00). */
export function localInputToIso(value: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m;
  const date = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? '0'));
  if (Number.isNaN(date.getTime())) return null;
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return `${y}-${mo}-${d}T${h}:${mi}:${s ?? '00'}${sign}${two(Math.floor(abs / 60))}:${two(abs % 60)}`;
}

/** The input's text for a saved value. */
export function toInput(v: Pick<Variable, 'type' | 'value'>): string {
  if (v.value === null || v.value === undefined) return v.type === 'boolean' ? 'false' : '';
  if (v.type === 'datetime') return isoToLocalInput(v.value);
  return v.value;
}

/** Why an input is not a valid value of its type (a catalogue key), or null. */
export function validate(type: VariableType, input: string): Key | null {
  if (input.length > MAX_LENGTH) return 'vars.tooLong';
  const text = input.trim();
  if (text === '') return null; // clears the value
  switch (type) {
    case 'integer':
      return /^[+-]?\d+$/.test(text) ? null : 'vars.notInteger';
    case 'decimal':
      return /^[+-]?\d+([.,]\d+)?$/.test(text) ? null : 'vars.notDecimal';
    case 'datetime':
      return localInputToIso(text) ? null : 'vars.notDatetime';
    default:
      return null;
  }
}

/** The value to send for an input (null clears a value of a non-string type). */
export function fromInput(type: VariableType, input: string): string | null {
  if (type === 'string') return input;
  const text = input.trim();
  if (text === '') return null;
  if (type === 'decimal') return text.replace(',', '.');
  if (type === 'datetime') return localInputToIso(text);
  if (type === 'boolean') return text === 'true' ? 'true' : 'false';
  return text;
}

export type Drafts = Record<string, string>;

/** The names whose input differs from the saved value. */
export function changed(vars: Variable[], drafts: Drafts): string[] {
  return vars
    .filter((v) => v.editable && drafts[v.name] !== undefined && drafts[v.name] !== toInput(v))
    .map((v) => v.name);
}

/** The version each draft started from: a value saved meanwhile (by the
 * flow or another agent) must make the save conflict (CAD-4), not be
 * overwritten unseen. */
export type Bases = Record<string, number>;

/** The PATCH body's edits for the changed inputs, each with the version it is based on. */
export function edits(
  vars: Variable[],
  drafts: Drafts,
  bases: Bases = {},
): Record<string, { value: string | null; version: number }> {
  const out: Record<string, { value: string | null; version: number }> = {};
  for (const name of changed(vars, drafts)) {
    const v = vars.find((x) => x.name === name)!;
    out[name] = { value: fromInput(v.type, drafts[name]!), version: bases[name] ?? v.version ?? 0 };
  }
  return out;
}

/** Problems of the changed inputs, by name. */
export function problems(vars: Variable[], drafts: Drafts): Record<string, Key> {
  const out: Record<string, Key> = {};
  for (const v of vars) {
    const input = drafts[v.name];
    if (input === undefined || !v.editable) continue;
    const problem = validate(v.type, input);
    if (problem) out[v.name] = problem;
  }
  return out;
}
