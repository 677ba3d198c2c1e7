// SUP-6: calls per 15 minutes (offered, answered, abandoned) and the
// service level per 15 minutes, drawn with uPlot (loaded with this view
// only: a chunk of its own).
import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { lang } from '../i18n';
import { st, supErrorText } from '../i18n/supervisor';
import { supApi } from './api';
import type { Bucket, Chart, SupervisorSession } from './types';

import type uPlotType from 'uplot';

type UPlot = typeof uPlotType;

/** The series of a day's buckets: x in seconds, counts, service level in %. */
export function series(buckets: Bucket[]): [number[], number[], number[], number[], (number | null)[]] {
  const x = buckets.map((b) => Math.round(Date.parse(b.start) / 1000));
  return [
    x,
    buckets.map((b) => b.offered),
    buckets.map((b) => b.answered),
    buckets.map((b) => b.abandoned),
    buckets.map((b) => (b.service_level === null ? null : Math.round(b.service_level * 1000) / 10)),
  ];
}

export function totals(buckets: Bucket[]): { offered: number; answered: number; abandoned: number } {
  return buckets.reduce(
    (sum, b) => ({ offered: sum.offered + b.offered, answered: sum.answered + b.answered, abandoned: sum.abandoned + b.abandoned }),
    { offered: 0, answered: 0, abandoned: 0 },
  );
}

function Plot({
  uPlot,
  id,
  chart,
  kind,
  title,
}: {
  uPlot: UPlot;
  id: string;
  chart: Chart;
  kind: 'calls' | 'sl';
  title: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!host.current) return;
    const [x, offered, answered, abandoned, sl] = series(chart.buckets);
    const tz = chart.timezone;
    const width = Math.max(320, host.current.clientWidth || 600);
    const common = {
      width,
      height: 180,
      legend: { show: false },
      tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1000), tz),
      cursor: { show: true, drag: { x: false, y: false } },
    };
    const plot =
      kind === 'calls'
        ? new uPlot(
            {
              ...common,
              series: [
                {},
                // (answered drawn wide and abandoned dashed on top: equal counts stay visible)
                { label: st('sup.chart.offered'), stroke: '#1f5fbf', width: 2 },
                { label: st('sup.chart.answered'), stroke: '#1e7b34', width: 4 },
                { label: st('sup.chart.abandoned'), stroke: '#b3261e', width: 2, dash: [5, 4] },
              ],
              axes: [{}, { label: '' }],
              scales: { y: { range: (_u: uPlotType, _min: number, max: number): uPlotType.Range.MinMax => [0, Math.max(1, max)] } },
            },
            [x, offered, answered, abandoned],
            host.current,
          )
        : new uPlot(
            {
              ...common,
              series: [{}, { label: st('sup.chart.sl'), stroke: '#6a3fa0', width: 2, spanGaps: false, points: { show: true } }],
              scales: { y: { range: [0, 100] } },
            },
            [x, sl],
            host.current,
          );
    return () => plot.destroy();
  }, [chart, kind, lang.value]);
  return (
    <figure class="sup-chart" id={id} aria-labelledby={`${id}-title`}>
      <figcaption id={`${id}-title`}>{title}</figcaption>
      <div ref={host} class="sup-chart-canvas" role="img" aria-label={title} />
    </figure>
  );
}

export function Charts({ session }: { session: SupervisorSession }) {
  const uPlot = useSignal<UPlot | null>(null);
  const chart = useSignal<Chart | null>(null);
  const queue = useSignal('');
  const error = useSignal<string | null>(null);
  useEffect(() => {
    void import('uplot').then((m) => (uPlot.value = (m as unknown as { default: UPlot }).default ?? (m as unknown as UPlot)));
    void import('uplot/dist/uPlot.min.css');
  }, []);
  useEffect(() => {
    supApi
      .chart(queue.value)
      .then((c) => (chart.value = c))
      .catch((err: unknown) => (error.value = supErrorText(err)));
  }, [queue.value]);
  const sum = chart.value ? totals(chart.value.buckets) : null;
  return (
    <section class="sup-charts" aria-labelledby="sup-charts-title">
      <div class="sup-section-head">
        <h2 id="sup-charts-title" class="pane-title">
          {st('sup.chart.title')}
        </h2>
        <label for="sup-chart-queue">{st('sup.chart.queue')}</label>
        <select id="sup-chart-queue" value={queue.value} onChange={(e) => (queue.value = (e.target as HTMLSelectElement).value)}>
          <option value="">{st('sup.ix.any')}</option>
          {Object.entries(session.console.queues).map(([id, name]) => (
            <option key={id} value={id}>
              {name}
            </option>
          ))}
        </select>
        {sum ? (
          <span class="muted" id="sup-chart-summary" data-offered={sum.offered} data-answered={sum.answered} data-abandoned={sum.abandoned}>
            {st('sup.chart.summary', sum)}
          </span>
        ) : null}
      </div>
      <ul class="chart-legend" aria-hidden="true">
        <li class="offered">{st('sup.chart.offered')}</li>
        <li class="answered">{st('sup.chart.answered')}</li>
        <li class="abandoned">{st('sup.chart.abandoned')}</li>
      </ul>
      {error.value ? <p class="message error">{error.value}</p> : null}
      {!uPlot.value || !chart.value ? (
        <p class="muted">{st('sup.chart.loading')}</p>
      ) : (
        <div class="sup-chart-grid">
          <Plot uPlot={uPlot.value} id="sup-chart-calls" chart={chart.value} kind="calls" title={st('sup.chart.title')} />
          <Plot uPlot={uPlot.value} id="sup-chart-sl" chart={chart.value} kind="sl" title={st('sup.chart.slTitle')} />
        </div>
      )}
    </section>
  );
}
