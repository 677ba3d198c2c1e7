// Small dialogs of the page: keyboard help (DSK-15) and the warning before
// leaving unsaved call data (DSK-5).
import { useEffect } from 'preact/hooks';
import { Dialog } from '../components/Dialog';
import { bindHotkey, HOTKEYS, type HotkeyAction } from '../hotkeys';
import { t, type Key } from '../i18n';
import { dismiss, notices } from '../store';
import { helpOpen, leaveRequest } from '../store/ui';
import { Icon } from '../components/Icon';

const HELP: [HotkeyAction, Key][] = [
  ['answer', 'help.answer'],
  ['hold', 'help.hold'],
  ['mute', 'help.mute'],
  ['end', 'help.end'],
  ['state', 'help.state'],
  ['help', 'help.help'],
];

export function HelpDialog() {
  useEffect(() => bindHotkey('help', () => (helpOpen.value = !helpOpen.value)), []);
  if (!helpOpen.value) return null;
  const close = () => (helpOpen.value = false);
  return (
    <Dialog id="help" title={t('help.title')} onClose={close} class="help-dialog">
      <table class="hotkeys">
        <tbody>
          {HELP.map(([action, key]) => (
            <tr key={action}>
              <th scope="row">
                <kbd>{HOTKEYS[action].label}</kbd>
              </th>
              <td>{t(key)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="dialog-actions">
        <button type="button" onClick={close}>
          {t('common.close')}
        </button>
      </div>
    </Dialog>
  );
}

export function LeaveDialog() {
  const pending = leaveRequest.value;
  if (!pending) return null;
  const stay = () => (leaveRequest.value = null);
  const leave = () => {
    leaveRequest.value = null;
    pending();
  };
  return (
    <Dialog id="leave" title={t('vars.leaveTitle')} role="alertdialog" onClose={stay} describedBy="leave-text" initialFocus=".stay">
      <p id="leave-text">{t('vars.leaveText')}</p>
      <div class="dialog-actions">
        <button type="button" class="stay primary" onClick={stay}>
          {t('vars.leaveStay')}
        </button>
        <button type="button" class="danger" onClick={leave}>
          {t('vars.leaveDiscard')}
        </button>
      </div>
    </Dialog>
  );
}

export function Notices() {
  return (
    <div class="notices" aria-live="polite">
      {notices.value.map((n) => (
        <div key={n.id} class={`notice ${n.tone}`} role={n.tone === 'error' ? 'alert' : 'status'}>
          {n.tone === 'error' ? <Icon name="warning" /> : <Icon name="check" />}
          <span class="notice-text">{n.text}</span>
          <button type="button" class="icon-button" aria-label={t('common.dismiss')} onClick={() => dismiss(n.id)}>
            <Icon name="close" />
          </button>
        </div>
      ))}
    </div>
  );
}
