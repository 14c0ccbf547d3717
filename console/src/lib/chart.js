// Outcomes over time, drawn as SVG lines (no chart library: a few polylines and two axes). The figure has a
// text alternative and a legend in words; colours are told apart by dash pattern too.

import { html } from 'htm/preact';

export const SERIES = [
  { key: 'sent', label: 'Sent', dash: '' },
  { key: 'delivered', label: 'Delivered', dash: '6 3' },
  { key: 'read', label: 'Read', dash: '2 3' },
  { key: 'failed', label: 'Failed', dash: '10 3 2 3' },
  { key: 'suppressed', label: 'Suppressed', dash: '1 5' },
  { key: 'unknown', label: 'Unknown', dash: '4 6' },
];

const W = 640;
const H = 220;
const PAD = { left: 48, right: 12, top: 12, bottom: 28 };

export function OutcomeChart({ samples, total }) {
  const last = samples[samples.length - 1];
  const summary = last
    ? SERIES.map((s) => `${s.label} ${last[s.key]}`).join(', ')
    : 'No progress observed yet.';
  if (samples.length < 2) {
    return html`<figure class="chart"><figcaption>Outcomes over time</figcaption><p class="muted">The chart starts once the job reports progress.</p></figure>`;
  }
  const t0 = samples[0].t;
  const span = Math.max(1000, last.t - t0);
  const top = Math.max(1, total || 0, ...samples.map((p) => Math.max(...SERIES.map((s) => p[s.key]))));
  const x = (t) => PAD.left + ((t - t0) / span) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
  const shown = SERIES.filter((s) => samples.some((p) => p[s.key] > 0));
  return html`<figure class="chart">
    <figcaption id="chart-title">Outcomes over time</figcaption>
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-labelledby="chart-title" aria-describedby="chart-summary" preserveAspectRatio="xMidYMid meet">
      <line class="axis" x1=${PAD.left} y1=${H - PAD.bottom} x2=${W - PAD.right} y2=${H - PAD.bottom} />
      <line class="axis" x1=${PAD.left} y1=${PAD.top} x2=${PAD.left} y2=${H - PAD.bottom} />
      <text class="tick" x=${PAD.left - 6} y=${y(top) + 4} text-anchor="end">${top.toLocaleString()}</text>
      <text class="tick" x=${PAD.left - 6} y=${y(0) + 4} text-anchor="end">0</text>
      <text class="tick" x=${PAD.left} y=${H - 8}>0 s</text>
      <text class="tick" x=${W - PAD.right} y=${H - 8} text-anchor="end">${Math.round(span / 1000)} s</text>
      ${shown.map(
        (s) => html`<polyline class=${`series series-${s.key}`} stroke-dasharray=${s.dash || undefined}
          points=${samples.map((p) => `${x(p.t).toFixed(1)},${y(p[s.key]).toFixed(1)}`).join(' ')} />`,
      )}
    </svg>
    <p id="chart-summary" class="visually-hidden">Latest: ${summary}.</p>
    <ul class="legend">
      ${shown.map((s) => html`<li><span class=${`swatch series-${s.key}`} aria-hidden="true"></span>${s.label}</li>`)}
    </ul>
  </figure>`;
}
