// Shapes of the supervisor routes (README, "Supervisor console").
import type { AgentState, Direction, Session } from '../types';

export interface DayCounts {
  offered: number;
  answered: number;
  answered_in_sl: number;
  abandoned: number;
  /** 0..1; null when nothing was answered. */
  service_level: number | null;
}

export interface QueueRow {
  id: string;
  name: string;
  waiting: number;
  oldest_entered_at: string | null;
  agents: Record<AgentState, number>;
  agents_total: number;
  service_level_seconds: number;
  today: DayCounts;
}

export interface AgentCall {
  id: string | null;
  status: string | null;
  queue: string | null;
  direction: Direction | null;
  kind: string | null;
  entered_at: string | null;
  connected_at: string | null;
  held: boolean;
}

export interface AgentRow {
  id: string;
  name: string;
  team: string;
  queues: string[];
  state: AgentState;
  reason: string | null;
  since: string | null;
  extension: string | null;
  ronas_today: number;
  call: AgentCall | null;
}

export interface Usage {
  used: number;
  max: number;
  id?: string;
}

export interface Limits {
  datacenter: Usage;
  tenant: Usage;
  refused_today: Record<string, number>;
}

export interface Snapshot {
  tenant: string;
  server_time: string;
  day: string;
  timezone: string;
  queues: QueueRow[];
  agents: AgentRow[];
  limits: Limits;
  /** SUP-5: this supervisor's own supervision going on (null: none). */
  supervision?: Supervision | null;
}

export interface Delta {
  queues?: QueueRow[];
  agents?: AgentRow[];
  queues_removed?: string[];
  agents_removed?: string[];
  limits?: Limits;
  day?: string;
  server_time?: string;
}

export type Mode = 'monitor' | 'whisper' | 'barge';

export interface Supervision {
  interaction: string;
  supervisor: string;
  extension: string;
  /** The supervisor's phone: their browser phone (answers by itself) or an extension. */
  phone?: 'browser' | 'extension';
  /** The supervisor's channel. */
  leg?: string;
  mode: Mode;
  state: 'ringing' | 'active' | 'stopped';
  agent: string | null;
  started_at: string | null;
}

export interface Listed {
  id: string;
  direction: Direction | null;
  kind: string | null;
  label: string | null;
  customer_number: string | null;
  dnis: string | null;
  entry_point: string | null;
  queue: string | null;
  agent: string | null;
  entered_at: string | null;
  connected_at: string | null;
  ended_at: string | null;
  end_cause: string | null;
  wrap_up_reason: string | null;
  status: string;
}

export interface Interactions {
  day: string;
  server_time: string;
  active: Listed[];
  queued: Listed[];
  completed: Listed[];
  next_cursor: string | null;
}

export interface Bucket {
  bucket: number;
  start: string;
  offered: number;
  answered: number;
  answered_in_sl: number;
  abandoned: number;
  service_level: number | null;
}

export interface Chart {
  day: string;
  timezone: string;
  queues: string[];
  buckets: Bucket[];
}

export interface ConsoleConfig {
  teams: Record<string, string>;
  queues: Record<string, string>;
  idle_reasons: Record<string, string>;
  wrap_up_reasons: Record<string, string>;
}

export interface SupervisorSession extends Session {
  role: 'supervisor';
  teams: string[];
  console: ConsoleConfig;
}

export interface Filters {
  queue: string;
  agent: string;
  direction: string;
  end_cause: string;
  wrap_up_reason: string;
}
