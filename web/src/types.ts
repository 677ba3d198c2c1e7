// Shapes of the control plane's API as the desktop reads them (README, "API").

export type AgentState =
  | 'logged_out'
  | 'idle'
  | 'available'
  | 'reserved'
  | 'connected'
  | 'wrap_up'
  | 'rona';

export type Kind = 'call' | 'callback' | 'outdial' | 'campaign';
export type Direction = 'inbound' | 'outbound';
export type InteractionStatus = 'queued' | 'ringing' | 'connected' | 'dialing' | 'scheduled' | 'ended';
export type RecordingState = 'off' | 'recording' | 'paused';
export type VariableType = 'string' | 'integer' | 'decimal' | 'boolean' | 'datetime';

export interface AgentRecord {
  id: string;
  tenant: string;
  state: AgentState;
  previous: AgentState | null;
  reason: string | null;
  since: string | null;
  extension: string | null;
  offer: string | null;
  interaction: string | null;
  /** The agent's change number, where the snapshot carries it. */
  seq?: number;
}

export interface Leg {
  channel: string;
  role: 'consult' | 'transfer' | 'party';
  state: 'queued' | 'ringing' | 'consulting' | 'consult_held' | 'conference' | 'connected';
  target: string;
  agent: string | null;
  number: string | null;
  queue: string | null;
  by: string | null;
  started_at: string | null;
  connected_at: string | null;
}

export interface Interaction {
  id: string;
  tenant: string;
  direction: Direction;
  label: string;
  ani: string;
  dnis: string;
  entry_point: string;
  queue: string;
  queue_name: string;
  status: InteractionStatus;
  entered_at: string | null;
  connected_at: string | null;
  ended_at: string | null;
  agent: string | null;
  end_cause: string | null;
  wrap_up_reason: string | null;
  held: boolean;
  recording: RecordingState;
  recording_name?: string | null;
  kind: Kind;
  legs: Leg[];
  /** REC-2: when a paused recording resumes by itself (from the pause event). */
  resume_at?: string | null;
}

export interface Variable {
  name: string;
  label: string;
  type: VariableType;
  editable: boolean;
  secure: boolean;
  value: string | null;
  version?: number;
  masked?: boolean;
  source?: 'agent' | 'flow' | null;
  updated_by?: string | null;
  updated_at?: string | null;
}

export interface VariablesView {
  interaction_id: string;
  status: string;
  can_edit: boolean;
  variables: Variable[];
}

/** IN-1: what the agent is shown while the phone rings. */
export interface Offer {
  interaction_id: string;
  direction: Direction;
  label: string;
  ani: string;
  dnis: string;
  queue: string;
  queue_name: string;
  variables: Variable[];
  status: 'ringing';
  entered_at: string | null;
  /** An offer's kind; "consult" for a consult offered to this agent (CO-2). */
  kind: Kind | 'consult';
}

export interface DesktopConfig {
  idle_reasons: Record<string, string>;
  wrap_up_reasons: Record<string, string>;
  auto_wrap_up_seconds: number;
  outdial: boolean;
  keypad: boolean;
  outdial_cancel: boolean;
  privacy_shield_seconds: number;
  campaigns: unknown[];
}

export interface SipCredentials {
  ws_url: string;
  uri: string;
  username: string;
  password: string;
  display_name: string;
  realm: string;
}

export type PhoneKind = 'browser' | 'extension';

export interface Session {
  tenant: string;
  agent: string;
  role: string;
  name: string;
  csrf_token: string;
  phone: { kind: PhoneKind; extension: string | null; sip: SipCredentials | null };
}

/** GET /v1/me: one snapshot of everything the desktop shows. */
export interface Me {
  agent: AgentRecord & { name?: string; team?: string };
  interaction: Interaction | null;
  consult: unknown;
  variables: VariablesView | null;
  server_time: string;
  config: DesktopConfig;
  /** The offer ringing now, as its event showed it. */
  offer?: Offer | null;
  /** The interaction in the agent's wrap-up. */
  wrap_up?: { interaction_id: string; reasons: Record<string, string>; auto_wrap_up_seconds: number; ended_at: string | null } | null;
  /** An open RONA. */
  rona?: { reason: string | null; choices: string[] } | null;
}

export interface ServerEvent<D = Record<string, unknown>> {
  type: string;
  tenant?: string;
  agent?: string | null;
  at?: string;
  data: D;
}

export interface AgentStateData {
  agent: string;
  seq: number;
  previous: AgentState;
  state: AgentState;
  reason: string | null;
  timestamp: string;
}
