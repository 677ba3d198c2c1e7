// Strings of the dialogs and auxiliary panes (transfer, consult, outdial,
// history, preview campaign): each key in both languages.
export const dialogs = {
  en: {
    'aux.history': 'History',
    'aux.callGuide': 'Call guide',
    'aux.empty': 'Nothing to show.',
  },
  de: {
    'aux.history': 'Verlauf',
    'aux.callGuide': 'Anrufleitfaden',
    'aux.empty': 'Nichts anzuzeigen.',
  },
} as const;
