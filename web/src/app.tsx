// The page: sign-in, the desktop of the signed-in agent, or the console of
// a signed-in supervisor (a chunk of its own, loaded only for them).
import { signal, useSignal } from '@preact/signals';
import type { ComponentType } from 'preact';
import { useEffect } from 'preact/hooks';
import { api, ApiError } from './api';
import { attempt } from './actions';
import { EventStream } from './events';
import { installHotkeys } from './hotkeys';
import { t } from './i18n';
import { phone } from './phone';
import { overlays } from './slots';
import { clearAll, connection, session, signedOutReason, startClock } from './store';
import { guardLeave, varsDirty } from './store/ui';
import type { Session } from './types';
import { Announcer } from './screens/Announcer';
import { AuxPane } from './screens/AuxPane';
import { ControlPane, TaskList } from './screens/ControlPane';
import { Header, LoggedOutBanner, PhoneWarning } from './screens/Header';
import { OfferPopover } from './screens/OfferPopover';
import { HelpDialog, LeaveDialog, Notices } from './screens/Overlays';
import { RonaPopover } from './screens/RonaPopover';
import { SignIn } from './screens/SignIn';
import { WrapUpDialog } from './screens/WrapUp';

let stream: EventStream | null = null;

interface ConsoleProps {
  session: Session;
  onSignOut: () => void;
  onEnded: (why: 'ended' | 'replaced') => void;
}
/** The supervisor console, once its chunk is loaded. */
const consoleView = signal<ComponentType<ConsoleProps> | null>(null);

function loadConsole(): void {
  if (consoleView.value) return;
  void import('./supervisor/Console').then((m) => {
    consoleView.value = m.Console as unknown as ComponentType<ConsoleProps>;
  });
}

function begin(s: Session): void {
  session.value = s;
  api.setCsrfToken(s.csrf_token);
  if (s.role === 'supervisor') {
    stream?.stop();
    stream = null;
    loadConsole();
    // SUP-5: a supervisor who chose the browser phone listens in on it
    if (s.phone.kind === 'browser' && s.phone.sip) phone.start(s.phone.sip);
    return;
  }
  stream?.stop();
  stream = new EventStream({ api, onSignedOut: end });
  stream.start();
  if (s.phone.kind === 'browser' && s.phone.sip) phone.start(s.phone.sip);
}

/** Back to sign-in: the session ended (401), was replaced, or the agent signed out. */
function end(why: 'ended' | 'replaced' | null): void {
  stream?.stop();
  stream = null;
  void phone.stop();
  api.setCsrfToken(null);
  clearAll();
  varsDirty.value = false;
  signedOutReason.value = why;
}

async function signOut(): Promise<void> {
  const result = await attempt(() => api.signOut());
  if (result.ok) end(null);
}

function Desktop() {
  return (
    <div class="desktop">
      <a class="skip-link" href="#control-title">
        {t('control.region')}
      </a>
      <Header onSignOut={() => guardLeave(() => void signOut())} />
      <PhoneWarning />
      <LoggedOutBanner />
      {connection.value === 'lost' ? (
        <div class="banner warning" role="status" id="connection-lost">
          {t('conn.reconnecting')}
        </div>
      ) : null}
      <main class="workspace" id="main">
        <TaskList />
        <ControlPane />
        <AuxPane />
      </main>
      <Notices />
      <Announcer />
      <OfferPopover />
      <RonaPopover />
      <WrapUpDialog />
      {overlays.value.map((o) => (
        <div key={o.id} data-slot={o.id}>
          {o.render()}
        </div>
      ))}
      <LeaveDialog />
      <HelpDialog />
    </div>
  );
}

export function App() {
  const booting = useSignal(true);

  useEffect(() => {
    startClock();
    const removeHotkeys = installHotkeys();
    api.onUnauthorized = () => end('ended');
    const beforeUnload = (e: BeforeUnloadEvent) => {
      if (varsDirty.value) {
        e.preventDefault();
        e.returnValue = '';
      }
    };
    window.addEventListener('beforeunload', beforeUnload);
    api
      .currentSession()
      .then(begin)
      .catch((error: unknown) => {
        if (!(error instanceof ApiError && error.status === 401)) signedOutReason.value = null;
      })
      .finally(() => (booting.value = false));
    return () => {
      removeHotkeys();
      window.removeEventListener('beforeunload', beforeUnload);
    };
  }, []);

  if (booting.value) return <p class="booting muted">{t('common.loading')}</p>;
  if (!session.value) return <SignIn onSignedIn={begin} />;
  if (session.value.role === 'supervisor') {
    const View = consoleView.value;
    if (!View) return <p class="booting muted">{t('common.loading')}</p>;
    return <View session={session.value} onSignOut={() => void signOut()} onEnded={end} />;
  }
  return <Desktop />;
}
