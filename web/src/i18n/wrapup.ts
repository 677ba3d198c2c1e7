// DSK-12: the wrap-up dialog.
export const wrapup = {
  en: {
    'wrapup.title': 'Wrap-up reasons',
    'wrapup.search': 'Search reasons',
    'wrapup.reasons': 'Wrap-up reason',
    'wrapup.noMatch': 'No reason matches.',
    'wrapup.submit': 'Submit',
    'wrapup.auto': 'Auto wrap-up in {seconds} s',
    'wrapup.autoDone': 'Auto wrap-up is being applied.',
    'wrapup.chooseOne': 'Choose one reason.',
    'wrapup.ended': 'The call has ended.',
  },
  de: {
    'wrapup.title': 'Nachbearbeitungsgründe',
    'wrapup.search': 'Gründe durchsuchen',
    'wrapup.reasons': 'Nachbearbeitungsgrund',
    'wrapup.noMatch': 'Kein Grund passt.',
    'wrapup.submit': 'Übernehmen',
    'wrapup.auto': 'Automatische Nachbearbeitung in {seconds} s',
    'wrapup.autoDone': 'Die automatische Nachbearbeitung wird angewendet.',
    'wrapup.chooseOne': 'Wählen Sie einen Grund.',
    'wrapup.ended': 'Der Anruf ist beendet.',
  },
} as const;
