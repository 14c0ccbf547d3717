// Audit log (admins): who did what to which resource and when, newest first, filtered by person or resource,
// a page at a time; the state before and after where the record keeps it.

import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { dateTime } from '../lib/format.js';
import { Empty, ErrorNotice, Field, Loading } from '../lib/ui.js';

function Audit() {
  const [filters, setFilters] = useState({ actor: '', resource: '' });
  const [applied, setApplied] = useState({ actor: '', resource: '' });
  const [page, setPage] = useState({ records: null, next: '', error: null, loading: true });

  const load = async (token = '') => {
    setPage((p) => ({ ...p, loading: true }));
    try {
      const reply = await api('/v1/auditRecords', { query: { pageSize: 50, pageToken: token, ...applied } });
      setPage((p) => ({
        records: token ? [...(p.records || []), ...(reply.auditRecords || [])] : reply.auditRecords || [],
        next: reply.nextPageToken || '',
        error: null,
        loading: false,
      }));
    } catch (error) {
      setPage((p) => ({ ...p, error, loading: false }));
    }
  };
  useEffect(() => {
    load();
  }, [applied]);

  const { records, next, error, loading } = page;
  return html`<section aria-labelledby="audit-title">
    <h1 id="audit-title">Audit log</h1>
    <form class="row filters" onSubmit=${(e) => { e.preventDefault(); setApplied({ ...filters }); }} aria-label="Filter the audit log">
      <${Field} label="Person (subject)" value=${filters.actor} onInput=${(e) => setFilters({ ...filters, actor: e.currentTarget.value.trim() })} />
      <${Field} label="Resource" placeholder="contacts/01J…" value=${filters.resource} onInput=${(e) => setFilters({ ...filters, resource: e.currentTarget.value.trim() })} />
      <div class="actions"><button type="submit">Filter</button></div>
    </form>
    <${ErrorNotice} error=${error} fields=${['actor', 'resource']} onRetry=${() => load()} />
    ${records === null && !error && html`<${Loading} what="Loading the audit log" />`}
    ${records && records.length === 0 && html`<${Empty}>No records.</${Empty}>`}
    ${records && records.length > 0 &&
    html`<div class="table-wrap"><table class="audit">
      <caption class="visually-hidden">Audit records, newest first</caption>
      <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Resource</th><th scope="col">Outcome</th></tr></thead>
      <tbody>${records.map(
        (r) => html`<tr>
          <td>${dateTime(r.time)}</td>
          <td>${r.actor}<br /><span class="muted">${(r.actorRoles || []).join(', ')}</span></td>
          <th scope="row">${String(r.method || '').split('/').pop()}<br /><span class="muted">${String(r.method || '').split('/')[1] || ''}</span></th>
          <td><code>${r.resource}</code>
            ${(r.before || r.after) &&
            html`<details><summary>Before and after</summary><pre>${JSON.stringify({ before: r.before, after: r.after }, null, 2)}</pre></details>`}</td>
          <td><span class=${`pill outcome-${r.outcome === 'OK' ? 'ok' : 'refused'}`}>${r.outcome}</span></td>
        </tr>`,
      )}</tbody>
    </table></div>`}
    ${next && html`<button type="button" class="secondary" onClick=${() => load(next)} disabled=${loading}>Load more</button>`}
  </section>`;
}

export default {
  title: 'Audit log',
  path: '/audit',
  role: 'admin',
  routes: [{ path: '/audit', view: Audit }],
};
