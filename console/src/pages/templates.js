// Templates: the WhatsApp template catalogue with each template's status (and the reason Meta gave, where the
// API carries one), and the picker the inbox and the campaign form use: choose an approved template, fill its
// variables, see the text it will send.
//
// The template lifecycle (POST/PATCH/DELETE /v1/templates): TEMPLATE_ACTIONS lists the page's actions (an action
// either runs, or opens a view: the editor that creates a template); each row has Edit and Delete for admins.
// Meta reviews what is submitted: the status and the reason it gives arrive later (statusReason).

import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { can } from '../lib/auth.js';
import { categoryWords, dateTime } from '../lib/format.js';
import { Empty, ErrorNotice, Field, Loading, useLoad } from '../lib/ui.js';

/** Actions of the Templates page: {label, role, run(reload) -> Promise<string>} (the string is what it did), or
 * {label, role, view: 'create'} to open the editor. */
export const TEMPLATE_ACTIONS = [
  { label: 'Create template', role: 'admin', view: 'create' },
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
const reasonOf = (t) => t.statusReason || '';

const CATEGORIES = ['MARKETING', 'UTILITY'];
const BUTTON_KINDS = {
  TEMPLATE_BUTTON_KIND_QUICK_REPLY: 'Quick reply',
  TEMPLATE_BUTTON_KIND_URL: 'Link (URL)',
  TEMPLATE_BUTTON_KIND_PHONE_NUMBER: 'Call (phone)',
};
const lines = (text) => String(text || '').split('\n').map((l) => l.trim()).filter(Boolean);

/** The editor's state from a catalogue entry (edit) or empty (create). */
function draftOf(t) {
  return {
    templateName: t ? t.templateName : '',
    language: t ? t.language : 'en_US',
    category: t ? (t.category || '').replace('CATEGORY_', '') : 'MARKETING',
    headerText: t && t.header ? t.header.text || '' : '',
    headerExample: t && t.header ? t.header.example || '' : '',
    bodyText: t ? (t.body && t.body.text) || t.bodyText || '' : '',
    examples: t && t.body ? (t.body.examples || []).join('\n') : '',
    footerText: t ? t.footerText || '' : '',
    buttons: t ? (t.buttons || []).map((b) => ({ ...b })) : [],
  };
}

/** The Template resource the API takes (header, body with its examples, footer, buttons). */
function resourceOf(d) {
  const out = {
    templateName: d.templateName,
    language: d.language,
    category: `CATEGORY_${d.category}`,
    body: { text: d.bodyText, examples: lines(d.examples) },
    footerText: d.footerText,
    buttons: d.buttons.filter((b) => b.text),
  };
  if (d.headerText) out.header = { format: 'TEMPLATE_HEADER_FORMAT_TEXT', text: d.headerText, example: d.headerExample };
  return out;
}

/** Creating a template, or editing one (PATCH with the fields Meta lets change); Meta reviews it again. */
function TemplateEditor({ template, onDone, onCancel }) {
  const [d, setD] = useState(() => draftOf(template));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => setD({ ...d, [k]: e.currentTarget.value });
  const setButton = (i, k) => (e) =>
    setD({ ...d, buttons: d.buttons.map((b, j) => (j === i ? { ...b, [k]: e.currentTarget.value } : b)) });
  const fe = (path) => (error && error.fieldError ? error.fieldError(path) : '');
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const resource = resourceOf(d);
      if (template) {
        await api(`/v1/${template.name}`, {
          method: 'PATCH',
          query: { updateMask: 'category,header,body,footer_text,buttons' },
          body: resource,
        });
        onDone(`Submitted ${template.templateName} again: Meta reviews the change.`);
      } else {
        const made = await api('/v1/templates', { method: 'POST', body: resource });
        onDone(`Created ${made.templateName}: ${(made.templateStatus || 'pending').toLowerCase()} until Meta reviews it.`);
      }
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const fields = ['template_name', 'language', 'category', 'header.text', 'header.example', 'body.text', 'body.examples', 'footer_text', 'buttons'];
  return html`<form class="template-editor" onSubmit=${submit} aria-label=${template ? 'Edit template' : 'Create template'}>
    <h2>${template ? `Edit ${template.templateName}` : 'New template'}</h2>
    <${ErrorNotice} error=${error} fields=${fields} />
    <${Field} label="Name" value=${d.templateName} required disabled=${!!template} hint="Lower-case letters, digits and underscores."
      error=${fe('template_name')} onInput=${set('templateName')} />
    <${Field} label="Language" value=${d.language} required disabled=${!!template} error=${fe('language')} onInput=${set('language')} />
    <${Field} as="select" label="Category" value=${d.category} error=${fe('category')} onChange=${set('category')}>
      ${CATEGORIES.map((c) => html`<option value=${c}>${categoryWords(`CATEGORY_${c}`)}</option>`)}
    </${Field}>
    <${Field} label="Header text (optional)" value=${d.headerText} error=${fe('header.text')} onInput=${set('headerText')} />
    ${d.headerText.includes('{{') && html`<${Field} label="Header variable example" value=${d.headerExample} error=${fe('header.example')} onInput=${set('headerExample')} />`}
    <${Field} as="textarea" label="Body" value=${d.bodyText} required rows="4" hint="Variables as {{1}}, {{2}} … without a gap."
      error=${fe('body.text')} onInput=${set('bodyText')} />
    <${Field} as="textarea" label="Examples, one per variable in order" value=${d.examples} rows="3"
      error=${fe('body.examples')} onInput=${set('examples')} />
    <${Field} label="Footer (optional)" value=${d.footerText} error=${fe('footer_text')} onInput=${set('footerText')} />
    <fieldset><legend>Buttons</legend>
      ${d.buttons.map(
        (b, i) => html`<div class="button-row" key=${i}>
          <${Field} as="select" label=${`Button ${i + 1} kind`} value=${b.kind} onChange=${setButton(i, 'kind')}>
            ${Object.entries(BUTTON_KINDS).map(([k, words]) => html`<option value=${k}>${words}</option>`)}
          </${Field}>
          <${Field} label=${`Button ${i + 1} text`} value=${b.text || ''} error=${fe(`buttons[${i}].text`)} onInput=${setButton(i, 'text')} />
          ${b.kind === 'TEMPLATE_BUTTON_KIND_URL' && html`<${Field} label=${`Button ${i + 1} URL (may end in {{1}})`} value=${b.url || ''} error=${fe(`buttons[${i}].url`)} onInput=${setButton(i, 'url')} />
            <${Field} label=${`Button ${i + 1} URL example`} value=${b.urlExample || ''} error=${fe(`buttons[${i}].url_example`)} onInput=${setButton(i, 'urlExample')} />`}
          ${b.kind === 'TEMPLATE_BUTTON_KIND_PHONE_NUMBER' && html`<${Field} label=${`Button ${i + 1} phone number`} value=${b.phoneNumber || ''} error=${fe(`buttons[${i}].phone_number`)} onInput=${setButton(i, 'phoneNumber')} />`}
          <button type="button" class="secondary" onClick=${() => setD({ ...d, buttons: d.buttons.filter((_, j) => j !== i) })}>Remove</button>
        </div>`,
      )}
      ${d.buttons.length < 10 && html`<button type="button" class="secondary"
        onClick=${() => setD({ ...d, buttons: [...d.buttons, { kind: 'TEMPLATE_BUTTON_KIND_QUICK_REPLY', text: '' }] })}>Add a button</button>`}
    </fieldset>
    <div class="actions">
      <button type="submit" disabled=${busy}>${busy ? 'Submitting…' : template ? 'Submit the change' : 'Submit for review'}</button>
      <button type="button" class="secondary" onClick=${onCancel}>Cancel</button>
    </div>
  </form>`;
}

function Templates() {
  const [generation, setGeneration] = useState(0);
  const { value: templates, error, loading } = useLoad(() => templatesQuery(generation > 0), [generation]);
  const reload = () => setGeneration((g) => g + 1);
  const [done, setDone] = useState('');
  const [actionError, setActionError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [editing, setEditing] = useState(null); // null, 'create', or the template being edited
  const edited = (what) => {
    setEditing(null);
    setDone(what);
    reload();
  };
  const remove = async (t) => {
    if (!confirm(`Delete ${t.templateName} (${t.language}) from WhatsApp? Messages already sent keep their text.`)) return;
    await run({ run: async () => (await api(`/v1/${t.name}`, { method: 'DELETE' }), `Deleted ${t.templateName}.`) });
  };
  const run = async (action) => {
    if (action.view) {
      setEditing(action.view);
      return;
    }
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
  const admin = can('admin');
  return html`<section aria-labelledby="templates-title">
    <div class="page-head">
      <h1 id="templates-title">Templates</h1>
      <div class="actions">
        ${actions.map((a) => html`<button type="button" onClick=${() => run(a)} disabled=${busy}>${a.label}</button>`)}
      </div>
    </div>
    ${done && html`<p class="notice" role="status">${done}</p>`}
    ${editing && html`<${TemplateEditor} template=${editing === 'create' ? null : editing} onDone=${edited} onCancel=${() => setEditing(null)} />`}
    <${ErrorNotice} error=${actionError} />
    <${ErrorNotice} error=${error} onRetry=${reload} />
    ${loading && !templates && html`<${Loading} what="Loading templates" />`}
    ${templates && templates.length === 0 && html`<${Empty}>No templates synced yet.</${Empty}>`}
    ${templates && templates.length > 0 &&
    html`<div class="table-wrap"><table>
      <caption class="visually-hidden">WhatsApp templates and their status</caption>
      <thead><tr><th scope="col">Template</th><th scope="col">Language</th><th scope="col">Category</th><th scope="col">Status</th><th scope="col">Text</th><th scope="col">Synced</th>${admin && html`<th scope="col">Actions</th>`}</tr></thead>
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
            ${admin && html`<td class="row-actions">
              <button type="button" class="secondary" onClick=${() => setEditing(t)} disabled=${busy}>Edit</button>
              <button type="button" class="danger" onClick=${() => remove(t)} disabled=${busy}>Delete</button>
            </td>`}
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
