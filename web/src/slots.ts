// Places where further screens plug in without editing the desktop's files:
// a module registers its component once at import (see src/plugins.ts).
//
//   registerHeaderAction({ id: 'outdial', order: 10, render: () => <OutdialButton /> });
//   registerAuxTab({ id: 'history', order: 10, label: () => t('aux.history'), render: () => <History /> });
//   registerControlAction({ id: 'transfer', order: 10, render: (ix) => <TransferButton ix={ix} /> });
//   registerOverlay({ id: 'transfer-dialog', render: () => <TransferDialog /> });
//   registerCardExtra({ id: 'consult', render: (ix) => <ConsultCards ix={ix} /> });

import { signal } from '@preact/signals';
import type { ComponentChild } from 'preact';
import type { Interaction } from './types';

export interface Slot<P = void> {
  id: string;
  /** Lower first. */
  order?: number;
  render: (props: P) => ComponentChild;
}

export interface AuxTab {
  id: string;
  order?: number;
  label: () => string;
  /** When false, the tab is not shown (for example the call guide without a campaign call). */
  visible?: () => boolean;
  render: () => ComponentChild;
}

function registry<T extends { id: string; order?: number }>() {
  const items = signal<T[]>([]);
  const add = (item: T): (() => void) => {
    const rest = items.value.filter((i) => i.id !== item.id);
    items.value = [...rest, item].sort((a, b) => (a.order ?? 100) - (b.order ?? 100));
    return () => {
      items.value = items.value.filter((i) => i !== item);
    };
  };
  return [items, add] as const;
}

/** Buttons in the header, beside the state selector (outdial, campaign contact). */
export const [headerActions, registerHeaderAction] = registry<Slot>();
/** Tabs of the auxiliary pane (history, call guide). */
export const [auxTabs, registerAuxTab] = registry<AuxTab>();
/** Buttons of the interaction control pane (transfer, consult, conference). */
export const [controlActions, registerControlAction] = registry<Slot<Interaction>>();
/** Extra content of the control pane below the main call (the consult's pane). */
export const [controlPanes, registerControlPane] = registry<Slot<Interaction>>();
/** Dialogs and popovers rendered at the top of the page. */
export const [overlays, registerOverlay] = registry<Slot>();
/** Extra cards in the task list (a consult request, a campaign preview). */
export const [taskCards, registerTaskCard] = registry<Slot>();
