// Dialogs and popovers: labelled, keyboard-complete. A modal one traps the
// focus (Tab and Shift+Tab cycle inside) and gives it back when it closes;
// Escape closes where closing is allowed.
import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function focusables(root: HTMLElement): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE)).filter(
    (el) => !el.hasAttribute('hidden') && el.getAttribute('aria-hidden') !== 'true',
  );
}

/** The open modal dialogs, the top one last: only it keeps the focus. */
const modals: HTMLElement[] = [];

function focusFirst(root: HTMLElement, selector?: string): void {
  const first = (selector ? root.querySelector<HTMLElement>(selector) : null) ?? focusables(root)[0] ?? root;
  first.focus();
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

  // (A layout effect: the focus moves in the same task the dialog appears
  // in, so that it never lands after the person has clicked into a field.)
  useLayoutEffect(() => {
    const root = ref.current;
    if (!root) return;
    const before = document.activeElement as HTMLElement | null;
    if (!props.keepFocus && !root.contains(before)) focusFirst(root, props.initialFocus);
    if (!modal) return;
    modals.push(root);
    // The focus stays in the top modal dialog: focus that lands outside
    // (or on nothing, when the focused element went away) comes back.
    const onFocusIn = (e: FocusEvent) => {
      if (modals[modals.length - 1] === root && e.target instanceof Node && !root.contains(e.target)) {
        focusFirst(root, props.initialFocus);
      }
    };
    const onFocusOut = (e: FocusEvent) => {
      if (e.relatedTarget === null) {
        setTimeout(() => {
          const active = document.activeElement;
          if (modals[modals.length - 1] === root && (!active || active === document.body)) {
            focusFirst(root, props.initialFocus);
          }
        }, 0);
      }
    };
    document.addEventListener('focusin', onFocusIn);
    root.addEventListener('focusout', onFocusOut);
    // The page may still be moving the focus (a control that went away).
    const late = setTimeout(() => {
      const active = document.activeElement;
      if (modals[modals.length - 1] === root && !root.contains(active)) focusFirst(root, props.initialFocus);
    }, 50);
    return () => {
      clearTimeout(late);
      document.removeEventListener('focusin', onFocusIn);
      root.removeEventListener('focusout', onFocusOut);
      const i = modals.indexOf(root);
      if (i >= 0) modals.splice(i, 1);
      if (before && document.contains(before)) before.focus();
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
