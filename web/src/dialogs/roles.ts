// The role tables of "Beratungsanruf einleiten" and "Konferenzgespräch
// starten" (CO-1, CO-3..CO-5, CF-1, CF-3..CF-6) as the desktop enables its
// consult and conference controls; the service applies the same table and
// refuses anything else naming the rule.
import type { Leg } from '../types';

export type ConsultRole = 'consulting_agent' | 'consulted_agent';
export type LegState = Leg['state'];

export interface ConsultControls {
  /** CO-1: withdraw a consult that waits in a queue or rings. */
  cancel: boolean;
  /** CO-4: "End consult": the customer and the consulted party are removed; agent 1 wraps up. */
  endConsult: boolean;
  /** CO-3: back to the customer, the consulted party is held. */
  holdConsulted: boolean;
  /** CO-3: back to the consulted party, the customer is held. */
  resumeConsulted: boolean;
  /** CO-4, CF-4: the call goes to the consulted party; agent 1 wraps up. */
  transfer: boolean;
  /** CF-1: all three hear each other. */
  conference: boolean;
  /** CF-6: agent 1 ends the conference for everyone. */
  endConference: boolean;
  /** CO-5, CF-5: agent 2 leaves the consult or the conference. */
  leave: boolean;
}

const NONE: ConsultControls = {
  cancel: false,
  endConsult: false,
  holdConsulted: false,
  resumeConsulted: false,
  transfer: false,
  conference: false,
  endConference: false,
  leave: false,
};

const ANSWERED: readonly LegState[] = ['consulting', 'consult_held'];

/** The consult controls the role may use with the consult leg in `state`. */
export function consultControls(role: ConsultRole | null, state: LegState | null): ConsultControls {
  if (!role || !state) return NONE;
  if (role === 'consulted_agent') {
    return { ...NONE, leave: ANSWERED.includes(state) || state === 'conference' };
  }
  return {
    ...NONE,
    cancel: state === 'queued' || state === 'ringing',
    endConsult: ANSWERED.includes(state),
    holdConsulted: state === 'consulting',
    resumeConsulted: state === 'consult_held',
    transfer: ANSWERED.includes(state) || state === 'conference',
    conference: ANSWERED.includes(state),
    endConference: state === 'conference',
  };
}

/** The customer's state while a consult goes on (CO-3, CF-1). */
export function customerState(state: LegState | null, customerHeld: boolean): 'held' | 'connected' | 'conference' {
  if (state === 'conference') return 'conference';
  return customerHeld ? 'held' : 'connected';
}
