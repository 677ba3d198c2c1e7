// SUP-6: the day's interactions (active, queued, completed) with filters,
// the CSV export of the completed ones (a plain download with the cookie)
// and the charts per 15 minutes.
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { locale } from '../i18n';
import { st, supErrorText, type SupKey } from '../i18n/supervisor';
import { csvUrl, supApi } from './api';
import { Charts } from './Charts';
import { snapshot } from './live';
import type { Filters, Interactions as List, Listed, SupervisorSession } from './types';

const STATUSES = ['all', 'active', 'queued', 'completed'] as const;
type Status = (typeof STATUSES)[number];
export const END_CAUSES = [
  'customer_hangup', 'agent_hangup', 'agent_end', 'abandoned', 'unknown_entry_point', 'system', 'lost',
  'callback_requested', 'customer_not_reached', 'not_connected', 'cancelled', 'transfer_not_answered', 'party_hangup',
] as const;
const cause = (c: string) => (END_CAUSES.includes(c as (typeof END_CAUSES)[number]) ? st(`sup.cause.${c}` as SupKey) : c);
const EMPTY: Filters = { queue: '', agent: '', direction: '', end_cause: '', wrap_up_reason: '' };

/** A time of the tenant's day, in its time zone (as the charts and the day are). */
function time(iso: string | null, timeZone: string | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '–';
  const opts: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', second: '2-digit' };
  try {
    return d.toLocaleTimeString(locale.value, { ...opts, timeZone });
  } catch {
    return d.toLocaleTimeString(locale.value, opts);
  }
}

const LIVE_STATUSES = ['queued', 'ringing', 'dialing', 'connected', 'scheduled', 'ended'] as const;
function statusText(status: string): string {
  return LIVE_STATUSES.includes(status as (typeof LIVE_STATUSES)[number]) ? st(`sup.ix.st.${status}` as SupKey) : status;
}

export function Interactions({ session }: { session: SupervisorSession }) {
  const status = useSignal<Status>('all');
  const draft = useSignal<Filters>({ ...EMPTY });
  const applied = useSignal<Filters>({ ...EMPTY });
  const list = useSignal<List | null>(null);
  const more = useSignal<Listed[]>([]);
  const error = useSignal<string | null>(null);
  const loading = useSignal(false);
  const agents = Object.fromEntries((snapshot.value?.agents ?? []).map((a) => [a.id, a.name]));

  const load = async () => {
    loading.value = true;
    error.value = null;
    try {
      list.value = await supApi.interactions(status.value, applied.value);
      more.value = [];
    } catch (err) {
      error.value = supErrorText(err);
    } finally {
      loading.value = false;
    }
  };
  const loadMore = async () => {
    const cursor = list.value?.next_cursor;
    if (!cursor) return;
    try {
      const next = await supApi.interactions('completed', applied.value, cursor);
      more.value = [...more.value, ...next.completed];
      list.value = { ...list.value!, next_cursor: next.next_cursor };
    } catch (err) {
      error.value = supErrorText(err);
    }
  };
  useEffect(() => void load(), [status.value, applied.value]);

  const set = (name: keyof Filters) => (e: Event) => {
    draft.value = { ...draft.value, [name]: (e.target as HTMLSelectElement).value };
  };
  const rows: Listed[] = list.value ? [...list.value.queued, ...list.value.active, ...list.value.completed, ...more.value] : [];
  const tz = snapshot.value?.timezone;
  const queueName = (id: string | null) => (id ? session.console.queues[id] ?? id : '–');

  return (
    <section class="sup-section" aria-labelledby="sup-ix-title">
      <div class="sup-section-head">
        <h2 id="sup-ix-title" class="pane-title">
          {st('sup.ix.title')}
        </h2>
        {list.value ? (
          <span class="muted" id="sup-ix-count" aria-live="polite">
            {st('sup.ix.count', {
              active: list.value.active.length,
              queued: list.value.queued.length,
              completed: list.value.completed.length + more.value.length,
            })}
          </span>
        ) : null}
      </div>
      <form
        class="sup-filters"
        id="sup-ix-filters"
        aria-label={st('sup.ix.filters')}
        onSubmit={(e) => {
          e.preventDefault();
          applied.value = { ...draft.value };
        }}
      >
        <label>
          {st('sup.ix.status')}
          <select id="sup-ix-status" value={status.value} onChange={(e) => (status.value = (e.target as HTMLSelectElement).value as Status)}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {st(`sup.ix.status.${s}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {st('sup.ix.queue')}
          <select id="sup-ix-queue" value={draft.value.queue} onChange={set('queue')}>
            <option value="">{st('sup.ix.any')}</option>
            {Object.entries(session.console.queues).map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {st('sup.ix.agent')}
          <select id="sup-ix-agent" value={draft.value.agent} onChange={set('agent')}>
            <option value="">{st('sup.ix.any')}</option>
            {Object.entries(agents).map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {st('sup.ix.direction')}
          <select id="sup-ix-direction" value={draft.value.direction} onChange={set('direction')}>
            <option value="">{st('sup.ix.any')}</option>
            <option value="inbound">{st('sup.call.inbound')}</option>
            <option value="outbound">{st('sup.call.outbound')}</option>
          </select>
        </label>
        <label>
          {st('sup.ix.endCause')}
          <select id="sup-ix-end-cause" value={draft.value.end_cause} onChange={set('end_cause')}>
            <option value="">{st('sup.ix.any')}</option>
            {END_CAUSES.map((c) => (
              <option key={c} value={c}>
                {cause(c)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {st('sup.ix.wrapUp')}
          <select id="sup-ix-wrap-up" value={draft.value.wrap_up_reason} onChange={set('wrap_up_reason')}>
            <option value="">{st('sup.ix.any')}</option>
            {Object.entries(session.console.wrap_up_reasons).map(([code, label]) => (
              <option key={code} value={code}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="primary" id="sup-ix-apply">
          {st('sup.ix.apply')}
        </button>
        <button type="button" id="sup-ix-refresh" onClick={() => void load()} disabled={loading.value}>
          {st('sup.ix.refresh')}
        </button>
        <a class="button-link" id="sup-ix-csv" href={csvUrl(applied.value)} download>
          {st('sup.ix.csv')}
        </a>
      </form>
      <div class="form-error" role="alert">
        {error.value ? <p class="message error">{error.value}</p> : null}
      </div>
      <div class="sup-ix-scroll">
        <table class="sup-table" id="sup-ix">
          <caption class="visually-hidden">{st('sup.ix.caption')}</caption>
          <thead>
            <tr>
              <th scope="col">{st('sup.ix.col.status')}</th>
              <th scope="col">{st('sup.ix.col.time')}</th>
              <th scope="col">{st('sup.ix.col.ended')}</th>
              <th scope="col">{st('sup.ix.col.direction')}</th>
              <th scope="col">{st('sup.ix.col.customer')}</th>
              <th scope="col">{st('sup.ix.col.queue')}</th>
              <th scope="col">{st('sup.ix.col.agent')}</th>
              <th scope="col">{st('sup.ix.col.endCause')}</th>
              <th scope="col">{st('sup.ix.col.wrapUp')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={`${r.status}-${r.id}`} data-ix={r.id} data-status={r.status}>
                <td>{statusText(r.status)}</td>
                <td>{time(r.entered_at, tz)}</td>
                <td>{time(r.ended_at, tz)}</td>
                <td>{r.direction === 'outbound' ? st('sup.call.outbound') : st('sup.call.inbound')}</td>
                <td>{r.customer_number ?? '–'}</td>
                <td>{queueName(r.queue)}</td>
                <td>{r.agent ? agents[r.agent] ?? r.agent : '–'}</td>
                <td>{r.end_cause ? cause(r.end_cause) : '–'}</td>
                <td>{r.wrap_up_reason ? session.console.wrap_up_reasons[r.wrap_up_reason] ?? r.wrap_up_reason : '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {list.value && rows.length === 0 ? <p class="muted">{st('sup.ix.none')}</p> : null}
      {list.value?.next_cursor ? (
        <button type="button" id="sup-ix-more" onClick={() => void loadMore()}>
          {st('sup.ix.more')}
        </button>
      ) : null}
      <Charts session={session} />
    </section>
  );
}
