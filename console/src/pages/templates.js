// Templates: the WhatsApp template catalogue with each template's status (and the reason Meta gave, where the
// API carries one), and the picker the inbox and the campaign form use: choose an approved template, fill its
// variables, see the text it will send.
//
// Extension point for the template lifecycle (POST/PATCH/DELETE /v1/templates, issue #15): TEMPLATE_ACTIONS
// below lists the page's actions; create and edit join it as entries (a title, the role, and the view they
// open), so no button appears before the API that backs it exists.

import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { can } from '../lib/auth.js';
import { categoryWords, dateTime } from '../lib/format.js';
import { Empty, ErrorNotice, Field, Loading, useLoad } from '../lib/ui.js';

/** Actions of the Templates page: {label, role, run(reload) -> Promise<string>} (the string is what it did). */
export const TEMPLATE_ACTIONS = [
  {
    label: 'Sync from WhatsApp',
    role: 'admin',
    run: async () => {
      const r = await api('/v1/templates:sync', { method: 'POST', body: {} });
      return `Synced: ${r.templateCount || 0} templates, ${r.addedCount || 0} new, ${r.removedCount || 0} removed.`;
    },
  },
];

// The catalogue changes rarely: one fetch serves every picker on screen for half a minute.
let cached = null;
export function templatesQuery(fresh = false) {
  if (fresh || !cached || Date.now() - cached.at > 30_000) {
    const promise = api('/v1/templates', { query: { pageSize: 500 } }).then((r) => r.templates || []);
    cached = { at: Date.now(), promise };
    promise.catch(() => {
      if (cached && cached.promise === promise) cached = null;
    });
  }
  return cached.promise;
}

/** The reason a template is not usable, where the catalogue carries one (the lifecycle adds it). */
const reasonOf = (t) => t.statusReason || t.rejectionReason || t.reason || '';

function Templates() {
  const [generation, setGeneration] = useState(0);
  const { value: templates, error, loading } = useLoad(() => templatesQuery(generation > 0), [generation]);
  const reload = () => setGeneration((g) => g + 1);
  const [done, setDone] = useState('');
  const [actionError, setActionError] = useState(null);
  const [busy, setBusy] = useState(false);
  const run = async (action) => {
    setBusy(true);
    setActionError(null);
    try {
      setDone(await action.run());
      reload();
    } catch (failure) {
      setActionError(failure);
    } finally {
      setBusy(false);
    }
  };
  const actions = TEMPLATE_ACTIONS.filter((a) => can(a.role));
  return html`<section aria-labelledby="templates-title">
    <div class="page-head">
      <h1 id="templates-title">Templates</h1>
      <div class="actions">
        ${actions.map((a) => html`<button type="button" onClick=${() => run(a)} disabled=${busy}>${a.label}</button>`)}
      </div>
    </div>
    ${done && html`<p class="notice" role="status">${done}</p>`}
    <${ErrorNotice} error=${actionError} />
    <${ErrorNotice} error=${error} onRetry=${reload} />
    ${loading && !templates && html`<${Loading} what="Loading templates" />`}
    ${templates && templates.length === 0 && html`<${Empty}>No templates synced yet.</${Empty}>`}
    ${templates && templates.length > 0 &&
    html`<div class="table-wrap"><table>
      <caption class="visually-hidden">WhatsApp templates and their status</caption>
      <thead><tr><th scope="col">Template</th><th scope="col">Language</th><th scope="col">Category</th><th scope="col">Status</th><th scope="col">Text</th><th scope="col">Synced</th></tr></thead>
      <tbody>
        ${templates.map(
          (t) => html`<tr>
            <th scope="row">${t.templateName}</th>
            <td>${t.language}</td>
            <td>${categoryWords(t.category)}</td>
            <td><span class=${`pill template-${(t.templateStatus || 'unknown').toLowerCase()}`}>${(t.templateStatus || 'unknown').toLowerCase()}</span>
              ${reasonOf(t) && html`<p class="reason">${reasonOf(t)}</p>`}</td>
            <td class="body-text">${t.bodyText}${t.headerMediaKind && t.headerMediaKind !== 'MEDIA_KIND_UNSPECIFIED' ? html`<br /><span class="muted">Header: ${t.headerMediaKind.replace('MEDIA_KIND_', '').toLowerCase()}</span>` : ''}</td>
            <td>${dateTime(t.syncTime)}</td>
          </tr>`,
        )}
      </tbody>
    </table></div>`}
  </section>`;
}

const hasMediaHeader = (t) => t.headerMediaKind && t.headerMediaKind !== 'MEDIA_KIND_UNSPECIFIED';

/** The variables a template takes: [{key, label}] for body, header and dynamic buttons. */
export function variablesOf(t) {
  if (!t) return [];
  return [
    ...(t.headerVariables || []).map((v) => ({ key: `header:${v}`, label: `Header {{${v}}}` })),
    ...(t.bodyVariables || []).map((v) => ({ key: `body:${v}`, label: `Body {{${v}}}` })),
    ...(t.dynamicButtons || []).map((i) => ({ key: `button:${i}`, label: `Button ${Number(i) + 1} link suffix` })),
  ];
}

/** The TemplateContent of a template with its values (positional variables in order, named ones by name). */
export function templateContent(t, values) {
  const param = (v, kind) => (/^\d+$/.test(v) ? { text: values[`${kind}:${v}`] || '' } : { name: v, text: values[`${kind}:${v}`] || '' });
  return {
    templateName: t.templateName,
    language: t.language,
    bodyParameters: (t.bodyVariables || []).map((v) => param(v, 'body')),
    headerParameters: (t.headerVariables || []).map((v) => param(v, 'header')),
    buttonParameters: (t.dynamicButtons || []).map((i) => ({ index: i, subType: 'url', text: values[`button:${i}`] || '' })),
  };
}

function fill(text, t, values) {
  return String(text || '').replace(/\{\{\s*([\w.]+)\s*\}\}/g, (all, v) => values[`body:${v}`] || all);
}

/**
 * Choosing an approved template and filling its variables. Controlled: value = {name, values}, onChange(next).
 * `error` (an ApiError) puts the API's words beside the variable it names; `hint` explains placeholders.
 */
export function TemplateFields({ value, onChange, error, hint, path = 'message.content.template' }) {
  const { value: templates, error: loadError, reload } = useLoad(() => templatesQuery(), []);
  if (loadError) return html`<${ErrorNotice} error=${loadError} onRetry=${reload} />`;
  if (!templates) return html`<${Loading} what="Loading templates" />`;
  const usable = templates.filter((t) => t.templateStatus === 'APPROVED' && !hasMediaHeader(t));
  const chosen = usable.find((t) => t.name === value.name);
  const bodyIndex = (key) => (chosen.bodyVariables || []).indexOf(key.split(':')[1]);
  const fieldError = (key) => {
    if (!error || !error.fieldError) return '';
    if (key.startsWith('body:')) return error.fieldError(`${path}.body_parameters[${bodyIndex(key)}].text`);
    return '';
  };
  return html`<fieldset class="template-fields">
    <legend>Template</legend>
    ${usable.length === 0 && html`<p class="notice">No approved template without a media header is synced: an admin can sync them on the Templates page.</p>`}
    <${Field} as="select" label="Approved template" value=${value.name} required
      onChange=${(e) => onChange({ name: e.currentTarget.value, values: {} })}>
      <option value="">Choose a template</option>
      ${usable.map((t) => html`<option value=${t.name}>${t.templateName} (${t.language}, ${categoryWords(t.category)})</option>`)}
    </${Field}>
    ${chosen && variablesOf(chosen).map(
      (v) => html`<${Field} key=${v.key} label=${v.label} value=${value.values[v.key] || ''} required
        error=${fieldError(v.key)} hint=${hint}
        onInput=${(e) => onChange({ name: value.name, values: { ...value.values, [v.key]: e.currentTarget.value } })} />`,
    )}
    ${chosen && html`<div class="preview" aria-live="polite"><span class="label">Preview</span><p>${fill(chosen.bodyText, chosen, value.values)}</p></div>`}
  </fieldset>`;
}

/** A template and its variables as a form of its own (the inbox's closed-window reply). */
export function TemplatePicker({ onSubmit, busy, error, submitLabel }) {
  const [value, setValue] = useState({ name: '', values: {} });
  const { value: templates } = useLoad(() => templatesQuery(), []);
  const chosen = (templates || []).find((t) => t.name === value.name);
  const submit = (event) => {
    event.preventDefault();
    if (chosen) onSubmit(chosen, value.values);
  };
  return html`<form onSubmit=${submit} aria-label="Send a template">
    <${ErrorNotice} error=${error} fields=${['message.content.template']} />
    <${TemplateFields} value=${value} onChange=${setValue} error=${error} />
    <div class="actions"><button type="submit" disabled=${busy || !chosen}>${busy ? 'Sending…' : submitLabel}</button></div>
  </form>`;
}

export default {
  title: 'Templates',
  path: '/templates',
  role: 'viewer',
  routes: [{ path: '/templates', view: Templates }],
};
