// Hotkeys (DSK-15): Alt+A answer, Alt+H hold/resume, Alt+M mute, Alt+E end,
// Alt+S state selector, Alt+K keyboard help. Each calls a handler the
// screen that owns the action registers while the action is possible.

export type HotkeyAction = 'answer' | 'hold' | 'mute' | 'end' | 'state' | 'help';

export const HOTKEYS: Record<HotkeyAction, { code: string; label: string }> = {
  answer: { code: 'KeyA', label: 'Alt+A' },
  hold: { code: 'KeyH', label: 'Alt+H' },
  mute: { code: 'KeyM', label: 'Alt+M' },
  end: { code: 'KeyE', label: 'Alt+E' },
  state: { code: 'KeyS', label: 'Alt+S' },
  help: { code: 'KeyK', label: 'Alt+K' },
};

const handlers = new Map<HotkeyAction, () => void>();

/** Registers the handler of an action; returns its removal. */
export function bindHotkey(action: HotkeyAction, handler: () => void): () => void {
  handlers.set(action, handler);
  return () => {
    if (handlers.get(action) === handler) handlers.delete(action);
  };
}

export function onKeyDown(e: KeyboardEvent): void {
  if (!e.altKey || e.ctrlKey || e.metaKey) return;
  for (const [action, key] of Object.entries(HOTKEYS) as [HotkeyAction, { code: string }][]) {
    if (e.code === key.code) {
      const handler = handlers.get(action);
      if (handler) {
        e.preventDefault();
        handler();
      }
      return;
    }
  }
}

export function installHotkeys(target: Document = document): () => void {
  target.addEventListener('keydown', onKeyDown);
  return () => target.removeEventListener('keydown', onKeyDown);
}
