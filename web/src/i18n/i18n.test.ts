import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../api';
import { AREAS, CATALOGUE, errorText, lang, setLang, t } from './index';

afterEach(() => setLang('en'));

describe('the string catalogue', () => {
  it('has every key of every area in English and German, none empty', () => {
    for (const [area, strings] of Object.entries(AREAS)) {
      const en = Object.keys(strings.en).sort();
      const de = Object.keys(strings.de).sort();
      expect(de, `area ${area}`).toEqual(en);
      for (const [key, text] of [...Object.entries(strings.en), ...Object.entries(strings.de)]) {
        expect(String(text).trim(), `${area}: ${key}`).not.toBe('');
      }
    }
  });

  it('uses the same placeholders in both languages', () => {
    const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(CATALOGUE.en) as (keyof typeof CATALOGUE.en)[]) {
      expect(names(CATALOGUE.de[key]), key).toEqual(names(CATALOGUE.en[key]));
    }
  });

  it('has a text for every rule the service names', () => {
    // Rule IDs the service's errors carry (details.rule), from its sources.
    const named = [
      'ST-1', 'ST-4', 'IN-2', 'CB-1', 'CAD-1', 'CAD-2', 'CAD-3', 'CAD-4', 'CAD-6', 'CAD-7',
      'HOLD-1', 'HOLD-2', 'REC-2', 'TR-1', 'TR-2', 'TR-3', 'TR-4', 'TR-5', 'TR-6', 'TR-7',
      'DN-2', 'DN-3', 'DN-4', 'CO-1', 'CO-3', 'CO-4', 'CO-5', 'CF-1', 'CF-3', 'CF-6',
      'OD-1', 'OD-2', 'OD-3', 'OD-4', 'OD-5', 'OD-8', 'HI-1', 'HI-2', 'PC-1', 'PC-2', 'PC-3', 'PC-4',
      'END-1', 'END-2', 'LIM-2', 'LIM-3', 'SEC-1', 'SEC-2', 'DSK-1', 'DSK-13', 'PH-1', 'PH-4',
    ];
    for (const lng of ['en', 'de'] as const) {
      for (const rule of named) expect(CATALOGUE[lng], `${lng} ${rule}`).toHaveProperty(`rule.${rule}`);
    }
  });

  it('fills placeholders and switches language', () => {
    expect(t('signin.error.throttled', { seconds: 12 })).toBe('Too many attempts. Try again in 12 s.');
    setLang('de');
    expect(lang.value).toBe('de');
    expect(t('control.hold')).toBe('Halten');
    expect(localStorage.getItem('desktop.lang')).toBe('de');
  });

  it('shows the refusing rule\'s text, else the service\'s message', () => {
    const held = new ApiError(409, { error_id: 'invalid-state-transition', message: 'm', details: { rule: 'END-1', held: true } });
    expect(errorText(held)).toBe('The call is on hold: resume it before ending.');
    setLang('de');
    expect(errorText(held)).toBe('Der Anruf wird gehalten: setzen Sie ihn fort, bevor Sie ihn beenden.');
    setLang('en');
    const limit = new ApiError(409, { message: 'm', details: { rule: 'LIM-2', code: 27 } });
    expect(errorText(limit)).toContain('code 27');
    const unknown = new ApiError(409, { message: 'something odd', details: { rule: 'XX-9' } });
    expect(errorText(unknown)).toBe('The action failed: something odd');
  });
});
