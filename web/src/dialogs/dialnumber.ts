// DN-1, DN-2 as the desktop applies them while the agent types: of the
// special characters only `+ # * :` are kept (anything else disappears as it
// is typed or pasted), and a number has 3 to 14 digits before it is sent.
// The service applies the full rules again (forms, extensions, dial plan).

export const MIN_DIGITS = 3;
export const MAX_DIGITS = 14;

/** DN-1: digits and `+ # * :` are kept; every other character is removed. */
export function filterDialNumber(raw: string): string {
  return raw.replace(/[^0-9+#*:]/g, '');
}

export type DialNumberProblem = 'empty' | 'plus' | 'tones' | 'postDial' | 'tooFew' | 'tooMany';

/** DN-2 (the part the desktop checks): null when the number may be sent. */
export function dialNumberProblem(raw: string): DialNumberProblem | null {
  const cleaned = filterDialNumber(raw);
  if (cleaned === '') return 'empty';
  const colon = cleaned.indexOf(':');
  const main = colon >= 0 ? cleaned.slice(0, colon) : cleaned;
  const post = colon >= 0 ? cleaned.slice(colon + 1) : '';
  if (colon >= 0 && !/^[0-9*#]+$/.test(post)) return 'postDial';
  if (main.slice(1).includes('+')) return 'plus';
  if (/[*#]/.test(main)) return 'tones';
  const digits = main.replace(/^\+/, '');
  if (digits.length < MIN_DIGITS) return 'tooFew';
  if (digits.length > MAX_DIGITS) return 'tooMany';
  return null;
}
