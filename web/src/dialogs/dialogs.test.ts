import { describe, expect, it } from 'vitest';
import type { CallGuide, Target } from './api';
import { dialNumberProblem, filterDialNumber } from './dialnumber';
import { answer, currentQuestion, isComplete, nextQuestion } from './guide';
import { consultControls, customerState } from './roles';
import { agentSelectable, choicesFor, filterTargets, listedKinds } from './targets';
import { sortedAnis } from './Outdial';
import { CATALOGUE } from '../i18n';
import { FAILURES } from './outbound';

describe('dial number (DN-1, DN-2)', () => {
  it('keeps only digits and + # * : as typed', () => {
    expect(filterDialNumber('+1 (201) 553-2447')).toBe('+12015532447');
    expect(filterDialNumber('+49 30/1234 ext. 5:12#')).toBe('+493012345:12#');
    expect(filterDialNumber('a*b#c:d+e')).toBe('*#:+');
    expect(filterDialNumber('٣٤٥')).toBe('');
  });

  it('needs 3 to 14 digits before sending', () => {
    expect(dialNumberProblem('')).toBe('empty');
    expect(dialNumberProblem('12')).toBe('tooFew');
    expect(dialNumberProblem('123')).toBeNull();
    expect(dialNumberProblem('+12345678901234')).toBeNull(); // 14 digits
    expect(dialNumberProblem('+123456789012345')).toBe('tooMany'); // 15 digits
    expect(dialNumberProblem('+1 (201) 553-2447')).toBeNull();
    expect(dialNumberProblem('01161123456789')).toBeNull();
  });

  it('places + only first and tones only after the colon', () => {
    expect(dialNumberProblem('12+34')).toBe('plus');
    expect(dialNumberProblem('1234#')).toBe('tones');
    expect(dialNumberProblem('+12015532447:12#*')).toBeNull();
    expect(dialNumberProblem('+12015532447:')).toBe('postDial');
    expect(dialNumberProblem('+12015532447:1:2')).toBe('postDial');
    // the digits after the colon are tones, not part of the number
    expect(dialNumberProblem('12:3456')).toBe('tooFew');
  });
});

const agents: Target[] = [
  { kind: 'agent', id: 'bob', name: 'Bob Baker', extension: '1002', team: 'tier1', team_name: 'Tier 1', state: 'available', selectable: true },
  { kind: 'agent', id: 'erin', name: 'Erin Évans', extension: '1005', team: 'tier1', team_name: 'Tier 1', state: 'wrap_up', selectable: false },
  { kind: 'address_book', name: 'Field service', number: '+15552000003' },
  { kind: 'entry_point', id: 'billing', name: 'Acme Billing', number: '8005550103', queue: 'billing' },
];

describe('targets (TR-1, TR-7, CO-1)', () => {
  it('filters by name, ID, extension or number, ignoring case and accents', () => {
    expect(filterTargets(agents, '').length).toBe(4);
    expect(filterTargets(agents, 'bob').map((x) => x.name)).toEqual(['Bob Baker']);
    expect(filterTargets(agents, 'evans').map((x) => x.name)).toEqual(['Erin Évans']);
    expect(filterTargets(agents, '1005').map((x) => x.name)).toEqual(['Erin Évans']);
    expect(filterTargets(agents, '555-2000').map((x) => x.name)).toEqual(['Field service']);
    expect(filterTargets(agents, 'billing').map((x) => x.name)).toEqual(['Acme Billing']);
    expect(filterTargets(agents, 'nobody')).toEqual([]);
  });

  it('offers only the kinds the call allows', () => {
    expect(choicesFor(['agent', 'queue', 'entry_point', 'dial_number', 'address_book'])).toEqual(['agent', 'queue', 'dial_number']);
    // TR-7: an outdial without transfer to queue
    expect(choicesFor(['agent', 'dial_number', 'address_book'])).toEqual(['agent', 'dial_number']);
    expect(listedKinds('queue', ['agent', 'queue', 'entry_point'])).toEqual(['queue', 'entry_point']);
    expect(listedKinds('queue', ['agent', 'queue', 'dial_number', 'address_book'])).toEqual(['queue']);
    expect(listedKinds('dial_number', ['agent', 'dial_number', 'address_book'])).toEqual(['address_book']);
  });

  it('lets a blind transfer go to available agents only, a consult to available or idle ones', () => {
    expect(agentSelectable('available', 'transfer')).toBe(true);
    expect(agentSelectable('idle', 'transfer')).toBe(false);
    expect(agentSelectable('wrap_up', 'transfer')).toBe(false);
    expect(agentSelectable('idle', 'consult')).toBe(true);
    expect(agentSelectable('wrap_up', 'consult')).toBe(false);
    expect(agentSelectable('connected', 'consult')).toBe(false);
  });
});

describe('role tables (CO-3..CO-5, CF-1, CF-3..CF-6)', () => {
  const on = (c: object) => Object.entries(c).filter(([, v]) => v).map(([k]) => k).sort();

  it('gives the consulting agent cancel while the consult waits or rings', () => {
    expect(on(consultControls('consulting_agent', 'queued'))).toEqual(['cancel']);
    expect(on(consultControls('consulting_agent', 'ringing'))).toEqual(['cancel']);
  });

  it('gives the consulting agent switch, transfer, conference and end while consulting', () => {
    expect(on(consultControls('consulting_agent', 'consulting'))).toEqual(['conference', 'endConsult', 'holdConsulted', 'transfer']);
    expect(on(consultControls('consulting_agent', 'consult_held'))).toEqual(['conference', 'endConsult', 'resumeConsulted', 'transfer']);
  });

  it('gives the consulting agent transfer and end in a conference, no hold', () => {
    expect(on(consultControls('consulting_agent', 'conference'))).toEqual(['endConference', 'transfer']);
  });

  it('gives the consulted agent only leave, once answered', () => {
    expect(on(consultControls('consulted_agent', 'ringing'))).toEqual([]);
    expect(on(consultControls('consulted_agent', 'consulting'))).toEqual(['leave']);
    expect(on(consultControls('consulted_agent', 'consult_held'))).toEqual(['leave']);
    expect(on(consultControls('consulted_agent', 'conference'))).toEqual(['leave']);
    expect(on(consultControls(null, 'consulting'))).toEqual([]);
  });

  it('shows the customer held, connected or in the conference', () => {
    expect(customerState('consulting', true)).toBe('held');
    expect(customerState('consult_held', false)).toBe('connected');
    expect(customerState('conference', false)).toBe('conference');
  });
});

const guide: CallGuide = {
  start: 'renew',
  questions: {
    renew: { text: 'Renew?', kind: 'choice', answers: { yes: 'plan', no: 'why', later: '' }, next: null },
    plan: { text: 'Which plan?', kind: 'choice', answers: { gold: '', silver: '' }, next: null },
    why: { text: 'Why not?', kind: 'text', answers: null, next: '' },
  },
};

describe('call guide (PC-4)', () => {
  it('walks the tree: each answer picks the next question', () => {
    expect(currentQuestion(guide, [])).toBe('renew');
    expect(nextQuestion(guide, 'renew', 'yes')).toBe('plan');
    let walk = answer(guide, [], 'renew', 'yes');
    expect(currentQuestion(guide, walk)).toBe('plan');
    expect(isComplete(guide, walk)).toBe(false);
    walk = answer(guide, walk, 'plan', 'gold');
    expect(currentQuestion(guide, walk)).toBe('');
    expect(isComplete(guide, walk)).toBe(true);
    expect(walk).toEqual([
      { question: 'renew', answer: 'yes' },
      { question: 'plan', answer: 'gold' },
    ]);
  });

  it('ends at once on an answer that leads nowhere', () => {
    const walk = answer(guide, [], 'renew', 'later');
    expect(isComplete(guide, walk)).toBe(true);
  });

  it('drops what followed when an earlier answer changes', () => {
    let walk = answer(guide, [], 'renew', 'yes');
    walk = answer(guide, walk, 'plan', 'silver');
    walk = answer(guide, walk, 'renew', 'no');
    expect(walk).toEqual([{ question: 'renew', answer: 'no' }]);
    expect(currentQuestion(guide, walk)).toBe('why');
    walk = answer(guide, walk, 'why', '  too expensive ');
    expect(walk[1]).toEqual({ question: 'why', answer: 'too expensive' });
    expect(isComplete(guide, walk)).toBe(true);
  });

  it('ignores an answer the question does not have, or a question not asked', () => {
    expect(answer(guide, [], 'renew', 'maybe')).toEqual([]);
    expect(answer(guide, [], 'plan', 'gold')).toEqual([]);
    expect(answer(guide, [], 'renew', 'yes').length).toBe(1);
    expect(isComplete(guide, [])).toBe(false);
  });
});

describe('outdial', () => {
  it('lists the ANIs alphabetically (OD-3)', () => {
    expect(sortedAnis(['+15550001001', '+15550001000', '+1444'])).toEqual(['+1444', '+15550001000', '+15550001001']);
  });

  it('has a message for every failure of OD-5 and both limit codes, in both languages', () => {
    for (const lang of ['en', 'de'] as const) {
      const cat = CATALOGUE[lang] as Record<string, string>;
      for (const f of FAILURES) expect(cat[`outdial.failed.${f}`], `${lang} ${f}`).toBeTruthy();
      expect(cat['outdial.limit.26']).toContain('26');
      expect(cat['outdial.limit.27']).toContain('27');
    }
    expect(CATALOGUE.de['outdial.failed.busy']).not.toBe(CATALOGUE.en['outdial.failed.busy']);
  });
});

describe('consult events (CO-3)', () => {
  it('move the call\'s consult leg and the customer\'s hold at once', async () => {
    await import('./ConsultPane');
    const { applyEvent, interaction } = await import('../store');
    const { callStatus } = await import('../controls');
    const leg = { channel: 'ix1-k1', role: 'consult' as const, state: 'ringing' as const, target: 'agent', agent: 'bob', number: null, queue: null, by: 'alice', started_at: null, connected_at: null };
    interaction.value = {
      id: 'ix1', tenant: 'acme', direction: 'inbound', label: 'Acme Support', ani: '+1555', dnis: '800', entry_point: 'support',
      queue: 'support', queue_name: 'Support', status: 'connected', entered_at: null, connected_at: null, ended_at: null,
      agent: 'alice', end_cause: null, wrap_up_reason: null, held: true, recording: 'off', kind: 'call', legs: [leg],
    };
    expect(callStatus(interaction.value)).toBe('consultRequested');
    const view = (state: string, customer: string) => ({ interaction_id: 'ix1', status: 'connected', agent: 'alice', role: null, customer: { ani: '+1555', state: customer }, consult: { ...leg, state } });
    applyEvent({ type: 'interaction.consult_connected', data: view('consulting', 'held') });
    expect(callStatus(interaction.value!)).toBe('consulting');
    applyEvent({ type: 'interaction.consult_held', data: view('consult_held', 'connected') });
    expect(callStatus(interaction.value!)).toBe('consultHeld');
    expect(interaction.value!.held).toBe(false);
    applyEvent({ type: 'interaction.conference_started', data: { ...view('conference', 'conference'), variables: [] } });
    expect(callStatus(interaction.value!)).toBe('conference');
    applyEvent({ type: 'interaction.consult_ended', data: { ...view('conference', 'connected'), reason: 'left' } });
    expect(callStatus(interaction.value!)).toBe('connected');
    expect(interaction.value!.legs).toEqual([]);
    interaction.value = null;
  });
});
