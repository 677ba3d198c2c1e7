// The API calls of the dialogs (transfer, consult, conference, outdial,
// history, preview campaign), on the page's one client (src/api.ts).
import { api } from '../api';
import type { AgentState, Interaction, Leg } from '../types';

export type TargetKind = 'agent' | 'queue' | 'entry_point' | 'dial_number' | 'address_book';

export interface AgentTarget {
  kind: 'agent';
  id: string;
  name: string;
  extension: string;
  team: string;
  team_name: string;
  state: AgentState;
  selectable: boolean;
}
export interface QueueTarget {
  kind: 'queue';
  id: string;
  name: string;
  waiting: number;
}
export interface EntryPointTarget {
  kind: 'entry_point';
  id: string;
  name: string;
  number: string;
  queue: string;
}
export interface BookTarget {
  kind: 'address_book';
  name: string;
  number: string;
}
export type Target = AgentTarget | QueueTarget | EntryPointTarget | BookTarget;

export interface Targets {
  kind: TargetKind;
  search: string;
  interaction_id: string | null;
  transfer_kinds: TargetKind[];
  consult_kinds: TargetKind[];
  targets: Target[];
}

/** GET/POST .../consult: the call's two legs as this agent sees them (CO-3). */
export interface ConsultView {
  interaction_id: string;
  status: string;
  agent: string | null;
  role: 'consulting_agent' | 'consulted_agent' | null;
  customer: { ani: string; state: 'held' | 'connected' | 'conference' };
  consult: Leg | null;
}

export interface BookEntry {
  name: string;
  number: string;
}

export interface HistoryEntry {
  interaction_id: string;
  type: 'call';
  kind: 'call' | 'callback' | 'outdial' | 'campaign';
  direction: 'inbound' | 'outbound';
  label: string;
  number: string;
  queue: string | null;
  queue_name: string | null;
  started_at: string | null;
  connected_at: string | null;
  ended_at: string | null;
  duration_seconds: number | null;
  wrap_up_reason: string | null;
  wrap_up_label: string | null;
}

export interface Preview {
  campaign: { id: string; name: string; ani: string; call_guide: boolean };
  contact: { id: string; name: string; number: string; details: Record<string, string> };
  expires_at: string;
}

export interface GuideQuestion {
  text: string;
  kind: 'choice' | 'text';
  answers: Record<string, string> | null;
  next: string | null;
}
export interface CallGuide {
  start: string;
  questions: Record<string, GuideQuestion>;
}
export interface GuideView {
  interaction_id: string;
  campaign: string;
  guide: CallGuide;
  submitted: { answers: { question: string; text: string; answer: string }[]; submitted_by: string; submitted_at: string } | null;
}

const enc = encodeURIComponent;

function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const dialogsApi = {
  targets(
    kind: TargetKind,
    search: string,
    interaction?: string,
    purpose: 'transfer' | 'consult' = 'transfer',
  ): Promise<Targets> {
    return api.request<Targets>('GET', `/v1/targets${query({ kind, search, interaction, purpose })}`);
  },
  transfer(ix: string, kind: TargetKind, target: string): Promise<Interaction> {
    return api.request<Interaction>('POST', `/v1/interactions/${enc(ix)}/transfer`, { kind, target });
  },
  consult(ix: string, kind: TargetKind, target: string): Promise<ConsultView> {
    return api.request<ConsultView>('POST', `/v1/interactions/${enc(ix)}/consult`, { kind, target });
  },
  consultView(ix: string): Promise<ConsultView> {
    return api.request<ConsultView>('GET', `/v1/interactions/${enc(ix)}/consult`);
  },
  /** Cancels a waiting or ringing consult, ends an answered one, or (agent 2) leaves it. */
  endConsult(ix: string): Promise<ConsultView> {
    return api.request<ConsultView>('DELETE', `/v1/interactions/${enc(ix)}/consult`);
  },
  holdConsulted(ix: string): Promise<ConsultView> {
    return api.request<ConsultView>('POST', `/v1/interactions/${enc(ix)}/consult/hold`);
  },
  resumeConsulted(ix: string): Promise<ConsultView> {
    return api.request<ConsultView>('POST', `/v1/interactions/${enc(ix)}/consult/resume`);
  },
  transferToConsulted(ix: string): Promise<ConsultView> {
    return api.request<ConsultView>('POST', `/v1/interactions/${enc(ix)}/consult/transfer`);
  },
  conference(ix: string): Promise<ConsultView> {
    return api.request<ConsultView>('POST', `/v1/interactions/${enc(ix)}/conference`);
  },
  /** Ends the conference for everyone (agent 1) or leaves it (agent 2). */
  endConference(ix: string): Promise<ConsultView> {
    return api.request<ConsultView>('DELETE', `/v1/interactions/${enc(ix)}/conference`);
  },
  addressBook(search: string): Promise<{ entries: BookEntry[] }> {
    return api.request('GET', `/v1/address-book${query({ search })}`);
  },
  anis(agent: string): Promise<{ anis: string[]; default: string | null }> {
    return api.request('GET', `/v1/agents/${enc(agent)}/outdial-anis`);
  },
  outdial(agent: string, body: { number?: string; address_book?: string; ani?: string }): Promise<Interaction> {
    return api.request<Interaction>('POST', `/v1/agents/${enc(agent)}/outdial`, body);
  },
  cancel(ix: string): Promise<Interaction> {
    return api.request<Interaction>('POST', `/v1/interactions/${enc(ix)}/cancel`);
  },
  history(agent: string, type: 'all' | 'calls'): Promise<{ entries: HistoryEntry[] }> {
    return api.request('GET', `/v1/agents/${enc(agent)}/history${query({ type, limit: '100' })}`);
  },
  historyCall(agent: string, ix: string, body: { number?: string; ani?: string }): Promise<Interaction> {
    return api.request<Interaction>('POST', `/v1/agents/${enc(agent)}/history/${enc(ix)}/call`, body);
  },
  fetchContact(agent: string, campaign?: string): Promise<Preview> {
    return api.request<Preview>('POST', `/v1/agents/${enc(agent)}/campaign-contact`, campaign ? { campaign } : {});
  },
  currentContact(agent: string): Promise<Preview> {
    return api.request<Preview>('GET', `/v1/agents/${enc(agent)}/campaign-contact`);
  },
  skipContact(agent: string): Promise<Preview> {
    return api.request<Preview>('POST', `/v1/agents/${enc(agent)}/campaign-contact/skip`);
  },
  callContact(agent: string): Promise<Interaction> {
    return api.request<Interaction>('POST', `/v1/agents/${enc(agent)}/campaign-contact/call`);
  },
  callGuide(ix: string): Promise<GuideView> {
    return api.request<GuideView>('GET', `/v1/interactions/${enc(ix)}/call-guide`);
  },
  submitGuide(ix: string, answers: { question: string; answer: string }[]): Promise<unknown> {
    return api.request('PUT', `/v1/interactions/${enc(ix)}/call-guide`, { answers });
  },
};
