// Which controls of the interaction control pane are enabled (DSK-4): the
// rules of HOLD, END, REC, CO and CF as the desktop applies them before the
// service does (a refusal by the service still shows its rule's text).

import type { Interaction, Leg } from './types';

export type CallStatus =
  | 'connected'
  | 'held'
  | 'ringing'
  | 'dialing'
  | 'ended'
  | 'consultRequested'
  | 'consulting'
  | 'consultHeld'
  | 'conference';

export interface ControlContext {
  /** The signed-in agent. */
  me: string;
  phoneKind: 'browser' | 'extension';
  /** The browser phone has the call. */
  phoneInCall: boolean;
  /** The tenant's privacy shield (seconds; 0 = none). */
  privacyShieldSeconds: number;
}

export interface Controls {
  status: CallStatus;
  /** The signed-in agent is the consulted party, not the call's agent (CO-5). */
  consulted: boolean;
  hold: boolean;
  resume: boolean;
  end: boolean;
  /** Whether the recording toggle is shown at all, and whether it is enabled. */
  showRecording: boolean;
  pauseRecording: boolean;
  resumeRecording: boolean;
  showPhone: boolean;
  mute: boolean;
  keypad: boolean;
}

export function consultLeg(ix: Interaction): Leg | null {
  return ix.legs?.find((l) => l.role === 'consult') ?? null;
}

export function callStatus(ix: Interaction): CallStatus {
  if (ix.status === 'ended') return 'ended';
  if (ix.status === 'ringing' || ix.status === 'queued') return 'ringing';
  if (ix.status === 'dialing') return 'dialing';
  const leg = consultLeg(ix);
  if (leg) {
    if (leg.state === 'conference') return 'conference';
    if (leg.state === 'queued' || leg.state === 'ringing') return 'consultRequested';
    if (leg.state === 'consulting') return 'consulting';
    if (leg.state === 'consult_held') return 'consultHeld';
  }
  return ix.held ? 'held' : 'connected';
}

export function controlsFor(ix: Interaction, ctx: ControlContext): Controls {
  const status = callStatus(ix);
  const leg = consultLeg(ix);
  const consulted = ix.agent !== ctx.me && leg?.agent === ctx.me;
  const live = ix.status === 'connected';
  const mine = live && !consulted;
  const conference = status === 'conference';
  const recordingOn = ix.recording !== 'off';
  return {
    status,
    consulted,
    // HOLD-1, HOLD-3: hold what is not held; CF-3: nobody is held in a conference.
    hold: mine && !ix.held && !conference,
    resume: mine && ix.held && !conference,
    // END-1: never while the customer is held.
    end: mine && !ix.held,
    // REC-2: pause with the privacy shield, resume a paused recording.
    showRecording: live && recordingOn && !consulted && (ctx.privacyShieldSeconds > 0 || ix.recording === 'paused'),
    pauseRecording: mine && ix.recording === 'recording' && ctx.privacyShieldSeconds > 0,
    resumeRecording: mine && ix.recording === 'paused',
    showPhone: ctx.phoneKind === 'browser',
    mute: ctx.phoneKind === 'browser' && ctx.phoneInCall,
    keypad: ctx.phoneKind === 'browser' && ctx.phoneInCall,
  };
}
