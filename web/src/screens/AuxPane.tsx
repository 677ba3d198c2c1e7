// The auxiliary pane: tabs that the dialogs register (history, call guide).
import { useSignal } from '@preact/signals';
import { t } from '../i18n';
import { auxTabs } from '../slots';

export function AuxPane() {
  const active = useSignal<string | null>(null);
  const tabs = auxTabs.value.filter((tab) => tab.visible?.() ?? true);
  if (tabs.length === 0) return <aside class="aux" aria-label={t('header.aux')} />;
  const current = tabs.find((tab) => tab.id === active.value) ?? tabs[0]!;
  const onKey = (e: KeyboardEvent) => {
    const i = tabs.indexOf(current);
    let next = -1;
    if (e.key === 'ArrowRight') next = (i + 1) % tabs.length;
    else if (e.key === 'ArrowLeft') next = (i - 1 + tabs.length) % tabs.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = tabs.length - 1;
    if (next >= 0) {
      e.preventDefault();
      active.value = tabs[next]!.id;
      document.getElementById(`aux-tab-${tabs[next]!.id}`)?.focus();
    }
  };
  return (
    <aside class="aux" aria-label={t('header.aux')}>
      <div role="tablist" class="tabs" aria-label={t('header.aux')} onKeyDown={onKey}>
        {tabs.map((tab) => (
          <button
            key={tab.id}
            type="button"
            role="tab"
            id={`aux-tab-${tab.id}`}
            aria-selected={tab === current}
            aria-controls={`aux-panel-${tab.id}`}
            tabIndex={tab === current ? 0 : -1}
            onClick={() => (active.value = tab.id)}
          >
            {tab.label()}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`aux-panel-${current.id}`} aria-labelledby={`aux-tab-${current.id}`} class="tab-panel" tabIndex={0}>
        {current.render()}
      </div>
    </aside>
  );
}
