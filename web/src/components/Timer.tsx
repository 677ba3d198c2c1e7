// A timer counting from a server timestamp (or down to one): it reads the
// server's clock (store/clock.ts), so every desktop shows the same time.
import { formatDuration, secondsSince, secondsUntil, serverNow, parseTime } from '../store/clock';

export function Timer({
  since,
  until,
  label,
  class: cls,
}: {
  since: string | null | undefined;
  /** Where it stopped (an ended call): then it shows the time between. */
  until?: string | null;
  label: string;
  class?: string;
}) {
  const end = parseTime(until);
  const seconds = secondsSince(since, end ?? serverNow.value);
  return (
    <time class={`timer${cls ? ` ${cls}` : ''}`} aria-label={label} title={label} data-seconds={seconds}>
      {formatDuration(seconds)}
    </time>
  );
}

export function Countdown({ until, render }: { until: string | number | null; render: (seconds: number) => string }) {
  const ms = typeof until === 'number' ? until : parseTime(until);
  const seconds = secondsUntil(ms, serverNow.value);
  return <span class="countdown" data-seconds={seconds}>{render(seconds)}</span>;
}
