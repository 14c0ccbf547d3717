// Contacts: search as you type (SearchContacts; the whole list, a page at a time, when the box is empty),
// create and edit (a stale etag is a conflict, said in words), consent per channel with its history, and a
// CSV import through BatchCreateContacts with a progress bar and the rows it refused, each with its reason.

import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, idOf } from '../lib/api.js';
import { can } from '../lib/auth.js';
import { consentWords, dateTime } from '../lib/format.js';
import { Link, navigate } from '../lib/router.js';
import { Empty, ErrorNotice, Field, Loading, Progress, useLoad } from '../lib/ui.js';
import { conversationPath } from './inbox.js';
import { parseCsv, rowsToContacts } from '../lib/csv.js';

const CHANNELS = [
  { key: 'whatsappConsent', proto: 'whatsapp_consent', channel: 'CHANNEL_WHATSAPP', label: 'WhatsApp' },
  { key: 'smsConsent', proto: 'sms_consent', channel: 'CHANNEL_SMS', label: 'SMS' },
  { key: 'emailConsent', proto: 'email_consent', channel: 'CHANNEL_EMAIL', label: 'Email' },
];
const IMPORT_BATCH = 100;

function ContactList() {
  const [query, setQuery] = useState('');
  const [result, setResult] = useState({ contacts: null, next: '', error: null, loading: true });
  const latest = useRef(0);

  const load = async (text, pageToken = '') => {
    const ticket = ++latest.current;
    setResult((r) => ({ ...r, loading: true }));
    try {
      const reply = text
        ? await api('/v1/contacts:search', { query: { query: text, pageSize: 50, pageToken } })
        : await api('/v1/contacts', { query: { pageSize: 50, pageToken } });
      if (ticket !== latest.current) return; // a newer keystroke's answer wins
      setResult((r) => ({
        contacts: pageToken ? [...(r.contacts || []), ...(reply.contacts || [])] : reply.contacts || [],
        next: reply.nextPageToken || '',
        error: null,
        loading: false,
      }));
    } catch (error) {
      if (ticket === latest.current) setResult((r) => ({ ...r, error, loading: false }));
    }
  };

  useEffect(() => {
    const timer = setTimeout(() => load(query.trim()), query ? 250 : 0);
    return () => clearTimeout(timer);
  }, [query]);

  const { contacts, next, error, loading } = result;
  return html`<section aria-labelledby="contacts-title">
    <div class="page-head">
      <h1 id="contacts-title">Contacts</h1>
      ${can('operator') &&
      html`<div class="actions">
        <${Link} class="button" href="/contacts/new">New contact</${Link}>
        <${Link} class="button secondary" href="/contacts/import">Import CSV</${Link}>
      </div>`}
    </div>
    <div role="search">
      <${Field} label="Search contacts" type="search" value=${query} placeholder="Name, phone number or email"
        hint="Exact phone numbers and emails first, then names starting with the words, then other matches."
        onInput=${(e) => setQuery(e.currentTarget.value)} />
    </div>
    <p class="visually-hidden" role="status" aria-live="polite">${contacts && !loading ? `${contacts.length} contacts shown` : ''}</p>
    <${ErrorNotice} error=${error} onRetry=${() => load(query.trim())} />
    ${contacts === null && !error && html`<${Loading} what="Loading contacts" />`}
    ${contacts && contacts.length === 0 && html`<${Empty}>${query ? `No contact matches “${query}”.` : 'No contacts yet.'}</${Empty}>`}
    ${contacts && contacts.length > 0 &&
    html`<div class="table-wrap"><table class="contacts">
      <caption class="visually-hidden">Contacts</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Phone</th><th scope="col">Email</th><th scope="col">Tags</th><th scope="col">WhatsApp consent</th></tr></thead>
      <tbody>
        ${contacts.map(
          (c) => html`<tr>
            <th scope="row"><${Link} href=${`/contacts/${idOf(c.name)}`}>${c.displayName || c.phoneNumber || c.email}</${Link}></th>
            <td>${c.phoneNumber}</td>
            <td>${c.email}</td>
            <td>${(c.tags || []).map((t) => html`<span class="tag">${t}</span> `)}</td>
            <td>${consentWords(c.whatsappConsent && c.whatsappConsent.state)}</td>
          </tr>`,
        )}
      </tbody>
    </table></div>`}
    ${next && html`<button type="button" class="secondary" onClick=${() => load(query.trim(), next)} disabled=${loading}>Load more</button>`}
  </section>`;
}

const FIELDS = [
  { key: 'displayName', proto: 'display_name', label: 'Name', mask: 'displayName' },
  { key: 'phoneNumber', proto: 'phone_number', label: 'Phone number', hint: 'Any common format; without a country code the deployment default region applies.', type: 'tel', mask: 'phoneNumber' },
  { key: 'email', proto: 'email', label: 'Email', type: 'email', mask: 'email' },
  { key: 'tags', proto: 'tags', label: 'Tags', hint: 'Separated by commas.', mask: 'tags' },
  { key: 'attributes', proto: 'attributes', label: 'Attributes', hint: 'One key=value a line; usable as template values.', as: 'textarea', mask: 'attributes' },
];

const toForm = (c) => ({
  displayName: c.displayName || '',
  phoneNumber: c.phoneNumber || '',
  email: c.email || '',
  tags: (c.tags || []).join(', '),
  attributes: Object.entries(c.attributes || {}).map(([k, v]) => `${k}=${v}`).join('\n'),
});

const fromForm = (f) => ({
  displayName: f.displayName.trim(),
  phoneNumber: f.phoneNumber.trim(),
  email: f.email.trim(),
  tags: f.tags.split(',').map((t) => t.trim()).filter(Boolean),
  attributes: Object.fromEntries(
    f.attributes.split('\n').map((line) => line.split('=')).filter((p) => p[0].trim()).map(([k, ...v]) => [k.trim(), v.join('=').trim()]),
  ),
});

function ContactForm({ initial, onSave, saveLabel, readOnly }) {
  const [form, setForm] = useState(toForm(initial || {}));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => setForm(toForm(initial || {})), [initial && initial.etag]);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSave(fromForm(form), form);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const fieldPaths = FIELDS.map((f) => `contact.${f.proto}`);
  return html`<form class="contact-form" onSubmit=${submit} aria-label="Contact">
    <${ErrorNotice} error=${error} fields=${fieldPaths} />
    ${error && error.status === 409 && html`<p class="notice">Someone changed this contact meanwhile: reload to see their change, then edit again.</p>`}
    ${FIELDS.map(
      (f) => html`<${Field} key=${f.key} label=${f.label} hint=${f.hint} type=${f.type} as=${f.as} rows=${f.as ? 3 : undefined}
        name=${f.key} value=${form[f.key]} readOnly=${readOnly}
        error=${error && error.fieldError(`contact.${f.proto}`)}
        onInput=${(e) => setForm({ ...form, [f.key]: e.currentTarget.value })} />`,
    )}
    ${!readOnly && html`<div class="actions"><button type="submit" disabled=${busy}>${busy ? 'Saving…' : saveLabel}</button></div>`}
  </form>`;
}

function NewContact() {
  const save = async (contact) => {
    const created = await api('/v1/contacts', { method: 'POST', body: contact });
    navigate(`/contacts/${idOf(created.name)}`);
  };
  return html`<section aria-labelledby="new-contact-title">
    <p><${Link} href="/contacts">← Contacts</${Link}></p>
    <h1 id="new-contact-title">New contact</h1>
    <${ContactForm} onSave=${save} saveLabel="Create contact" />
  </section>`;
}

function ContactPage({ id }) {
  const { value: contact, error, loading, reload } = useLoad(() => api(`/v1/contacts/${id}`), [id]);
  const [saved, setSaved] = useState('');
  const [removeError, setRemoveError] = useState(null);
  const [current, setCurrent] = useState(null);
  useEffect(() => setCurrent(contact || null), [contact]);

  const save = async (changes, form) => {
    const before = toForm(current);
    const mask = FIELDS.filter((f) => form[f.key] !== before[f.key]).map((f) => f.mask);
    if (!mask.length) {
      setSaved('Nothing changed.');
      return;
    }
    const updated = await api(`/v1/contacts/${id}`, {
      method: 'PATCH',
      query: { updateMask: mask.join(',') },
      body: { ...changes, etag: current.etag },
    });
    setCurrent(updated);
    setSaved(`Saved at ${new Date().toLocaleTimeString()}.`);
  };

  const remove = async () => {
    if (!confirm(`Delete ${current.displayName || current.phoneNumber}? Their consent goes too; the audit log keeps who and when.`)) return;
    setRemoveError(null);
    try {
      await api(`/v1/contacts/${id}`, { method: 'DELETE', query: { etag: current.etag } });
      navigate('/contacts');
    } catch (failure) {
      setSaved('');
      setRemoveError(failure);
    }
  };

  if (error) return html`<section><p><${Link} href="/contacts">← Contacts</${Link}></p><h1>Contact</h1><${ErrorNotice} error=${error} onRetry=${reload} /></section>`;
  if (loading && !current) return html`<${Loading} what="Loading the contact" />`;
  if (!current) return null;
  return html`<section aria-labelledby="contact-title" class="contact-page">
    <p><${Link} href="/contacts">← Contacts</${Link}></p>
    <div class="page-head">
      <h1 id="contact-title">${current.displayName || current.phoneNumber || current.email}</h1>
      <div class="actions">
        ${current.phoneNumber && html`<${Link} class="button" href=${conversationPath(current.phoneNumber)}>Open WhatsApp conversation</${Link}>`}
        ${can('admin') && html`<button type="button" class="danger" onClick=${remove}>Delete contact</button>`}
      </div>
    </div>
    ${saved && html`<p class="notice" role="status">${saved}</p>`}
    <${ErrorNotice} error=${removeError} />
    <div class="columns">
      <${ContactForm} initial=${current} onSave=${save} saveLabel="Save changes" readOnly=${!can('operator')} />
      <${Consent} contact=${current} onChange=${setCurrent} />
    </div>
    <p class="muted">Created ${dateTime(current.createTime)} · changed ${dateTime(current.updateTime)}</p>
  </section>`;
}

function Consent({ contact, onChange }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState('');
  const change = async (channel, state) => {
    setBusy(channel.key);
    setError(null);
    try {
      const updated = await api(`/v1/contacts/${idOf(contact.name)}`, {
        method: 'PATCH',
        query: { updateMask: channel.key },
        body: { [channel.key]: { state }, etag: contact.etag },
      });
      onChange(updated);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy('');
    }
  };
  return html`<section class="consent" aria-labelledby="consent-title">
    <h2 id="consent-title">Consent</h2>
    <${ErrorNotice} error=${error} />
    ${CHANNELS.map((channel) => {
      const consent = contact[channel.key] || {};
      const history = consent.history || [];
      return html`<div class="consent-channel">
        <h3>${channel.label}</h3>
        <p><span class=${`pill consent-${consentWords(consent.state).replace(' ', '-')}`}>${consentWords(consent.state)}</span>
          ${consent.updateTime ? ` since ${dateTime(consent.updateTime)} ` : ' '}
          ${consent.source && html`<span class="muted">(${consent.source})</span>`}</p>
        ${can('operator') &&
        html`<${Field} as="select" label=${`Change ${channel.label} consent`} value=${consent.state || 'CONSENT_STATE_UNSPECIFIED'}
          disabled=${busy === channel.key}
          onChange=${(e) => change(channel, e.currentTarget.value)}>
          <option value="CONSENT_STATE_UNSPECIFIED" disabled>unknown</option>
          <option value="CONSENT_STATE_OPTED_IN">opted in</option>
          <option value="CONSENT_STATE_OPTED_OUT">opted out</option>
        </${Field}>`}
        ${history.length > 0 &&
        html`<details>
          <summary>History (${history.length})</summary>
          <ol class="history">
            ${history.slice().reverse().map((h) => html`<li>${dateTime(h.updateTime)}: ${consentWords(h.state)} <span class="muted">(${h.source})</span></li>`)}
          </ol>
        </details>`}
      </div>`;
    })}
  </section>`;
}

function Import() {
  const [file, setFile] = useState(null);
  const [parsed, setParsed] = useState(null);
  const [progress, setProgress] = useState(null); // {done, total, created, failed: [{row, field, problem}]}
  const [error, setError] = useState(null);

  const choose = async (event) => {
    const chosen = event.currentTarget.files[0];
    setFile(chosen || null);
    setProgress(null);
    setError(null);
    if (!chosen) return setParsed(null);
    try {
      const text = await chosen.text();
      setParsed(rowsToContacts(parseCsv(text)));
    } catch (failure) {
      setParsed(null);
      setError({ message: `The file could not be read as CSV: ${failure.message}`, violations: [], status: 400 });
    }
  };

  const start = async (event) => {
    event.preventDefault();
    const { items, problems } = parsed;
    const state = { done: 0, total: items.length + problems.length, created: 0, failed: [...problems] };
    state.done = problems.length;
    setProgress({ ...state });
    for (let at = 0; at < items.length; at += IMPORT_BATCH) {
      const batch = items.slice(at, at + IMPORT_BATCH);
      try {
        const reply = await api('/v1/contacts:batchCreate', { method: 'POST', body: { requests: batch.map((item) => ({ contact: item.contact })) } });
        (reply.results || []).forEach((result, i) => {
          if (result.contact) state.created += 1;
          else state.failed.push(...rowProblems(batch[i].row, result.error));
        });
      } catch (failure) {
        batch.forEach((item) => state.failed.push({ row: item.row, field: '', problem: failure.message }));
      }
      state.done += batch.length;
      setProgress({ ...state, failed: [...state.failed] });
    }
    state.finished = true;
    setProgress({ ...state, failed: state.failed.sort((a, b) => a.row - b.row) });
  };

  const running = progress && !progress.finished;
  return html`<section aria-labelledby="import-title">
    <p><${Link} href="/contacts">← Contacts</${Link}></p>
    <h1 id="import-title">Import contacts from CSV</h1>
    <p>The first line names the columns: <code>name</code>, <code>phone</code>, <code>email</code>, <code>tags</code> (separated by <code>;</code>); any other column becomes an attribute. Each row is created on its own: a bad row is listed and the others go in.</p>
    <form onSubmit=${start}>
      <${Field} label="CSV file" type="file" accept=".csv,text/csv" onChange=${choose} disabled=${running} />
      ${parsed && html`<p>${parsed.items.length + parsed.problems.length} rows in ${file && file.name}.</p>`}
      <${ErrorNotice} error=${error} />
      <div class="actions"><button type="submit" disabled=${!parsed || running || (parsed.items.length + parsed.problems.length === 0)}>Import</button></div>
    </form>
    ${progress &&
    html`<section class="import-progress" aria-labelledby="import-progress-title">
      <h2 id="import-progress-title">${progress.finished ? 'Import finished' : 'Importing…'}</h2>
      <${Progress} label="Rows processed" value=${progress.done} max=${progress.total} />
      <p role="status">${progress.created} created, ${progress.failed.length} refused.</p>
      ${progress.failed.length > 0 &&
      html`<div class="table-wrap"><table class="import-errors">
        <caption>Rows not imported</caption>
        <thead><tr><th scope="col">Row</th><th scope="col">Field</th><th scope="col">Problem</th></tr></thead>
        <tbody>${progress.failed.map((f) => html`<tr><th scope="row">${f.row}</th><td>${f.field}</td><td>${f.problem}</td></tr>`)}</tbody>
      </table></div>`}
    </section>`}
  </section>`;
}

/** A refused batch item's problems: each field violation of its google.rpc.Status, or its message. */
function rowProblems(row, status) {
  const bad = ((status && status.details) || []).find((d) => d['@type'] === 'type.googleapis.com/google.rpc.BadRequest');
  const violations = (bad && bad.fieldViolations) || [];
  if (!violations.length) return [{ row, field: '', problem: (status && status.message) || 'refused' }];
  return violations.map((v) => ({ row, field: String(v.field || '').replace(/^requests\[\d+\]\.contact\./, ''), problem: v.description }));
}

export default {
  title: 'Contacts',
  path: '/contacts',
  role: 'viewer',
  routes: [
    { path: '/contacts', view: ContactList },
    { path: '/contacts/new', view: NewContact, role: 'operator' },
    { path: '/contacts/import', view: Import, role: 'operator' },
    { path: '/contacts/:id', view: ContactPage },
  ],
};
