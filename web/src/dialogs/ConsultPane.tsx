// DSK-7, DSK-8: while a consult or a conference goes on, two panes: the
// customer and the consulted party, each with its status (held,
// consulting, consult on hold, conference), and the controls the role
// table gives the signed-in agent: switch, transfer, conference, end and
// cancel for the consulting agent; leave for the consulted agent.
import { signal, useSignal } from '@preact/signals';
import { attempt } from '../actions';
import { Icon } from '../components/Icon';
import { consultLeg } from '../controls';
import { t, type Key } from '../i18n';
import { consult, interaction, onEvent } from '../store';
import type { Interaction, Leg, Variable } from '../types';
import { VariableValue } from '../screens/OfferPopover';
import { dialogsApi, type ConsultView } from './api';
import { consultControls, customerState, type ConsultRole } from './roles';
import { agentNames, me, queueNames, syncCall } from './shared';

/** CO-2, CF-2: the variables the consult offer and the conference carried (kept in memory only). */
export const consultVariables = signal<{ interaction: string; variables: Variable[] } | null>(null);

/** CO-3: a consult event carries the customer's state and the consult leg;
 * the call's legs follow it at once (the snapshot read after it confirms). */
function applyConsultEvent(type: string, data: Record<string, unknown>): void {
  const view = data as unknown as Partial<ConsultView>;
  const ix = interaction.value;
  if (!ix || ix.id !== view.interaction_id || !view.customer) return;
  const others = (ix.legs ?? []).filter((l) => l.role !== 'consult');
  const ended = type === 'interaction.consult_ended';
  interaction.value = {
    ...ix,
    held: view.customer.state === 'held',
    legs: !ended && view.consult ? [...others, view.consult] : others,
  };
}

onEvent((event) => {
  const data = event.data as Record<string, unknown>;
  if (event.type.startsWith('interaction.consult_') || event.type === 'interaction.conference_started') {
    if (event.type !== 'interaction.consult_offered') applyConsultEvent(event.type, data);
  }
  if (event.type === 'interaction.consult_offered' || event.type === 'interaction.conference_started') {
    const vars = data['variables'];
    const ix = data['interaction_id'];
    if (Array.isArray(vars) && typeof ix === 'string') consultVariables.value = { interaction: ix, variables: vars as Variable[] };
  } else if (event.type === 'interaction.wrapped_up' || event.type === 'interaction.ended') {
    consultVariables.value = null;
  } else if (event.type === 'interaction.consult_ended') {
    const ix = data['interaction_id'];
    if (consultVariables.value?.interaction === ix) consultVariables.value = null;
  }
});

const LEG_STATUS: Record<Leg['state'], Key> = {
  queued: 'control.status.consultRequested',
  ringing: 'control.status.consultRequested',
  consulting: 'control.status.consulting',
  consult_held: 'control.status.consultHeld',
  conference: 'control.status.conference',
  connected: 'control.status.connected',
};

const CUSTOMER_STATUS: Record<'held' | 'connected' | 'conference', Key> = {
  held: 'control.status.held',
  connected: 'control.status.connected',
  conference: 'control.status.conference',
};

export function roleOf(ix: Interaction, leg: Leg | null, who: string): ConsultRole | null {
  if (!leg) return null;
  if (ix.agent === who) return 'consulting_agent';
  if (leg.agent === who) return 'consulted_agent';
  return null;
}

function partyName(leg: Leg): string {
  if (leg.agent) return agentNames.value[leg.agent] ?? leg.agent;
  if (leg.number) return leg.number;
  if (leg.queue) return t('consult.inQueue', { queue: queueNames.value[leg.queue] ?? leg.queue });
  return '';
}

/** The consulting agent's name, as the consult's variables carry it (CO-2). */
function consultingName(leg: Leg, vars: Variable[]): string {
  const named = vars.find((v) => v.name === 'consulting_agent_name')?.value;
  if (named) return named;
  return leg.by ? agentNames.value[leg.by] ?? leg.by : '';
}

export function ConsultPane({ ix }: { ix: Interaction }) {
  const busy = useSignal(false);
  const leg = consultLeg(ix);
  const who = me();
  const role = roleOf(ix, leg, who);
  if (!leg || !role || ix.status !== 'connected') return null;
  const c = consultControls(role, leg.state);
  const cust = customerState(leg.state, ix.held);
  const conference = leg.state === 'conference';
  const vars = consultVariables.value?.interaction === ix.id ? consultVariables.value.variables : [];

  const act = async (f: () => Promise<ConsultView>) => {
    if (busy.value) return;
    busy.value = true;
    try {
      const result = await attempt(f);
      await syncCall(ix.id, result.ok ? result.value : undefined);
    } finally {
      busy.value = false;
    }
  };
  const b = (enabled: boolean) => !enabled || busy.value;

  return (
    <section class={`consult-panes${conference ? ' conference' : ''}`} aria-label={conference ? t('consult.conferenceRegion') : t('consult.region')} data-role={role} data-consult={leg.state}>
      <div class="party-pane customer" aria-labelledby="pane-customer-title">
        <h3 id="pane-customer-title">{t('consult.customer')}</h3>
        <p class="party-id number">{ix.direction === 'outbound' ? ix.dnis : ix.ani}</p>
        <p class={`status status-${cust}`} data-status={cust} id="pane-customer-status">
          {cust === 'held' ? <Icon name="hold" /> : null}
          {cust === 'conference' ? <Icon name="conference" /> : null}
          {t(CUSTOMER_STATUS[cust])}
        </p>
        {role === 'consulting_agent' && !conference ? (
          <div class="pane-actions">
            {ix.held ? (
              <button type="button" class="resume-customer" disabled={b(c.holdConsulted)} onClick={() => void act(() => dialogsApi.holdConsulted(ix.id))}>
                <Icon name="resume" />
                {t('consult.resumeCustomer')}
              </button>
            ) : (
              <button type="button" class="hold-customer" disabled={b(c.resumeConsulted)} onClick={() => void act(() => dialogsApi.resumeConsulted(ix.id))}>
                <Icon name="hold" />
                {t('consult.holdCustomer')}
              </button>
            )}
          </div>
        ) : null}
      </div>
      <div class="party-pane consulted" aria-labelledby="pane-consulted-title">
        <h3 id="pane-consulted-title">{role === 'consulting_agent' ? t('consult.consulted') : t('consult.consulting')}</h3>
        <p class="party-id">{role === 'consulting_agent' ? partyName(leg) : consultingName(leg, vars)}</p>
        <p class={`status status-${leg.state}`} data-status={leg.state} id="pane-consulted-status" role="status">
          {leg.state === 'consult_held' ? <Icon name="hold" /> : null}
          {conference ? <Icon name="conference" /> : null}
          {t(LEG_STATUS[leg.state])}
        </p>
        <div class="pane-actions" role="toolbar" aria-label={conference ? t('consult.conferenceRegion') : t('consult.region')}>
          {role === 'consulting_agent' ? (
            <>
              {c.cancel ? (
                <button type="button" class="cancel-consult danger" disabled={busy.value} onClick={() => void act(() => dialogsApi.endConsult(ix.id))}>
                  <Icon name="close" />
                  {t('consult.cancel')}
                </button>
              ) : null}
              {!conference && !c.cancel ? (
                leg.state === 'consult_held' ? (
                  <button type="button" class="resume-consulted" disabled={b(c.resumeConsulted)} onClick={() => void act(() => dialogsApi.resumeConsulted(ix.id))}>
                    <Icon name="resume" />
                    {t('consult.resumeConsulted')}
                  </button>
                ) : (
                  <button type="button" class="hold-consulted" disabled={b(c.holdConsulted)} onClick={() => void act(() => dialogsApi.holdConsulted(ix.id))}>
                    <Icon name="hold" />
                    {t('consult.holdConsulted')}
                  </button>
                )
              ) : null}
              {!c.cancel ? (
                <button type="button" class="transfer-consulted" disabled={b(c.transfer)} onClick={() => void act(() => dialogsApi.transferToConsulted(ix.id))}>
                  <Icon name="outdial" />
                  {t('consult.transfer')}
                </button>
              ) : null}
              {!conference && !c.cancel ? (
                <button type="button" class="start-conference" disabled={b(c.conference)} onClick={() => void act(() => dialogsApi.conference(ix.id))}>
                  <Icon name="conference" />
                  {t('consult.conference')}
                </button>
              ) : null}
              {conference ? (
                <button type="button" class="end-conference danger" disabled={b(c.endConference)} onClick={() => void act(() => dialogsApi.endConference(ix.id))}>
                  <Icon name="end" />
                  {t('consult.endConference')}
                </button>
              ) : !c.cancel ? (
                <button type="button" class="end-consult danger" disabled={b(c.endConsult)} onClick={() => void act(() => dialogsApi.endConsult(ix.id))}>
                  <Icon name="end" />
                  {t('consult.end')}
                </button>
              ) : null}
            </>
          ) : (
            <button
              type="button"
              class="leave danger"
              disabled={b(c.leave)}
              onClick={() => void act(() => (conference ? dialogsApi.endConference(ix.id) : dialogsApi.endConsult(ix.id)))}
            >
              <Icon name="end" />
              {conference ? t('consult.leaveConference') : t('consult.leave')}
            </button>
          )}
        </div>
      </div>
      {vars.length > 0 ? (
        <div class="consult-vars">
          <h3 class="subhead">{conference ? t('consult.conferenceVariables') : t('consult.variables')}</h3>
          <dl class="facts">
            {vars.slice(0, conference ? 11 : 9).map((v) => (
              <div class="fact" key={v.name} data-variable={v.name}>
                <dt>{v.label}</dt>
                <dd>
                  <VariableValue v={v} />
                </dd>
              </div>
            ))}
          </dl>
        </div>
      ) : null}
    </section>
  );
}

/** The consult the store holds, when it is this call's. */
export function consultOf(ix: Interaction): ConsultView | null {
  const v = consult.value as ConsultView | null;
  return v && v.interaction_id === ix.id ? v : null;
}
