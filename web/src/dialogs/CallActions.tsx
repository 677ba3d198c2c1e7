// DSK-6, DSK-7: the Transfer and Consult buttons of the interaction control
// pane, each opening its dialog; enabled for the call's own agent while
// the call is connected and no consult goes on (the consulted agent has
// neither, CO-5).
import { useSignal } from '@preact/signals';
import { Icon } from '../components/Icon';
import { consultLeg } from '../controls';
import { t } from '../i18n';
import type { Interaction } from '../types';
import { me } from './shared';
import { TargetDialog, type Mode } from './TargetDialog';

export function canStart(ix: Interaction, who: string): boolean {
  return ix.status === 'connected' && ix.agent === who && consultLeg(ix) === null;
}

function ActionButton({ ix, mode }: { ix: Interaction; mode: Mode }) {
  const open = useSignal(false);
  const enabled = canStart(ix, me());
  if (ix.agent !== me()) return null;
  return (
    <>
      <button
        type="button"
        class={`control ${mode}`}
        disabled={!enabled}
        aria-haspopup="dialog"
        onClick={() => (open.value = true)}
      >
        <Icon name={mode === 'transfer' ? 'outdial' : 'user'} />
        {mode === 'transfer' ? t('transfer.button') : t('consult.button')}
      </button>
      {open.value && enabled ? <TargetDialog ix={ix} mode={mode} onClose={() => (open.value = false)} /> : null}
    </>
  );
}

export function TransferButton({ ix }: { ix: Interaction }) {
  return <ActionButton ix={ix} mode="transfer" />;
}

export function ConsultButton({ ix }: { ix: Interaction }) {
  return <ActionButton ix={ix} mode="consult" />;
}
