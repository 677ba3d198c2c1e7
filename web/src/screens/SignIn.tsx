// DSK-1: sign-in with agent ID and password (a session cookie; no token in
// the page), the choice of phone, and the language.
import { useSignal } from '@preact/signals';
import { api, ApiError } from '../api';
import { errorText, t } from '../i18n';
import { signedOutReason } from '../store';
import type { PhoneKind, Session } from '../types';
import { LanguageSwitch } from './LanguageSwitch';

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const agentId = useSignal('');
  const password = useSignal('');
  const phone = useSignal<PhoneKind>('browser');
  const extension = useSignal('');
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    error.value = null;
    if (!agentId.value.trim() || !password.value) {
      error.value = t('signin.error.required');
      return;
    }
    if (phone.value === 'extension' && !/^\d{2,8}$/.test(extension.value.trim())) {
      error.value = t('signin.error.extension');
      return;
    }
    busy.value = true;
    try {
      const session = await api.signIn({
        agent: agentId.value.trim(),
        password: password.value,
        phone: phone.value,
        extension: phone.value === 'extension' ? extension.value.trim() : undefined,
      });
      password.value = '';
      signedOutReason.value = null;
      onSignedIn(session);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) error.value = t('signin.error.credentials');
      else if (err instanceof ApiError && err.status === 429)
        error.value =
          err.retryAfter !== null
            ? t('signin.error.throttled', { seconds: err.retryAfter })
            : t('signin.error.throttledNoTime');
      else if (err instanceof ApiError && err.details['field'] === 'phone' && err.rule === 'SUP-5')
        error.value = t('signin.error.supervisorPhone');
      else if (err instanceof ApiError && err.details['field'] === 'extension' && err.rule === 'SUP-5')
        error.value = t('signin.error.supervisorExtension');
      else if (err instanceof ApiError && err.details['field'] === 'extension')
        error.value = err.rule === 'ST-1' ? t('signin.error.notYourExtension') : t('signin.error.extension');
      else if (err instanceof ApiError && err.status === 409 && err.rule === 'DSK-1')
        error.value = t('signin.error.otherPhone');
      else error.value = errorText(err);
    } finally {
      busy.value = false;
    }
  };

  const reason = signedOutReason.value;
  return (
    <main class="signin" id="main">
      <div class="signin-lang">
        <LanguageSwitch id="signin-lang" />
      </div>
      <form class="signin-card" onSubmit={submit} aria-labelledby="signin-title" noValidate>
        <h1 id="signin-title">{t('signin.title')}</h1>
        <p class="muted">{t('signin.intro')}</p>
        {reason ? (
          <p class="message info" role="status">
            {reason === 'replaced' ? t('session.replaced') : t('session.ended')}
          </p>
        ) : null}
        <label for="signin-agent">{t('signin.agent')}</label>
        <input
          id="signin-agent"
          name="agent"
          autocomplete="username"
          autocapitalize="none"
          spellcheck={false}
          aria-describedby="signin-agent-hint"
          value={agentId.value}
          onInput={(e) => (agentId.value = (e.target as HTMLInputElement).value)}
          required
        />
        <small id="signin-agent-hint" class="muted">{t('signin.agentHint')}</small>
        <label for="signin-password">{t('signin.password')}</label>
        <input
          id="signin-password"
          name="password"
          type="password"
          autocomplete="current-password"
          value={password.value}
          onInput={(e) => (password.value = (e.target as HTMLInputElement).value)}
          required
        />
        <fieldset class="phone-choice">
          <legend>{t('signin.phone')}</legend>
          <label class="radio">
            <input
              type="radio"
              name="phone"
              value="browser"
              checked={phone.value === 'browser'}
              onChange={() => (phone.value = 'browser')}
            />
            {t('signin.phone.browser')}
          </label>
          <label class="radio">
            <input
              type="radio"
              name="phone"
              value="extension"
              checked={phone.value === 'extension'}
              onChange={() => (phone.value = 'extension')}
            />
            {t('signin.phone.extension')}
          </label>
          {phone.value === 'extension' ? (
            <>
              <label for="signin-extension">{t('signin.extension')}</label>
              <input
                id="signin-extension"
                name="extension"
                inputMode="numeric"
                autocomplete="off"
                value={extension.value}
                onInput={(e) => (extension.value = (e.target as HTMLInputElement).value)}
              />
            </>
          ) : null}
        </fieldset>
        <div class="form-error" role="alert" aria-live="assertive">
          {error.value ? <p class="message error">{error.value}</p> : null}
        </div>
        <button type="submit" class="primary" disabled={busy.value}>
          {busy.value ? t('signin.busy') : t('signin.submit')}
        </button>
      </form>
    </main>
  );
}
