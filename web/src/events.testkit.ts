// Test doubles for the event stream's tests: a WebSocket the test drives,
// a snapshot of the agent, and a flush of pending promise callbacks.
import type { Me } from './types';

export class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(public url: string) {
    FakeSocket.all.push(this);
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  send(event: unknown) {
    this.onmessage?.({ data: JSON.stringify(event) });
  }
  close(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

export function snapshot(state: string, at: string, over: Partial<Me> = {}): Me {
  return {
    agent: { id: 'alice', tenant: 'acme', state: state as never, previous: null, reason: null, since: at,
      extension: '1001', offer: null, interaction: null },
    interaction: null, consult: null, variables: null, server_time: at,
    config: { idle_reasons: {}, wrap_up_reasons: {}, auto_wrap_up_seconds: 0, outdial: false, keypad: false,
      outdial_cancel: false, privacy_shield_seconds: 0, campaigns: [] },
    ...over,
  };
}

export async function flush(): Promise<void> {
  for (let i = 0; i < 8; i++) await Promise.resolve();
}
