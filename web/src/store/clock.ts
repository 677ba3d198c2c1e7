// Server time (DSK-13): timers count from server timestamps. The offset of
// the server's clock from this machine's is estimated from the snapshot's
// `server_time` and every event's `at`; a sample is never later than the
// server's clock (it travelled to us), so the largest one since the last
// snapshot is the best estimate.

import { signal } from '@preact/signals';

/** serverTime - localTime, in milliseconds. */
export const clockOffset = signal(0);
let estimated = false;

/** The server's "now" (ms since the epoch), refreshed a few times a second. */
export const serverNow = signal(Date.now());

export function parseTime(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** A snapshot's server time: the estimate starts again from it. */
export function resetClock(serverIso: string, localNow = Date.now()): void {
  const server = parseTime(serverIso);
  if (server === null) return;
  clockOffset.value = server - localNow;
  estimated = true;
  tick(localNow);
}

/** An event's time: the estimate only moves forward from it. */
export function sampleClock(serverIso: string | undefined, localNow = Date.now()): void {
  const server = parseTime(serverIso);
  if (server === null) return;
  const sample = server - localNow;
  if (!estimated || sample > clockOffset.value) {
    clockOffset.value = sample;
    estimated = true;
  }
}

export function tick(localNow = Date.now()): void {
  serverNow.value = localNow + clockOffset.value;
}

let timer: ReturnType<typeof setInterval> | null = null;

export function startClock(intervalMs = 250): void {
  if (timer !== null) return;
  tick();
  timer = setInterval(() => tick(), intervalMs);
}

export function stopClock(): void {
  if (timer !== null) clearInterval(timer);
  timer = null;
}

/** Whole seconds from `fromIso` to the server's now (never negative). */
export function secondsSince(fromIso: string | null | undefined, now = serverNow.value): number {
  const from = parseTime(fromIso);
  if (from === null) return 0;
  return Math.max(0, Math.floor((now - from) / 1000));
}

/** Whole seconds from the server's now until `untilMs` (never negative, rounded up). */
export function secondsUntil(untilMs: number | null, now = serverNow.value): number {
  if (untilMs === null) return 0;
  return Math.max(0, Math.ceil((untilMs - now) / 1000));
}

/** 0:07, 12:34, 1:02:03 */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`;
}
