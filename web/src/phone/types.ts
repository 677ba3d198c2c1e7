// The browser phone as the desktop uses it (PH-1, PH-2).
import type { ReadonlySignal } from '@preact/signals';
import type { SipCredentials } from '../types';

export type { SipCredentials };

export type Registration = 'off' | 'registering' | 'registered' | 'failed';

export interface BrowserPhone {
  /** Registration state of the WebRTC endpoint (shown in the header). */
  reg: ReadonlySignal<Registration>;
  /** An incoming call rings in the browser. */
  incoming: ReadonlySignal<boolean>;
  /** A call is established in the browser. */
  inCall: ReadonlySignal<boolean>;
  muted: ReadonlySignal<boolean>;
  /** The interaction an incoming call's INVITE names as a supervision of
   * this supervisor's (SUP-5: the console answers it by itself); else null. */
  incomingSupervision: ReadonlySignal<string | null>;
  start(sip: SipCredentials): void;
  stop(): Promise<void>;
  answer(): void;
  hangup(): void;
  setMuted(m: boolean): void;
  sendDtmf(tones: string): void;
}
