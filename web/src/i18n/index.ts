// One string catalogue in English and German (DSK-14). Each area keeps its
// strings in a module of its own (`{ en: {...}, de: {...} }`); this merges
// them and gives a typed `t(key, params)`. Only the language choice is kept
// in localStorage.

import { computed, signal } from '@preact/signals';
import { ApiError } from '../api';
import { common } from './common';
import { control } from './control';
import { dialogs } from './dialogs';
import { header } from './header';
import { offer } from './offer';
import { rules } from './rules';
import { signin } from './signin';
import { variables } from './variables';
import { wrapup } from './wrapup';

export const LANGUAGES = ['en', 'de'] as const;
export type Lang = (typeof LANGUAGES)[number];

/** Every area's module; index.test.ts checks each has every key in both languages. */
export const AREAS = { common, signin, header, offer, control, variables, wrapup, rules, dialogs };

const en = {
  ...common.en,
  ...signin.en,
  ...header.en,
  ...offer.en,
  ...control.en,
  ...variables.en,
  ...wrapup.en,
  ...rules.en,
  ...dialogs.en,
};

export type Key = keyof typeof en;

// German must have every English key (a missing one is a type error).
const de: Record<Key, string> = {
  ...common.de,
  ...signin.de,
  ...header.de,
  ...offer.de,
  ...control.de,
  ...variables.de,
  ...wrapup.de,
  ...rules.de,
  ...dialogs.de,
};

export const CATALOGUE: Record<Lang, Record<Key, string>> = { en, de };

const STORAGE_KEY = 'desktop.lang';

function initialLang(): Lang {
  try {
    const stored = globalThis.localStorage?.getItem(STORAGE_KEY);
    if (stored === 'en' || stored === 'de') return stored;
  } catch {
    // storage blocked: fall back to the browser's language
  }
  const nav = globalThis.navigator?.language ?? 'en';
  return nav.toLowerCase().startsWith('de') ? 'de' : 'en';
}

export const lang = signal<Lang>(initialLang());

export const locale = computed(() => (lang.value === 'de' ? 'de-DE' : 'en-GB'));

export function setLang(next: Lang): void {
  lang.value = next;
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, next);
  } catch {
    // not kept: the choice still applies to this page
  }
  if (typeof document !== 'undefined') document.documentElement.lang = next;
}

export type Params = Record<string, string | number>;

/** The string for `key` in the current language, with `{name}` placeholders filled. */
export function t(key: Key, params?: Params): string {
  const text = CATALOGUE[lang.value][key] ?? CATALOGUE.en[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}

export function hasKey(key: string): key is Key {
  return Object.prototype.hasOwnProperty.call(en, key);
}

/** The text for a refused or failed request: its rule's text from the
 * catalogue, else the service's message. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 0) return t('error.network');
    if (error.errorId === 'csrf') return t('rule.csrf');
    if (error.rule) {
      const specific = `rule.${error.rule}.held`;
      if (error.details['held'] === true && hasKey(specific)) return t(specific);
      const key = `rule.${error.rule}`;
      if (hasKey(key)) {
        const code = error.details['code'];
        return t(key, code !== undefined ? { code: String(code) } : undefined);
      }
    }
    if (error.status === 503) return t('error.unavailable');
    if (error.status === 403) return t('error.forbidden');
    return t('error.generic', { message: error.message });
  }
  return t('error.generic', { message: error instanceof Error ? error.message : String(error) });
}
