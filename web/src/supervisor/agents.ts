// SUP-2: the agents table's filter and sort (the service sends rows by ID;
// the console filters by team and queue and sorts by any column).
import { parseTime } from '../store/clock';
import type { AgentState } from '../types';
import type { AgentRow } from './types';

export type SortKey = 'name' | 'team' | 'state' | 'since' | 'call' | 'ronas';
export type SortDir = 'ascending' | 'descending';

/** States in the order a supervisor reads them (busy first, then free, then away). */
const STATE_ORDER: AgentState[] = ['rona', 'reserved', 'connected', 'wrap_up', 'available', 'idle', 'logged_out'];

export function filterAgents(rows: AgentRow[], team: string, queue: string): AgentRow[] {
  return rows.filter((r) => (!team || r.team === team) && (!queue || r.queues.includes(queue)));
}

function callStart(r: AgentRow): number {
  return parseTime(r.call?.connected_at ?? r.call?.entered_at) ?? Number.POSITIVE_INFINITY;
}

function compare(a: AgentRow, b: AgentRow, key: SortKey): number {
  switch (key) {
    case 'name':
      return a.name.localeCompare(b.name);
    case 'team':
      return a.team.localeCompare(b.team) || a.name.localeCompare(b.name);
    case 'state':
      return STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state) || a.name.localeCompare(b.name);
    case 'since':
      // the longest in their state first when ascending by time in state
      return (parseTime(a.since) ?? Number.POSITIVE_INFINITY) - (parseTime(b.since) ?? Number.POSITIVE_INFINITY);
    case 'call':
      return callStart(a) - callStart(b);
    case 'ronas':
      return a.ronas_today - b.ronas_today || a.name.localeCompare(b.name);
  }
}

/** Sorted copy; `since` and `call` ascending mean the longest time first. */
export function sortAgents(rows: AgentRow[], key: SortKey, dir: SortDir): AgentRow[] {
  const sorted = [...rows].sort((a, b) => compare(a, b, key));
  return dir === 'ascending' ? sorted : sorted.reverse();
}
