// State of the page itself (not of the service).
import { signal } from '@preact/signals';

/** The call-variable form has unsaved changes (DSK-5). */
export const varsDirty = signal(false);
/** An in-app action waits for the agent to confirm leaving unsaved changes. */
export const leaveRequest = signal<null | (() => void)>(null);
export const helpOpen = signal(false);

/** Runs `action` now, or after the agent confirms leaving unsaved call data. */
export function guardLeave(action: () => void): void {
  if (varsDirty.value) leaveRequest.value = action;
  else action();
}
