// The supervisor routes, through the page's one client (cookie + CSRF token).
import { api, type Api } from '../api';
import type { AgentRecord } from '../types';
import type { Chart, Filters, Interactions, Mode, Snapshot, Supervision } from './types';

function enc(s: string): string {
  return encodeURIComponent(s);
}

/** The query string of the list's filters (empty ones left out). */
export function filterQuery(filters: Partial<Filters>, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...filters, ...extra })) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

export class SupervisorApi {
  constructor(private readonly client: Api = api) {}

  snapshot(): Promise<Snapshot> {
    return this.client.request<Snapshot>('GET', '/v1/supervisor/snapshot');
  }

  setAgentState(agent: string, state: 'idle' | 'logged_out', reason?: string): Promise<AgentRecord> {
    return this.client.request<AgentRecord>(
      'PUT',
      `/v1/supervisor/agents/${enc(agent)}/state`,
      reason ? { state, reason } : { state },
    );
  }

  /** SUP-5: without an extension, the phone of the session (the browser phone, or the signed-in extension). */
  supervise(ix: string, mode: Mode, extension?: string): Promise<Supervision> {
    return this.client.request<Supervision>(
      'POST',
      `/v1/interactions/${enc(ix)}/supervision`,
      extension ? { mode, extension } : { mode },
    );
  }

  /** SUP-5: ring the session's phone again for this supervision (a reloaded console lost the call). */
  rejoin(ix: string): Promise<Supervision> {
    return this.client.request<Supervision>('POST', `/v1/interactions/${enc(ix)}/supervision/leg`);
  }

  switchMode(ix: string, mode: Mode): Promise<Supervision> {
    return this.client.request<Supervision>('PUT', `/v1/interactions/${enc(ix)}/supervision`, { mode });
  }

  stop(ix: string): Promise<Supervision> {
    return this.client.request<Supervision>('DELETE', `/v1/interactions/${enc(ix)}/supervision`);
  }

  interactions(status: string, filters: Partial<Filters>, cursor?: string): Promise<Interactions> {
    const extra: Record<string, string> = { status, limit: '200' };
    if (cursor) extra['cursor'] = cursor;
    return this.client.request<Interactions>('GET', `/v1/supervisor/interactions${filterQuery(filters, extra)}`);
  }

  chart(queue: string): Promise<Chart> {
    return this.client.request<Chart>('GET', `/v1/supervisor/charts${filterQuery({ queue })}`);
  }
}

/** The CSV export: a plain GET the browser downloads with the cookie. */
export function csvUrl(filters: Partial<Filters>): string {
  return `/v1/supervisor/interactions.csv${filterQuery(filters)}`;
}

export const supApi = new SupervisorApi();
