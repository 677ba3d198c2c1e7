// Registers the dialogs and auxiliary panes in the desktop's slots (see
// src/slots.ts): the header's Outdial and Campaign contact buttons, the
// history and call-guide tabs, the transfer and consult controls, the
// consult and conference panes and the outbound call's ringing card.
import { effect } from '@preact/signals';
import { createElement as h } from 'preact';
import { t } from '../i18n';
import {
  registerAuxTab,
  registerControlAction,
  registerControlPane,
  registerHeaderAction,
  registerTaskCard,
} from '../slots';
import { CallGuidePane, CampaignButton, guideVisible } from './Campaign';
import { ConsultButton, TransferButton } from './CallActions';
import { ConsultPane } from './ConsultPane';
import { HistoryPane } from './History';
import { OutdialButton } from './Outdial';
import { RingingCard, ringingOutbound } from './outbound';
import { config } from '../store';
import './dialogs.css';

registerHeaderAction({ id: 'outdial', order: 10, render: () => h(OutdialButton, {}) });
registerHeaderAction({ id: 'campaign', order: 20, render: () => h(CampaignButton, {}) });

registerControlAction({ id: 'transfer', order: 10, render: (ix) => h(TransferButton, { ix }) });
registerControlAction({ id: 'consult', order: 20, render: (ix) => h(ConsultButton, { ix }) });
registerControlPane({ id: 'consult', order: 10, render: (ix) => h(ConsultPane, { ix }) });

// The ringing card is in the task list only while an outbound call rings
// and the tenant lets the agent cancel it.
let removeCard: (() => void) | null = null;
effect(() => {
  const show = ringingOutbound() !== null && !!config.value?.outdial_cancel;
  if (show && !removeCard) {
    removeCard = registerTaskCard({ id: 'outbound-ringing', order: 10, render: () => h(RingingCard, {}) });
  } else if (!show && removeCard) {
    removeCard();
    removeCard = null;
  }
});

registerAuxTab({ id: 'history', order: 10, label: () => t('aux.history'), render: () => h(HistoryPane, {}) });
registerAuxTab({
  id: 'call-guide',
  order: 5,
  label: () => t('aux.callGuide'),
  visible: guideVisible,
  render: () => h(CallGuidePane, {}),
});
