// DSK-4: the task list's cards and the interaction control pane: timer since
// connected, status (held, recording or paused with the time left, consult,
// conference), and the controls each enabled only where the rules allow.
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { end, hold, pauseRecording, resume, resumeRecording } from '../actions';
import { Countdown, Timer } from '../components/Timer';
import { Dialog } from '../components/Dialog';
import { Icon, KIND_ICON } from '../components/Icon';
import { controlsFor, type CallStatus } from '../controls';
import { bindHotkey, HOTKEYS } from '../hotkeys';
import { t, type Key } from '../i18n';
import { phone } from '../phone';
import { controlActions, controlPanes, taskCards } from '../slots';
import { agent, config, interaction, offer, session } from '../store';
import { formatDuration } from '../store/clock';
import type { Interaction } from '../types';
import { kindLabel } from './OfferPopover';
import { VariablesForm } from './Variables';

const STATUS_KEY: Record<CallStatus, Key> = {
  connected: 'control.status.connected',
  held: 'control.status.held',
  ringing: 'control.status.ringing',
  dialing: 'control.status.dialing',
  ended: 'control.status.ended',
  consultRequested: 'control.status.consultRequested',
  consulting: 'control.status.consulting',
  consultHeld: 'control.status.consultHeld',
  conference: 'control.status.conference',
};

function controlsOf(ix: Interaction) {
  const s = session.value;
  return controlsFor(ix, {
    me: s?.agent ?? agent.value?.id ?? '',
    phoneKind: s?.phone.kind ?? 'extension',
    phoneInCall: phone.inCall.value,
    privacyShieldSeconds: config.value?.privacy_shield_seconds ?? 0,
  });
}

/** The call and its controls as they are now: a hotkey reads them when it is
 * pressed, not as they were at the last render (effects re-bind late). */
function controlsNow(): { ix: Interaction; c: ReturnType<typeof controlsOf> } | null {
  const ix = interaction.value;
  return ix ? { ix, c: controlsOf(ix) } : null;
}

export function TaskList() {
  const o = offer.value;
  const ix = interaction.value;
  const wrap = agent.value?.state === 'wrap_up';
  const cards = taskCards.value;
  const empty = !o && !ix && cards.length === 0;
  return (
    <section class="tasks" aria-labelledby="tasks-title">
      <h2 id="tasks-title" class="pane-title">
        {t('header.tasks')}
      </h2>
      {empty ? <p class="muted">{t('header.noTasks')}</p> : null}
      <ul class="cards">
        {o ? (
          <li class="card ringing" data-interaction={o.interaction_id}>
            <Icon name={KIND_ICON[o.kind] ?? 'inbound'} label={kindLabel(o.kind)} />
            <span class="card-main">
              <span class="card-label">{o.label}</span>
              <span class="card-number">{o.ani}</span>
            </span>
            <span class="card-side">
              <Timer since={o.entered_at} label={t('offer.sinceEntered')} />
              <span class="card-status">{t('control.task.ringing')}</span>
            </span>
          </li>
        ) : null}
        {ix ? (
          <li class={`card current${ix.held ? ' held' : ''}`} data-interaction={ix.id} aria-current="true">
            <Icon name={KIND_ICON[ix.kind] ?? 'inbound'} label={kindLabel(ix.kind)} />
            <span class="card-main">
              <span class="card-label">{ix.label}</span>
              <span class="card-number">{ix.direction === 'outbound' ? ix.dnis : ix.ani}</span>
            </span>
            <span class="card-side">
              <Timer since={ix.connected_at ?? ix.entered_at} until={ix.ended_at} label={t('control.sinceConnected')} />
              <span class="card-status">
                {wrap
                  ? t('control.task.wrapUp')
                  : ix.held
                    ? t('control.task.held')
                    : ix.status === 'connected'
                      ? t('control.task.connected')
                      : t(STATUS_KEY[ix.status === 'dialing' ? 'dialing' : 'ringing'])}
              </span>
            </span>
          </li>
        ) : null}
        {cards.map((c) => (
          <li key={c.id} class="card-slot" data-slot={c.id}>
            {c.render()}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Keypad({ onClose }: { onClose: () => void }) {
  const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];
  return (
    <Dialog id="keypad" title={t('control.keypadTitle')} onClose={onClose} class="keypad-dialog">
      <div class="keypad" role="group" aria-label={t('control.keypad')}>
        {keys.map((k) => (
          <button type="button" key={k} aria-label={t('control.keypadKey', { key: k })} onClick={() => phone.sendDtmf(k)}>
            {k}
          </button>
        ))}
      </div>
      <div class="dialog-actions">
        <button type="button" onClick={onClose}>
          {t('common.close')}
        </button>
      </div>
    </Dialog>
  );
}

function RecordingStatus({ ix }: { ix: Interaction }) {
  if (ix.recording === 'recording') {
    return (
      <span class="rec recording" data-recording="recording">
        <Icon name="record" />
        {t('control.recording')}
      </span>
    );
  }
  if (ix.recording === 'paused') {
    return (
      <span class="rec paused" data-recording="paused">
        <Icon name="recordPaused" />
        {ix.resume_at ? (
          <Countdown
            until={ix.resume_at}
            render={(s) => t('control.recordingPaused', { time: formatDuration(s) })}
          />
        ) : (
          t('control.recordingPausedNoTime')
        )}
      </span>
    );
  }
  return null;
}

function CallControls({ ix }: { ix: Interaction }) {
  const c = controlsOf(ix);
  const keypad = useSignal(false);
  // an action of this call under way: the others wait for its answer, and
  // their buttons say so
  const busy = useSignal(false);
  const run = async (f: () => Promise<unknown>) => {
    if (busy.value) return;
    busy.value = true;
    try {
      await f();
    } finally {
      busy.value = false;
    }
  };
  const toggleHold = () => {
    const now = controlsNow();
    if (now?.c.resume) void run(() => resume(now.ix.id));
    else if (now?.c.hold) void run(() => hold(now.ix.id));
  };
  useEffect(() => bindHotkey('hold', toggleHold), []);
  useEffect(
    () =>
      bindHotkey('end', () => {
        const now = controlsNow();
        if (now?.c.end) void run(() => end(now.ix.id));
      }),
    [],
  );
  useEffect(
    () =>
      bindHotkey('mute', () => {
        if (controlsNow()?.c.mute) phone.setMuted(!phone.muted.value);
      }),
    [],
  );

  const held = ix.held;
  return (
    <div class="controls" role="toolbar" aria-label={t('control.region')} aria-busy={busy.value}>
      <button
        type="button"
        class={`control ${held ? 'resume' : 'hold'}`}
        disabled={busy.value || (held ? !c.resume : !c.hold)}
        onClick={toggleHold}
        title={t('common.hotkey', { keys: HOTKEYS.hold.label })}
        aria-keyshortcuts="Alt+H"
      >
        <Icon name={held ? 'resume' : 'hold'} />
        {held ? t('control.resume') : t('control.hold')}
      </button>
      {c.showRecording ? (
        <button
          type="button"
          class="control recording-toggle"
          disabled={busy.value || (ix.recording === 'paused' ? !c.resumeRecording : !c.pauseRecording)}
          onClick={() =>
            void run(() => (ix.recording === 'paused' ? resumeRecording(ix.id) : pauseRecording(ix.id)))
          }
        >
          <Icon name={ix.recording === 'paused' ? 'record' : 'recordPaused'} />
          {ix.recording === 'paused' ? t('control.resumeRecording') : t('control.pauseRecording')}
        </button>
      ) : null}
      {c.showPhone ? (
        <>
          <button
            type="button"
            class="control mute"
            disabled={!c.mute}
            aria-pressed={phone.muted.value}
            onClick={() => phone.setMuted(!phone.muted.value)}
            title={t('common.hotkey', { keys: HOTKEYS.mute.label })}
            aria-keyshortcuts="Alt+M"
          >
            <Icon name={phone.muted.value ? 'micOff' : 'mic'} />
            {phone.muted.value ? t('control.unmute') : t('control.mute')}
          </button>
          <button type="button" class="control" disabled={!c.keypad} onClick={() => (keypad.value = true)}>
            <Icon name="keypad" />
            {t('control.keypad')}
          </button>
        </>
      ) : null}
      {controlActions.value.map((a) => (
        <span key={a.id} class="control-slot" data-slot={a.id}>
          {a.render(ix)}
        </span>
      ))}
      <button
        type="button"
        class="control end danger"
        disabled={busy.value || !c.end}
        onClick={() => void run(() => end(ix.id))}
        title={held ? t('control.endHeldHint') : t('common.hotkey', { keys: HOTKEYS.end.label })}
        aria-describedby={held ? 'end-held-hint' : undefined}
        aria-keyshortcuts="Alt+E"
      >
        <Icon name="end" />
        {t('control.end')}
      </button>
      {held ? (
        <span id="end-held-hint" class="visually-hidden">
          {t('control.endHeldHint')}
        </span>
      ) : null}
      {keypad.value ? <Keypad onClose={() => (keypad.value = false)} /> : null}
    </div>
  );
}

export function ControlPane() {
  const ix = interaction.value;
  if (!ix) {
    return (
      <section class="control-pane empty" aria-labelledby="control-title">
        <h2 id="control-title" class="pane-title">
          {t('control.region')}
        </h2>
        <p class="muted">{t('control.none')}</p>
      </section>
    );
  }
  const c = controlsOf(ix);
  const status = c.status;
  const live = ix.status === 'connected';
  return (
    <section class="control-pane" aria-labelledby="control-title" data-interaction={ix.id}>
      <h2 id="control-title" class="pane-title">
        {t('control.region')}
      </h2>
      <div class="call-head">
        <Icon name={KIND_ICON[ix.kind] ?? 'inbound'} label={kindLabel(ix.kind)} size={22} />
        <div class="call-id">
          <strong>{ix.label}</strong>
          <span class="number">{ix.direction === 'outbound' ? ix.dnis : ix.ani}</span>
        </div>
        <div class="call-status">
          {ix.connected_at ? (
            <Timer since={ix.connected_at} until={ix.ended_at} label={t('control.sinceConnected')} class="big" />
          ) : null}
          <span class={`status status-${status}`} id="call-status" role="status" data-status={status}>
            {status === 'held' ? <Icon name="hold" /> : null}
            {status === 'conference' ? <Icon name="conference" label={t('icon.conference')} /> : null}
            {t(STATUS_KEY[status])}
          </span>
          <RecordingStatus ix={ix} />
        </div>
      </div>
      {live ? <CallControls ix={ix} /> : null}
      {controlPanes.value.map((p) => (
        <div key={p.id} data-slot={p.id}>
          {p.render(ix)}
        </div>
      ))}
      <VariablesForm />
    </section>
  );
}
