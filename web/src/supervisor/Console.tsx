// The supervisor console (SUP-1..SUP-6): live queues and limits, live
// agents with actions (idle, log out, listen in), and the day's
// interactions with charts and the CSV export. Loaded only for a
// supervisor's session (a chunk of its own).
import { signal, useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { Dialog } from '../components/Dialog';
import { Icon } from '../components/Icon';
import { StateBadge } from '../components/StateBadge';
import { Timer } from '../components/Timer';
import { t, type Key } from '../i18n';
import { phone } from '../phone';
import { st, supErrorText, type SupKey } from '../i18n/supervisor';
import { LanguageSwitch } from '../screens/LanguageSwitch';
import { Notices } from '../screens/Overlays';
import { notify } from '../store';
import { filterAgents, sortAgents, type SortDir, type SortKey } from './agents';
import { supApi } from './api';
import { Interactions } from './Interactions';
import {
  autoAnswer,
  expectSupervision,
  forgetExpectation,
  Live,
  liveState,
  snapshot,
  startedSupervision,
  stoppedReason,
  supervision,
} from './live';
import type { AgentRow, Mode, QueueRow, SupervisorSession, Usage } from './types';
import './console.css';

type Tab = 'overview' | 'agents' | 'interactions';
const TABS: [Tab, SupKey][] = [
  ['overview', 'sup.tab.overview'],
  ['agents', 'sup.tab.agents'],
  ['interactions', 'sup.tab.interactions'],
];
export const MODES: Mode[] = ['monitor', 'whisper', 'barge'];

const tab = signal<Tab>('overview');
const acting = signal<string | null>(null); // the agent whose dialog is open
const teamFilter = signal<string>('');
const queueFilter = signal<string>('');
const sortKey = signal<SortKey>('name');
const sortDir = signal<SortDir>('ascending');

export function Console({
  session,
  onSignOut,
  onEnded,
}: {
  session: SupervisorSession;
  onSignOut: () => void;
  onEnded: (why: 'ended' | 'replaced') => void;
}) {
  useEffect(() => {
    const live = new Live(onEnded);
    // a supervisor with teams sees them first (SUP-2)
    if (session.teams.length === 1) teamFilter.value = session.teams[0]!;
    live.start();
    const stopAnswering = session.phone.kind === 'browser' ? autoAnswer(phone) : () => undefined;
    return () => {
      stopAnswering();
      live.stop();
    };
  }, []);

  return (
    <div class="desktop sup-console">
      <a class="skip-link" href="#sup-panel">
        {st(TABS.find(([id]) => id === tab.value)![1])}
      </a>
      <header class="app-header sup-header">
        <div class="header-main">
          <h1 class="sup-title">{st('sup.title')}</h1>
          <span class="who">
            <Icon name="user" />
            {session.name}
          </span>
          <PhoneStatus session={session} />
          {snapshot.value ? (
            <span class="muted">{st('sup.serverTime', { day: snapshot.value.day, timezone: snapshot.value.timezone })}</span>
          ) : null}
        </div>
        <div class="header-tools">
          <LanguageSwitch id="sup-lang" />
          <button type="button" id="sup-sign-out" onClick={onSignOut}>
            <Icon name="signout" />
            {st('sup.signOut')}
          </button>
        </div>
      </header>
      {liveState.value === 'lost' ? (
        <div class="banner warning" role="status" id="sup-connection-lost">
          {st('sup.live.lost')}
        </div>
      ) : null}
      <PhoneWarning session={session} />
      <SupervisionBar />
      <nav class="tabs sup-tabs" role="tablist" aria-label={st('sup.tabs')}>
        {TABS.map(([id, key], i) => (
          <button
            key={id}
            type="button"
            role="tab"
            id={`sup-tab-${id}`}
            aria-selected={tab.value === id}
            aria-controls="sup-panel"
            tabIndex={tab.value === id ? 0 : -1}
            onClick={() => (tab.value = id)}
            onKeyDown={(e) => {
              const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
              if (!step) return;
              e.preventDefault();
              const next = TABS[(i + step + TABS.length) % TABS.length]![0];
              tab.value = next;
              document.getElementById(`sup-tab-${next}`)?.focus();
            }}
          >
            {st(key)}
          </button>
        ))}
      </nav>
      <main class="sup-main" id="sup-panel" role="tabpanel" aria-labelledby={`sup-tab-${tab.value}`} tabIndex={-1}>
        {!snapshot.value ? (
          <p class="muted">{st('sup.live.connecting')}</p>
        ) : tab.value === 'overview' ? (
          <>
            <QueuesTable rows={snapshot.value.queues} />
            <LimitsPanel />
          </>
        ) : tab.value === 'agents' ? (
          <AgentsTable session={session} />
        ) : (
          <Interactions session={session} />
        )}
      </main>
      {acting.value ? <AgentDialog id={acting.value} session={session} /> : null}
      <Notices />
    </div>
  );
}

// SUP-5: the browser phone ---------------------------------------------------------

function PhoneStatus({ session }: { session: SupervisorSession }) {
  if (session.phone.kind !== 'browser')
    return <span class="muted">{st('sup.phone', { extension: session.phone.extension ?? '' })}</span>;
  const reg = phone.reg.value;
  return (
    <span class={`phone-status reg-${reg}`} data-phone="browser" data-reg={reg} role="status" id="sup-phone">
      <Icon name="phone" />
      {t(`header.phone.${reg}` as Key)}
      <span class="visually-hidden"> {st('sup.phone.browser', { extension: session.phone.extension ?? '' })}</span>
    </span>
  );
}

/** SUP-5: listening in on the browser phone needs it registered. */
function PhoneWarning({ session }: { session: SupervisorSession }) {
  if (session.phone.kind !== 'browser') return null;
  const reg = phone.reg.value;
  if (reg === 'registered' || reg === 'registering') return null;
  return (
    <div class="banner warning" role="alert" id="sup-phone-warning">
      <Icon name="warning" />
      {st('sup.phone.lost')}
    </div>
  );
}

// SUP-1 --------------------------------------------------------------------------

function percent(value: number | null): string {
  return value === null ? st('sup.queues.noSl') : `${Math.round(value * 100)} %`;
}

const BY_STATE = ['available', 'idle', 'reserved', 'connected', 'wrap_up', 'rona', 'logged_out'] as const;

function QueuesTable({ rows }: { rows: QueueRow[] }) {
  return (
    <section class="sup-section" aria-labelledby="sup-queues-title">
      <h2 id="sup-queues-title" class="pane-title">
        {st('sup.queues.title')}
      </h2>
      <table class="sup-table" id="sup-queues">
        <caption class="visually-hidden">{st('sup.queues.caption')}</caption>
        <thead>
          <tr>
            <th scope="col">{st('sup.queues.queue')}</th>
            <th scope="col" class="num">{st('sup.queues.waiting')}</th>
            <th scope="col" class="num">{st('sup.queues.longest')}</th>
            <th scope="col">{st('sup.queues.agents')}</th>
            <th scope="col" class="num">{st('sup.queues.sl')}</th>
            <th scope="col" class="num">{st('sup.queues.offered')}</th>
            <th scope="col" class="num">{st('sup.queues.answered')}</th>
            <th scope="col" class="num">{st('sup.queues.abandoned')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((q) => (
            <tr key={q.id} data-queue={q.id} class={q.waiting > 0 ? 'has-waiting' : undefined}>
              <th scope="row">{q.name}</th>
              <td class="num waiting">{q.waiting}</td>
              <td class="num longest">
                {q.oldest_entered_at ? (
                  <Timer since={q.oldest_entered_at} label={st('sup.queues.longest')} />
                ) : (
                  <span class="muted">{st('sup.queues.noWait')}</span>
                )}
              </td>
              <td>
                <div class="by-state">
                  {BY_STATE.filter((s) => q.agents[s] > 0).map((s) => (
                    <span key={s} class={`state-count state-${s}`} data-state={s}>
                      <span class="dot" aria-hidden="true" />
                      {t(`state.${s}`)} {q.agents[s]}
                    </span>
                  ))}
                </div>
              </td>
              <td class="num sl" title={st('sup.queues.slHint', { seconds: q.service_level_seconds })}>
                {percent(q.today.service_level)}
                <small class="muted"> ({st('sup.queues.slHint', { seconds: q.service_level_seconds })})</small>
              </td>
              <td class="num offered">{q.today.offered}</td>
              <td class="num answered">{q.today.answered}</td>
              <td class="num abandoned">{q.today.abandoned}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 ? <p class="muted">{st('sup.queues.none')}</p> : null}
    </section>
  );
}

// SUP-3 --------------------------------------------------------------------------

function UsageBar({ id, label, usage }: { id: string; label: string; usage: Usage }) {
  const ratio = usage.max > 0 ? usage.used / usage.max : 0;
  const level = ratio >= 1 ? 'full' : ratio >= 0.8 ? 'high' : 'ok';
  return (
    <div class="usage" id={id} data-used={usage.used} data-max={usage.max}>
      <div class="usage-head">
        <span id={`${id}-label`}>{label}</span>
        <span class="usage-text">{st('sup.limits.used', { used: usage.used, max: usage.max })}</span>
      </div>
      <div
        class={`usage-bar ${level}`}
        role="meter"
        aria-labelledby={`${id}-label`}
        aria-valuemin={0}
        aria-valuemax={usage.max}
        aria-valuenow={usage.used}
        aria-valuetext={st('sup.limits.used', { used: usage.used, max: usage.max })}
      >
        <span style={{ width: `${Math.min(100, ratio * 100)}%` }} />
      </div>
    </div>
  );
}

function LimitsPanel() {
  const limits = snapshot.value?.limits;
  if (!limits) return null;
  return (
    <section class="sup-section sup-limits" aria-labelledby="sup-limits-title">
      <h2 id="sup-limits-title" class="pane-title">
        {st('sup.limits.title')}
      </h2>
      <div class="usage-grid">
        <UsageBar id="sup-limit-datacenter" label={st('sup.limits.datacenter')} usage={limits.datacenter} />
        <UsageBar id="sup-limit-tenant" label={st('sup.limits.tenant')} usage={limits.tenant} />
        <dl class="refusals" id="sup-refusals">
          <dt>{st('sup.limits.code26')}</dt>
          <dd data-code="26">{limits.refused_today['26'] ?? 0}</dd>
          <dt>{st('sup.limits.code27')}</dt>
          <dd data-code="27">{limits.refused_today['27'] ?? 0}</dd>
        </dl>
      </div>
    </section>
  );
}

// SUP-2 --------------------------------------------------------------------------

/** The reason shown with a state: an idle agent's idle reason (others are the service's). */
function idleReason(row: AgentRow, session: SupervisorSession): string | null {
  if (row.state !== 'idle' || !row.reason) return null;
  return session.console.idle_reasons[row.reason] ?? row.reason;
}

const COLUMNS: [SortKey, SupKey][] = [
  ['name', 'sup.agents.name'],
  ['team', 'sup.agents.team'],
  ['state', 'sup.agents.state'],
  ['since', 'sup.agents.since'],
  ['call', 'sup.agents.call'],
  ['ronas', 'sup.agents.ronas'],
];

function CallCell({ row, session }: { row: AgentRow; session: SupervisorSession }) {
  const call = row.call;
  if (!call) return <span class="muted">–</span>;
  const queue = call.queue ? session.console.queues[call.queue] ?? call.queue : '';
  const dir = call.direction === 'outbound' ? st('sup.call.outbound') : st('sup.call.inbound');
  return (
    <span class="sup-call" data-status={call.status ?? ''}>
      <Icon name={call.direction === 'outbound' ? 'outdial' : 'inbound'} />
      <span>
        {queue ? `${queue} · ` : ''}
        {dir}
      </span>
      {call.status === 'connected' ? (
        <Timer since={call.connected_at} label={st('sup.call.duration')} class="call-duration" />
      ) : (
        <span class="muted">{call.status === 'ringing' ? st('sup.call.ringing') : call.status}</span>
      )}
      {call.held ? <span class="status status-held">{st('sup.call.held')}</span> : null}
    </span>
  );
}

function AgentsTable({ session }: { session: SupervisorSession }) {
  const all = snapshot.value?.agents ?? [];
  const rows = sortAgents(filterAgents(all, teamFilter.value, queueFilter.value), sortKey.value, sortDir.value);
  const sortBy = (key: SortKey) => {
    if (sortKey.value === key) sortDir.value = sortDir.value === 'ascending' ? 'descending' : 'ascending';
    else {
      sortKey.value = key;
      sortDir.value = 'ascending';
    }
  };
  return (
    <section class="sup-section" aria-labelledby="sup-agents-title">
      <div class="sup-section-head">
        <h2 id="sup-agents-title" class="pane-title">
          {st('sup.agents.title')}
        </h2>
        <label for="sup-team">{st('sup.agents.team')}</label>
        <select id="sup-team" value={teamFilter.value} onChange={(e) => (teamFilter.value = (e.target as HTMLSelectElement).value)}>
          <option value="">{st('sup.agents.all')}</option>
          {Object.entries(session.console.teams).map(([id, name]) => (
            <option key={id} value={id}>
              {name}
            </option>
          ))}
        </select>
        <label for="sup-queue">{st('sup.agents.queue')}</label>
        <select id="sup-queue" value={queueFilter.value} onChange={(e) => (queueFilter.value = (e.target as HTMLSelectElement).value)}>
          <option value="">{st('sup.agents.all')}</option>
          {Object.entries(session.console.queues).map(([id, name]) => (
            <option key={id} value={id}>
              {name}
            </option>
          ))}
        </select>
        <span class="muted" id="sup-agent-count" aria-live="polite">
          {st('sup.agents.count', { shown: rows.length, total: all.length })}
        </span>
      </div>
      <table class="sup-table" id="sup-agents">
        <caption class="visually-hidden">{st('sup.agents.caption')}</caption>
        <thead>
          <tr>
            {COLUMNS.map(([key, label]) => (
              <th
                key={key}
                scope="col"
                aria-sort={sortKey.value === key ? sortDir.value : undefined}
                data-col={key}
              >
                <button type="button" class="sort" onClick={() => sortBy(key)}>
                  {st(label)}
                  <span aria-hidden="true" class="sort-mark">
                    {sortKey.value === key ? (sortDir.value === 'ascending' ? '▲' : '▼') : ''}
                  </span>
                </button>
              </th>
            ))}
            <th scope="col">{st('sup.agents.actions')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id} data-agent={r.id} data-state={r.state}>
              <th scope="row">{r.name}</th>
              <td>{session.console.teams[r.team] ?? r.team}</td>
              <td class="state">
                <StateBadge state={r.state} reason={idleReason(r, session)} />
              </td>
              <td class="since">
                {r.state === 'logged_out' && !r.since ? (
                  <span class="muted">–</span>
                ) : (
                  <Timer since={r.since} label={st('sup.agents.since')} />
                )}
              </td>
              <td class="call">
                <CallCell row={r} session={session} />
              </td>
              <td class="num ronas">{r.ronas_today}</td>
              <td>
                <button type="button" class="act" onClick={() => (acting.value = r.id)}>
                  {st('sup.agents.actions')}
                  <span class="visually-hidden">{st('sup.agents.act', { name: r.name })}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 ? <p class="muted">{st('sup.agents.none')}</p> : null}
    </section>
  );
}

// SUP-4, SUP-5 ---------------------------------------------------------------------

function AgentDialog({ id, session }: { id: string; session: SupervisorSession }) {
  const row = snapshot.value?.agents.find((a) => a.id === id) ?? null;
  const reasons = Object.entries(session.console.idle_reasons);
  const reason = useSignal(reasons[0]?.[0] ?? '');
  const mode = useSignal<Mode>('monitor');
  const extension = useSignal(session.phone.extension ?? '');
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const close = () => (acting.value = null);
  if (!row) return null;

  const browserPhone = session.phone.kind === 'browser';
  const run = async (action: () => Promise<unknown>, after?: () => void) => {
    error.value = null;
    busy.value = true;
    try {
      await action();
      after?.();
    } catch (err) {
      forgetExpectation();
      error.value = supErrorText(err);
    } finally {
      busy.value = false;
    }
  };
  const connected = row.call?.status === 'connected' && row.call.id;

  return (
    <Dialog id="sup-agent-dialog" title={st('sup.act.title', { name: row.name })} onClose={close} class="sup-agent-dialog">
      <p>
        <StateBadge state={row.state} reason={idleReason(row, session)} />
      </p>
      <div class="sup-act-row">
        <label for="sup-idle-reason">{st('sup.act.idleReason')}</label>
        <select id="sup-idle-reason" value={reason.value} onChange={(e) => (reason.value = (e.target as HTMLSelectElement).value)}>
          {reasons.map(([code, label]) => (
            <option key={code} value={code}>
              {label}
            </option>
          ))}
        </select>
        <button
          type="button"
          id="sup-set-idle"
          disabled={busy.value}
          onClick={() =>
            void run(
              () => supApi.setAgentState(row.id, 'idle', reason.value),
              () => notify(st('sup.act.done', { name: row.name, state: t('state.idle') }), 'info'),
            )
          }
        >
          {st('sup.act.setIdle')}
        </button>
        <button
          type="button"
          id="sup-log-out"
          class="danger"
          disabled={busy.value}
          onClick={() =>
            void run(
              () => supApi.setAgentState(row.id, 'logged_out'),
              () => notify(st('sup.act.done', { name: row.name, state: t('state.logged_out') }), 'info'),
            )
          }
        >
          {st('sup.act.logOut')}
        </button>
      </div>
      <fieldset class="sup-listen">
        <legend>{st('sup.listen.title')}</legend>
        {connected ? (
          <>
            <div class="sup-modes" role="radiogroup" aria-label={st('sup.listen.mode')}>
              {MODES.map((m) => (
                <label class="radio" key={m}>
                  <input type="radio" name="sup-mode" value={m} checked={mode.value === m} onChange={() => (mode.value = m)} />
                  {st(`sup.mode.${m}`)} <small class="muted">({st(`sup.mode.${m}Hint`)})</small>
                </label>
              ))}
            </div>
            {browserPhone ? (
              <p class="sup-listen-phone" id="sup-listen-phone">
                <Icon name="phone" />
                {st('sup.listen.browser')}
              </p>
            ) : (
              <>
                <label for="sup-extension">{st('sup.listen.extension')}</label>
                <input
                  id="sup-extension"
                  inputMode="numeric"
                  autocomplete="off"
                  value={extension.value}
                  onInput={(e) => (extension.value = (e.target as HTMLInputElement).value)}
                />
              </>
            )}
            <button
              type="button"
              id="sup-listen-start"
              class="primary"
              disabled={busy.value || supervision.value !== null}
              onClick={() =>
                void run(
                  async () => {
                    expectSupervision(row.call!.id!);
                    const started = await supApi.supervise(
                      row.call!.id!,
                      mode.value,
                      browserPhone ? undefined : extension.value.trim(),
                    );
                    startedSupervision({ ...started, agent: started.agent ?? row.id });
                  },
                  close,
                )
              }
            >
              {st('sup.listen.start')}
            </button>
          </>
        ) : (
          <p class="muted">{st('sup.listen.noCall')}</p>
        )}
      </fieldset>
      <div class="form-error" role="alert">
        {error.value ? <p class="message error" id="sup-act-error">{error.value}</p> : null}
      </div>
      <div class="dialog-actions">
        <button type="button" onClick={close}>
          {st('sup.act.close')}
        </button>
      </div>
    </Dialog>
  );
}

function SupervisionBar() {
  const sv = supervision.value;
  const busy = useSignal(false);
  if (!sv) {
    const reason = stoppedReason.value;
    if (!reason) return null;
    const key = `sup.sv.reason.${reason}` as SupKey;
    return (
      <div class="banner sup-supervision stopped" role="status" id="sup-supervision">
        {st('sup.sv.stopped', { reason: st(key) === key ? reason : st(key) })}
      </div>
    );
  }
  const names = snapshot.value?.agents ?? [];
  const agentName = names.find((a) => a.id === sv.agent)?.name ?? sv.agent ?? '';
  const inBrowser = sv.phone === 'browser';
  // the leg is in this page's phone, or (after a reload) in a page that is gone
  const here = inBrowser && phone.inCall.value;
  const act = async (action: () => Promise<unknown>) => {
    busy.value = true;
    try {
      await action();
    } catch (err) {
      notify(supErrorText(err), 'error');
    } finally {
      busy.value = false;
    }
  };
  return (
    <section class={`banner sup-supervision ${sv.state}`} id="sup-supervision" aria-labelledby="sup-supervision-title" data-mode={sv.mode} data-state={sv.state}>
      <h2 id="sup-supervision-title" class="visually-hidden">
        {st('sup.sv.title')}
      </h2>
      <Icon name="phone" />
      <span role="status" class="sup-sv-text">
        {sv.state === 'ringing'
          ? inBrowser
            ? st('sup.sv.connecting', { agent: agentName, mode: st(`sup.mode.${sv.mode}`) })
            : st('sup.sv.ringing', { extension: sv.extension, agent: agentName, mode: st(`sup.mode.${sv.mode}`) })
          : st('sup.sv.active', { mode: st(`sup.mode.${sv.mode}`), agent: agentName })}
        {inBrowser && sv.state === 'active' ? (
          <span class="sup-sv-phone" id="sup-sv-phone" data-here={here ? 'yes' : 'no'}>
            {' · '}
            {here ? st('sup.sv.inBrowser') : st('sup.sv.notHere')}
          </span>
        ) : null}
      </span>
      {sv.state === 'active' ? (
        <span class="sup-switch" role="group" aria-label={st('sup.sv.switchTo')}>
          {MODES.map((m) => (
            <button
              key={m}
              type="button"
              id={`sup-mode-${m}`}
              aria-pressed={sv.mode === m}
              disabled={busy.value || sv.mode === m}
              onClick={() =>
                void act(async () => {
                  const next = await supApi.switchMode(sv.interaction, m);
                  if (supervision.value) supervision.value = { ...supervision.value, mode: next.mode };
                })
              }
            >
              {st(`sup.mode.${m}`)}
            </button>
          ))}
        </span>
      ) : null}
      {inBrowser && sv.state === 'active' && !here ? (
        <button
          type="button"
          id="sup-rejoin"
          class="primary"
          disabled={busy.value || phone.reg.value !== 'registered'}
          onClick={() =>
            void act(async () => {
              expectSupervision(sv.interaction);
              try {
                startedSupervision(await supApi.rejoin(sv.interaction));
              } catch (err) {
                forgetExpectation();
                throw err;
              }
            })
          }
        >
          <Icon name="phone" />
          {st('sup.sv.rejoin')}
        </button>
      ) : null}
      <button
        type="button"
        id="sup-stop"
        class="danger"
        disabled={busy.value}
        onClick={() =>
          void act(async () => {
            await supApi.stop(sv.interaction);
            stoppedReason.value = 'stopped';
            supervision.value = null;
          })
        }
      >
        {inBrowser ? (
          <>
            <Icon name="end" />
            {st('sup.sv.hangUp')}
          </>
        ) : (
          st('sup.sv.stop')
        )}
      </button>
    </section>
  );
}
