// The header's Outdial and Campaign contact buttons and the auxiliary
// pane's tabs as placeholders: the dialogs register components under the
// same IDs (src/slots.ts), which replace these.
import { Icon } from './components/Icon';
import { t } from './i18n';
import { registerAuxTab, registerHeaderAction } from './slots';
import { config } from './store';

registerHeaderAction({
  id: 'outdial',
  order: 10,
  render: () =>
    config.value?.outdial ? (
      <button type="button" class="header-button" disabled>
        <Icon name="outdial" />
        {t('header.outdial')}
      </button>
    ) : null,
});

registerHeaderAction({
  id: 'campaign',
  order: 20,
  render: () =>
    (config.value?.campaigns?.length ?? 0) > 0 ? (
      <button type="button" class="header-button" disabled>
        <Icon name="campaign" />
        {t('header.campaign')}
      </button>
    ) : null,
});

registerAuxTab({
  id: 'history',
  order: 10,
  label: () => t('aux.history'),
  render: () => <p class="muted">{t('aux.empty')}</p>,
});
