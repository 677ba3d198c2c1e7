// DSK-11: the preview campaign: the header's Campaign contact button (for
// agents of the campaigns' teams), the contact dialog ("Kampagnen
// Kontakt") with the contact's details, Call and Skip, and the call-guide
// tab: one question at a time, the answer picks the next, then Submit.
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { attempt } from '../actions';
import { ApiError } from '../api';
import { Dialog } from '../components/Dialog';
import { Icon } from '../components/Icon';
import { t } from '../i18n';
import { agent, config, interaction, notify, offer } from '../store';
import { dialogsApi, type GuideView, type Preview } from './api';
import { answer, currentQuestion, isComplete, type Step } from './guide';
import { outboundErrorText } from './outbound';
import { me } from './shared';

/** PC-2: available, with no call and no offer. */
export function mayFetchContact(): boolean {
  return agent.value?.state === 'available' && !interaction.value && !offer.value;
}

function ContactDialog({ first, onClose }: { first: Preview; onClose: () => void }) {
  const preview = useSignal<Preview | null>(first);
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  const p = preview.value;
  const run = async (f: () => Promise<void>) => {
    if (busy.value) return;
    busy.value = true;
    error.value = null;
    try {
      await f();
    } catch (e) {
      error.value = outboundErrorText(e);
    } finally {
      busy.value = false;
    }
  };
  const call = () =>
    run(async () => {
      await dialogsApi.callContact(me());
      onClose();
    });
  const skip = () =>
    run(async () => {
      try {
        preview.value = await dialogsApi.skipContact(me());
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) {
          preview.value = null;
          return;
        }
        throw e;
      }
    });
  return (
    <Dialog id="campaign-dialog" title={t('campaign.title')} onClose={onClose} class="campaign-dialog" initialFocus=".call-contact">
      {p ? (
        <div class="campaign-contact" data-contact={p.contact.id}>
          <p class="campaign-name">
            <Icon name="campaign" label={t('kind.campaign')} />
            <strong>{p.campaign.name}</strong>
          </p>
          <dl class="facts">
            <dt>{t('campaign.contact')}</dt>
            <dd data-field="name">{p.contact.name}</dd>
            <dt>{t('campaign.number')}</dt>
            <dd data-field="number" class="number">
              {p.contact.number}
            </dd>
            {Object.entries(p.contact.details).map(([k, v]) => (
              <div class="fact" key={k} data-detail={k}>
                <dt>{k}</dt>
                <dd>{v}</dd>
              </div>
            ))}
          </dl>
        </div>
      ) : (
        <p class="muted">{t('campaign.noMore')}</p>
      )}
      {error.value ? (
        <p class="message error" role="alert">
          {error.value}
        </p>
      ) : null}
      <div class="dialog-actions">
        <button type="button" onClick={onClose}>
          {t('common.close')}
        </button>
        {p ? (
          <>
            <button type="button" class="skip-contact" disabled={busy.value} onClick={() => void skip()}>
              {t('campaign.skip')}
            </button>
            <button type="button" class="primary call-contact" disabled={busy.value} onClick={() => void call()}>
              <Icon name="phone" />
              {t('campaign.call')}
            </button>
          </>
        ) : null}
      </div>
    </Dialog>
  );
}

export function CampaignButton() {
  const preview = useSignal<Preview | null>(null);
  const busy = useSignal(false);
  if ((config.value?.campaigns?.length ?? 0) === 0) return null;
  const enabled = mayFetchContact() && !busy.value;
  const open = async () => {
    busy.value = true;
    try {
      preview.value = await dialogsApi.fetchContact(me());
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) notify(t('campaign.noMore'), 'info');
      else notify(outboundErrorText(e), 'error');
    } finally {
      busy.value = false;
    }
  };
  return (
    <>
      <button type="button" class="header-button campaign-button" disabled={!enabled} aria-haspopup="dialog" onClick={() => void open()}>
        <Icon name="campaign" />
        {t('header.campaign')}
      </button>
      {preview.value && mayFetchContact() ? <ContactDialog first={preview.value} onClose={() => (preview.value = null)} /> : null}
    </>
  );
}

// PC-4: the call guide ---------------------------------------------------------------

/** The guide tab is there during a campaign call and its wrap-up. */
export function guideVisible(): boolean {
  const ix = interaction.value;
  return !!ix && ix.kind === 'campaign' && (ix.status === 'connected' || ix.status === 'ended');
}

export function CallGuidePane() {
  const ix = interaction.value;
  const view = useSignal<GuideView | null>(null);
  const missing = useSignal(false);
  const walk = useSignal<Step[]>([]);
  const draft = useSignal('');
  const busy = useSignal(false);
  const ixId = ix?.id ?? null;

  useEffect(() => {
    view.value = null;
    walk.value = [];
    missing.value = false;
    if (!ixId) return;
    void dialogsApi
      .callGuide(ixId)
      .then((v) => {
        view.value = v;
        if (v.submitted) {
          walk.value = v.submitted.answers.map((s) => ({ question: s.question, answer: s.answer }));
        }
      })
      .catch(() => (missing.value = true));
  }, [ixId]);

  if (!ixId) return null;
  if (missing.value) return <p class="muted">{t('guide.none')}</p>;
  const v = view.value;
  if (!v) return <p class="muted">{t('common.loading')}</p>;
  const guide = v.guide;
  const submitted = v.submitted !== null;
  const current = currentQuestion(guide, walk.value);
  const complete = isComplete(guide, walk.value);
  const q = current ? guide.questions[current] : undefined;

  const give = (question: string, value: string) => {
    walk.value = answer(guide, walk.value, question, value);
    draft.value = '';
  };
  const submit = async () => {
    if (!complete || busy.value) return;
    busy.value = true;
    try {
      const result = await attempt(() => dialogsApi.submitGuide(ixId, walk.value));
      if (result.ok) {
        view.value = result.value as GuideView;
        notify(t('guide.submitted'), 'info');
      }
    } finally {
      busy.value = false;
    }
  };

  return (
    <div class="call-guide">
      <ol class="guide-walk">
        {walk.value.map((s) => (
          <li key={s.question} data-question={s.question}>
            <span class="guide-q">{guide.questions[s.question]?.text ?? s.question}</span>
            <span class="guide-a">{s.answer}</span>
            {!submitted ? (
              <button type="button" class="link change-answer" onClick={() => (walk.value = walk.value.slice(0, walk.value.indexOf(s)))}>
                {t('guide.change')}
              </button>
            ) : null}
          </li>
        ))}
      </ol>
      {!submitted && q && current ? (
        <fieldset class="guide-question" data-question={current}>
          <legend>{q.text}</legend>
          {q.kind === 'choice' ? (
            <div class="guide-answers">
              {Object.keys(q.answers ?? {}).map((a) => (
                <button type="button" key={a} class="guide-answer" onClick={() => give(current, a)}>
                  {a}
                </button>
              ))}
            </div>
          ) : (
            <form
              class="guide-text"
              onSubmit={(e) => {
                e.preventDefault();
                if (draft.value.trim()) give(current, draft.value);
              }}
            >
              <label for="guide-text-input">{t('guide.answer')}</label>
              <input id="guide-text-input" type="text" maxLength={200} value={draft.value} onInput={(e) => (draft.value = (e.currentTarget as HTMLInputElement).value)} />
              <button type="submit" disabled={!draft.value.trim()}>
                {t('guide.next')}
              </button>
            </form>
          )}
        </fieldset>
      ) : null}
      {submitted ? (
        <p class="message info guide-done" role="status">
          {t('guide.submitted')}
        </p>
      ) : (
        <div class="form-actions">
          <button type="button" class="primary submit-guide" disabled={!complete || busy.value} onClick={() => void submit()}>
            {t('guide.submit')}
          </button>
        </div>
      )}
    </div>
  );
}
