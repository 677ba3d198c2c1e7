// Dialogs and popovers: labelled, keyboard-complete. A modal one traps the
// focus (Tab and Shift+Tab cycle inside) and gives it back when it closes;
// Escape closes where closing is allowed.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function focusables(root: HTMLElement): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE)).filter(
    (el) => !el.hasAttribute('hidden') && el.getAttribute('aria-hidden') !== 'true',
  );
}

export interface DialogProps {
  title: string;
  /** Element ID prefix: the title is `${id}-title`. */
  id: string;
  modal?: boolean;
  onClose?: () => void;
  class?: string;
  /** A selector inside the dialog to focus first (default: the first focusable). */
  initialFocus?: string;
  /** Do not move the focus on open (a popover that must not interrupt typing). */
  keepFocus?: boolean;
  describedBy?: string;
  role?: 'dialog' | 'alertdialog';
  children: ComponentChildren;
}

export function Dialog(props: DialogProps) {
  const ref = useRef<HTMLDivElement>(null);
  const { modal = true, onClose } = props;

  useEffect(() => {
    const root = ref.current;
    if (!root) return;
    const before = document.activeElement as HTMLElement | null;
    if (!props.keepFocus) {
      const first =
        (props.initialFocus ? root.querySelector<HTMLElement>(props.initialFocus) : null) ?? focusables(root)[0] ?? root;
      first.focus();
    }
    return () => {
      if (modal && before && document.contains(before)) before.focus();
    };
  }, []);

  const onKeyDown = (e: KeyboardEvent) => {
    const root = ref.current;
    if (!root) return;
    if (e.key === 'Escape' && onClose) {
      e.stopPropagation();
      onClose();
      return;
    }
    if (e.key === 'Tab' && modal) {
      const items = focusables(root);
      if (items.length === 0) {
        e.preventDefault();
        return;
      }
      const first = items[0]!;
      const last = items[items.length - 1]!;
      const active = document.activeElement;
      if (e.shiftKey && (active === first || active === root)) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && active === last) {
        e.preventDefault();
        first.focus();
      }
    }
  };

  const box = (
    <div
      ref={ref}
      id={props.id}
      role={props.role ?? 'dialog'}
      aria-modal={modal ? 'true' : undefined}
      aria-labelledby={`${props.id}-title`}
      aria-describedby={props.describedBy}
      tabIndex={-1}
      class={`dialog${modal ? ' modal' : ' popover'}${props.class ? ` ${props.class}` : ''}`}
      onKeyDown={onKeyDown}
    >
      <header class="dialog-head">
        <h2 id={`${props.id}-title`}>{props.title}</h2>
      </header>
      {props.children}
    </div>
  );
  return modal ? <div class="backdrop">{box}</div> : box;
}
