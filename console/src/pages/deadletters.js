// Dead letters (admins): peek at each dead-letter queue without taking anything out, then replay it, a dry run
// first, with a maximum count and a rate cap; the replay streams its outcomes as it goes. Messaging owns three
// queues (ListDeadLetters, ReplayDeadLetters), bulk owns bulk-dlq (ListDeadLetterChunks, ReplayDeadLetterChunks).

import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { count, dateTime, enumWords } from '../lib/format.js';
import { openStream } from '../lib/stream.js';
import { Empty, ErrorNotice, Field, Loading, useLoad } from '../lib/ui.js';

const QUEUES = [
  { id: 'outbound', label: 'outbound-dlq: sends out of retries', list: '/v1/deadLetters', replay: '/v1/deadLetters:replay', queue: 'DEAD_LETTER_QUEUE_OUTBOUND' },
  { id: 'inbound', label: 'inbound-dlq: inbound events not finished', list: '/v1/deadLetters', replay: '/v1/deadLetters:replay', queue: 'DEAD_LETTER_QUEUE_INBOUND' },
  { id: 'whatsapp-inbound', label: 'whatsapp-inbound-dlq: notifications the gateway could not take', list: '/v1/deadLetters', replay: '/v1/deadLetters:replay', queue: 'DEAD_LETTER_QUEUE_WHATSAPP_INBOUND' },
  { id: 'bulk', label: 'bulk-dlq: campaign chunks past their receive limit', list: '/v1/bulkJobs:deadLetters', replay: '/v1/bulkJobs:replayDeadLetters' },
];

function DeadLetters() {
  const [which, setWhich] = useState(QUEUES[0].id);
  const queue = QUEUES.find((q) => q.id === which);
  const { value, error, loading, reload } = useLoad(
    () => api(queue.list, { query: { pageSize: 50, ...(queue.queue ? { queue: queue.queue } : {}) } }),
    [which],
  );
  const letters = value && (value.deadLetters || []);
  return html`<section aria-labelledby="dl-title">
    <h1 id="dl-title">Dead letters</h1>
    <${Field} as="select" label="Queue" value=${which} onChange=${(e) => setWhich(e.currentTarget.value)}>
      ${QUEUES.map((q) => html`<option value=${q.id}>${q.label}</option>`)}
    </${Field}>
    <${ErrorNotice} error=${error} onRetry=${reload} />
    ${loading && !value && html`<${Loading} what="Peeking at the queue" />`}
    ${value && html`<p role="status">About ${count(value.approximateCount).toLocaleString()} in the queue; ${letters.length} shown (a peek: nothing is taken out).</p>`}
    ${letters && letters.length === 0 && html`<${Empty}>The queue is empty.</${Empty}>`}
    ${letters && letters.length > 0 &&
    html`<div class="table-wrap"><table>
      <caption class="visually-hidden">Dead letters in the queue</caption>
      <thead><tr><th scope="col">Id</th><th scope="col">About</th><th scope="col">Why</th><th scope="col">Receives</th><th scope="col">First sent</th></tr></thead>
      <tbody>${letters.map(
        (d) => html`<tr>
          <th scope="row"><code>${d.id}</code></th>
          <td>${d.message || d.job || ''}${d.chunk !== undefined ? ` chunk ${d.chunk}` : ''}
            ${d.body && html`<details><summary>Body</summary><pre>${d.body}</pre></details>`}</td>
          <td>${d.reason}</td>
          <td>${d.receiveCount || 0}</td>
          <td>${dateTime(d.sentTime)}</td>
        </tr>`,
      )}</tbody>
    </table></div>`}
    <${Replay} key=${which} queue=${queue} onFinished=${reload} />
  </section>`;
}

function Replay({ queue, onFinished }) {
  const [maxCount, setMaxCount] = useState('100');
  const [maxPerSecond, setMaxPerSecond] = useState('10');
  const [run, setRun] = useState(null); // {dryRun, state, totals, results, error}
  const stream = useRef(null);
  useEffect(() => () => stream.current && stream.current.close(), []);

  const start = (dryRun) => {
    if (stream.current) stream.current.close();
    setRun({ dryRun, state: 'connecting', totals: {}, results: [], error: null });
    stream.current = openStream({
      method: 'POST',
      path: queue.replay,
      body: { ...(queue.queue ? { queue: queue.queue } : {}), dryRun, maxCount: Number(maxCount), maxPerSecond: Number(maxPerSecond) },
      onMessage: (step) =>
        setRun((r) => ({
          ...r,
          totals: { replayed: step.replayedCount, alreadyDone: step.alreadyDoneCount, failed: step.failedCount },
          results: [...r.results, ...(step.results || [])],
        })),
      onState: (state, error) => {
        setRun((r) => ({ ...r, state, error: error || null }));
        if (state === 'ended' && !dryRun) onFinished();
      },
    });
  };

  const running = run && ['connecting', 'live'].includes(run.state);
  const would = run ? run.results.filter((r) => r.outcome === 'REPLAY_OUTCOME_WOULD_REPLAY').length : 0;
  return html`<section class="replay" aria-labelledby="replay-title">
    <h2 id="replay-title">Replay</h2>
    <form onSubmit=${(e) => { e.preventDefault(); start(false); }}>
      <div class="row">
        <${Field} label="At most this many" type="number" min="1" max="10000" value=${maxCount} onInput=${(e) => setMaxCount(e.currentTarget.value)} />
        <${Field} label="At most this many a second" type="number" min="0.1" step="0.1" value=${maxPerSecond} onInput=${(e) => setMaxPerSecond(e.currentTarget.value)} />
      </div>
      <div class="actions">
        <button type="button" class="secondary" onClick=${() => start(true)} disabled=${running}>Dry run</button>
        <button type="submit" class="danger" disabled=${running}>Replay</button>
      </div>
    </form>
    ${run &&
    html`<div class="replay-result" role="status" aria-live="polite">
      <${ErrorNotice} error=${run.error} />
      <p>${summaryOf(run, running, would)}</p>
      ${run.results.length > 0 &&
      html`<ul class="outcomes">${run.results.map(
        (r) => html`<li><code>${(r.deadLetter && r.deadLetter.id) || ''}</code>: ${enumWords(r.outcome, 'REPLAY_OUTCOME')}${r.detail ? ` (${r.detail})` : ''}</li>`,
      )}</ul>`}
    </div>`}
  </section>`;
}

function summaryOf(run, running, would) {
  const what = `${run.dryRun ? 'Dry run' : 'Replay'} ${running ? 'running…' : 'finished'}:`;
  if (run.dryRun) return `${what} ${would} would be replayed.`;
  const t = run.totals;
  return `${what} ${count(t.replayed)} replayed, ${count(t.alreadyDone)} already done, ${count(t.failed)} failed.`;
}

export default {
  title: 'Dead letters',
  path: '/dead-letters',
  role: 'admin',
  routes: [{ path: '/dead-letters', view: DeadLetters }],
};
