// DSK-14: English or German, kept in this browser.
import { LANGUAGES, lang, setLang, t, type Lang } from '../i18n';

export function LanguageSwitch({ id = 'lang' }: { id?: string }) {
  return (
    <span class="lang-switch">
      <label for={id}>{t('lang.label')}</label>
      <select id={id} value={lang.value} onChange={(e) => setLang((e.target as HTMLSelectElement).value as Lang)}>
        {LANGUAGES.map((l) => (
          <option value={l} key={l} lang={l}>
            {t(`lang.${l}`)}
          </option>
        ))}
      </select>
    </span>
  );
}
