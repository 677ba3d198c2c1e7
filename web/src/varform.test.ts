import { describe, expect, it } from 'vitest';
import { changed, edits, fromInput, isoToLocalInput, localInputToIso, problems, toInput, validate } from './varform';
import type { Variable } from './types';

function v(over: Partial<Variable>): Variable {
  return { name: 'x', label: 'X', type: 'string', editable: true, secure: false, value: null, version: 0, ...over };
}

describe('call-variable inputs (DSK-5)', () => {
  it('validates per type and the 256-character limit', () => {
    expect(validate('string', 'a'.repeat(256))).toBeNull();
    expect(validate('string', 'a'.repeat(257))).toBe('vars.tooLong');
    expect(validate('integer', '-42')).toBeNull();
    expect(validate('integer', '4.2')).toBe('vars.notInteger');
    expect(validate('integer', 'abc')).toBe('vars.notInteger');
    expect(validate('decimal', '12.50')).toBeNull();
    expect(validate('decimal', '12,50')).toBeNull();
    expect(validate('decimal', '12.')).toBe('vars.notDecimal');
    expect(validate('datetime', '2026-12-05T14:30')).toBeNull();
    expect(validate('datetime', 'tomorrow')).toBe('vars.notDatetime');
    expect(validate('integer', '')).toBeNull(); // clears
  });

  it('turns a datetime-local value into ISO 8601 with the UTC offset, and back', () => {
    const iso = localInputToIso('2026-12-05T14:30')!;
    expect(iso).toMatch(/^2026-12-05T14:30:00[+-]\d{2}:\d{2}$/);
    // the same instant, whatever the zone this runs in
    expect(new Date(iso).getTime()).toBe(new Date(2026, 11, 5, 14, 30).getTime());
    expect(isoToLocalInput(iso)).toBe('2026-12-05T14:30');
    expect(isoToLocalInput(new Date(2026, 5, 1, 8, 5, 9).toISOString())).toBe('2026-06-01T08:05:09');
    expect(localInputToIso('2026-13-45')).toBeNull();
  });

  it('sends typed values: decimals with a point, booleans, empty clears', () => {
    expect(fromInput('decimal', '12,5')).toBe('12.5');
    expect(fromInput('boolean', 'true')).toBe('true');
    expect(fromInput('integer', ' ')).toBeNull();
    expect(fromInput('string', '')).toBe('');
  });

  it('saves only changed editable values, each with the version it is based on', () => {
    const vars = [
      v({ name: 'a', value: 'one', version: 3 }),
      v({ name: 'b', type: 'integer', value: '7', version: 1 }),
      v({ name: 'c', editable: false, value: 'ro' }),
      v({ name: 'd', type: 'boolean', value: 'false' }),
    ];
    const drafts = { a: 'one', b: '8', c: 'changed', d: 'true' };
    expect(changed(vars, drafts)).toEqual(['b', 'd']);
    expect(edits(vars, drafts)).toEqual({ b: { value: '8', version: 1 }, d: { value: 'true', version: 0 } });
    expect(toInput(v({ type: 'boolean', value: null }))).toBe('false');
    // a draft started at version 1 stays based on it after a save elsewhere
    const later = vars.map((x) => (x.name === 'b' ? { ...x, value: '9', version: 2 } : x));
    expect(edits(later, drafts, { b: 1 })).toEqual({ b: { value: '8', version: 1 }, d: { value: 'true', version: 0 } });
  });

  it('names the problems of the inputs', () => {
    const vars = [v({ name: 'n', type: 'integer' }), v({ name: 's' })];
    expect(problems(vars, { n: 'x', s: 'fine' })).toEqual({ n: 'vars.notInteger' });
  });
});
