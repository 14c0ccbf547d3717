// Campaigns (bulk jobs): create one with its audience (contacts by tags, search and consent, or a pasted list),
// its content (an approved template with per-recipient values, or an SMS text) and an optional start time; a
// dry run first, with the audience's counts, who is suppressed and why, and the expected finish. A job's page
// follows WatchJob live: a progress bar, the send rate, the time left and a chart of outcomes over time; pause,
// resume and cancel as the state allows; the report's link once it is written.

import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, idOf } from '../lib/api.js';
import { can } from '../lib/auth.js';
import { categoryWords, channelWords, count, dateTime, duration, jobStateWords, rate, seconds } from '../lib/format.js';
import { Link, navigate } from '../lib/router.js';
import { openStream } from '../lib/stream.js';
import { Empty, ErrorNotice, Field, LiveState, Loading, Progress, useLoad } from '../lib/ui.js';
import { OutcomeChart, SERIES } from '../lib/chart.js';
import { TemplateFields, templateContent, templatesQuery } from './templates.js';

const TERMINAL = ['JOB_STATE_COMPLETED', 'JOB_STATE_CANCELLED', 'JOB_STATE_FAILED'];
const done = (counts) => count(counts.total) - count(counts.pending);

function CampaignList() {
  const { value, error, loading, reload } = useLoad(() => api('/v1/bulkJobs', { query: { pageSize: 100 } }), []);
  const jobs = value && (value.jobs || []);
  return html`<section aria-labelledby="campaigns-title">
    <div class="page-head">
      <h1 id="campaigns-title">Campaigns</h1>
      ${can('operator') && html`<div class="actions"><${Link} class="button" href="/campaigns/new">New campaign</${Link}></div>`}
    </div>
    <${ErrorNotice} error=${error} onRetry=${reload} />
    ${loading && !jobs && html`<${Loading} what="Loading campaigns" />`}
    ${jobs && jobs.length === 0 && html`<${Empty}>No campaigns yet.</${Empty}>`}
    ${jobs && jobs.length > 0 &&
    html`<div class="table-wrap"><table>
      <caption class="visually-hidden">Campaigns, newest first</caption>
      <thead><tr><th scope="col">Campaign</th><th scope="col">State</th><th scope="col">Channel</th><th scope="col">Done</th><th scope="col">Created</th></tr></thead>
      <tbody>
        ${jobs.map((j) => {
          const counts = j.counts || {};
          return html`<tr>
            <th scope="row"><${Link} href=${`/campaigns/${idOf(j.name)}`}>${j.displayName || idOf(j.name)}</${Link}></th>
            <td><span class=${`pill job-${jobStateWords(j.state)}`}>${jobStateWords(j.state)}</span></td>
            <td>${channelWords(j.channel)}</td>
            <td>${done(counts).toLocaleString()} of ${count(counts.total).toLocaleString()}</td>
            <td>${dateTime(j.createTime)}</td>
          </tr>`;
        })}
      </tbody>
    </table></div>`}
  </section>`;
}

/** One recipient a line: `+91 98123 45678, Asha` (the name is optional). */
function parseRecipients(text) {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [address, ...name] = line.split(',');
      const displayName = name.join(',').trim();
      return displayName ? { address: address.trim(), displayName } : { address: address.trim() };
    });
}

function NewCampaign() {
  const [form, setForm] = useState({
    displayName: '',
    channel: 'CHANNEL_WHATSAPP',
    category: 'CATEGORY_UTILITY',
    template: { name: '', values: {} },
    text: '',
    audience: 'contacts',
    tags: '',
    search: '',
    consent: 'CONSENT_REQUIREMENT_NOT_OPTED_OUT',
    recipients: '',
    schedule: '',
  });
  const [error, setError] = useState(null);
  const [dryRun, setDryRun] = useState(null);
  const [busy, setBusy] = useState('');
  const { value: templates } = useLoad(() => templatesQuery(), []);
  const set = (changes) => {
    setForm({ ...form, ...changes });
    setDryRun(null);
  };
  const whatsapp = form.channel === 'CHANNEL_WHATSAPP';
  const chosen = (templates || []).find((t) => t.name === form.template.name);

  const job = () => {
    const content = whatsapp
      ? { template: chosen ? templateContent(chosen, form.template.values) : { templateName: '', language: '' } }
      : { text: { body: form.text } };
    const audience =
      form.audience === 'contacts'
        ? { contactQuery: { tags: form.tags.split(',').map((t) => t.trim()).filter(Boolean), search: form.search.trim(), consent: form.consent } }
        : { inlineAudience: { recipients: parseRecipients(form.recipients) } };
    return {
      displayName: form.displayName.trim(),
      channel: form.channel,
      category: whatsapp && chosen ? chosen.category : form.category,
      content,
      ...audience,
      ...(form.schedule ? { scheduleTime: new Date(form.schedule).toISOString() } : {}),
    };
  };

  const submit = async (validateOnly) => {
    setBusy(validateOnly ? 'dry' : 'create');
    setError(null);
    try {
      const reply = await api('/v1/bulkJobs', { method: 'POST', query: validateOnly ? { validateOnly: true } : {}, body: job() });
      if (validateOnly) setDryRun({ job: reply, at: Date.now() });
      else navigate(`/campaigns/${idOf(reply.name)}`);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy('');
    }
  };

  const fe = (path) => (error && error.fieldError ? error.fieldError(path) : '');
  const shown = ['job.display_name', 'job.schedule_time', 'job.content.text.body', 'job.inline_audience.recipients', 'job.contact_query.tags', 'job.contact_query.search'];
  return html`<section aria-labelledby="new-campaign-title">
    <p><${Link} href="/campaigns">← Campaigns</${Link}></p>
    <h1 id="new-campaign-title">New campaign</h1>
    <form class="campaign-form" onSubmit=${(e) => { e.preventDefault(); submit(false); }}>
      <${ErrorNotice} error=${error} fields=${shown} />
      <${Field} label="Campaign name" value=${form.displayName} error=${fe('job.display_name')} onInput=${(e) => set({ displayName: e.currentTarget.value })} />
      <fieldset>
        <legend>Content</legend>
        <${Field} as="select" label="Channel" value=${form.channel} onChange=${(e) => set({ channel: e.currentTarget.value })}>
          <option value="CHANNEL_WHATSAPP">WhatsApp</option>
          <option value="CHANNEL_SMS">SMS</option>
        </${Field}>
        ${whatsapp
          ? html`<${TemplateFields} value=${form.template} onChange=${(template) => set({ template })} error=${error} path="job.content.template"
              hint="A value, or a placeholder filled per recipient: {{display_name}}, {{phone_number}}, {{attributes.city}}." />`
          : html`<${Field} as="select" label="Category" value=${form.category} onChange=${(e) => set({ category: e.currentTarget.value })}>
                ${['CATEGORY_UTILITY', 'CATEGORY_MARKETING', 'CATEGORY_AUTHENTICATION'].map((c) => html`<option value=${c}>${categoryWords(c)}</option>`)}
              </${Field}>
              <${Field} as="textarea" rows="3" label="Message text" value=${form.text} error=${fe('job.content.text.body')}
                hint="Placeholders such as {{display_name}} are filled per recipient." onInput=${(e) => set({ text: e.currentTarget.value })} />`}
      </fieldset>
      <fieldset>
        <legend>Audience</legend>
        <div class="radios" role="radiogroup" aria-label="Who gets it">
          <label><input type="radio" name="audience" value="contacts" checked=${form.audience === 'contacts'} onChange=${() => set({ audience: 'contacts' })} /> Contacts</label>
          <label><input type="radio" name="audience" value="list" checked=${form.audience === 'list'} onChange=${() => set({ audience: 'list' })} /> A list of numbers</label>
        </div>
        ${form.audience === 'contacts'
          ? html`<${Field} label="With every one of these tags" hint="Separated by commas; none: every contact." value=${form.tags} error=${fe('job.contact_query.tags')} onInput=${(e) => set({ tags: e.currentTarget.value })} />
              <${Field} label="Matching this search" hint="Optional: a name, number or email." value=${form.search} error=${fe('job.contact_query.search')} onInput=${(e) => set({ search: e.currentTarget.value })} />
              <${Field} as="select" label="Consent needed" value=${form.consent} onChange=${(e) => set({ consent: e.currentTarget.value })}>
                <option value="CONSENT_REQUIREMENT_NOT_OPTED_OUT">everyone who has not opted out</option>
                <option value="CONSENT_REQUIREMENT_OPTED_IN">only those who opted in</option>
              </${Field}>`
          : html`<${Field} as="textarea" rows="6" label="Recipients" hint="One a line: a phone number, optionally a comma and a name." value=${form.recipients}
              error=${fe('job.inline_audience.recipients')} onInput=${(e) => set({ recipients: e.currentTarget.value })} />`}
      </fieldset>
      <fieldset>
        <legend>Schedule</legend>
        <${Field} type="datetime-local" label="Start at" hint="Optional: empty starts when you press Start." value=${form.schedule} error=${fe('job.schedule_time')}
          onInput=${(e) => set({ schedule: e.currentTarget.value })} />
      </fieldset>
      <div class="actions">
        <button type="button" class="secondary" onClick=${() => submit(true)} disabled=${!!busy}>${busy === 'dry' ? 'Counting…' : 'Dry run'}</button>
        <button type="submit" disabled=${!!busy}>${busy === 'create' ? 'Creating…' : 'Create campaign'}</button>
      </div>
    </form>
    ${dryRun && html`<${DryRun} job=${dryRun.job} at=${dryRun.at} schedule=${form.schedule} />`}
  </section>`;
}

function DryRun({ job, at, schedule }) {
  const summary = job.audienceSummary || {};
  const secs = seconds(job.estimatedDuration);
  const begin = schedule ? new Date(schedule).getTime() : at;
  const reasons = Object.entries(summary.suppressedByReason || {});
  return html`<section class="dry-run" aria-labelledby="dry-run-title" role="status">
    <h2 id="dry-run-title">Dry run</h2>
    <dl class="facts">
      <div><dt>In the audience</dt><dd>${count(summary.totalCount).toLocaleString()}</dd></div>
      <div><dt>Will be sent</dt><dd>${count(summary.recipientCount).toLocaleString()}</dd></div>
      <div><dt>Suppressed</dt><dd>${count(summary.suppressedCount).toLocaleString()}</dd></div>
      <div><dt>Send rate</dt><dd>${rate(job.bindingRate)}</dd></div>
      <div><dt>Takes about</dt><dd>${duration(secs) || 'under a second'}</dd></div>
      <div><dt>Expected finish</dt><dd>${Number.isFinite(secs) ? dateTime(new Date(begin + secs * 1000).toISOString()) : '—'}</dd></div>
    </dl>
    ${reasons.length > 0 &&
    html`<p>Suppressed because: ${reasons.map(([reason, n], i) => html`${i ? ', ' : ''}${reason.replace(/_/g, ' ')} (${count(n)})`)}</p>`}
  </section>`;
}

function CampaignPage({ id }) {
  const [job, setJob] = useState(null);
  const [error, setError] = useState(null);
  const [live, setLive] = useState({ state: 'connecting', error: null, rate: 0, eta: '', samples: [] });
  const [actionError, setActionError] = useState(null);
  const [busy, setBusy] = useState('');
  const reportTimer = useRef(null);

  const load = async () => {
    try {
      const loaded = await api(`/v1/bulkJobs/${id}`);
      setJob(loaded);
      setError(null);
      return loaded;
    } catch (failure) {
      setError(failure);
      return null;
    }
  };

  // The report is written a little after the job ends: ask again until its link is there.
  const awaitReport = (tries = 0) => {
    clearTimeout(reportTimer.current);
    reportTimer.current = setTimeout(async () => {
      const loaded = await load();
      if (loaded && !loaded.reportUri && tries < 30) awaitReport(tries + 1);
    }, 1000);
  };

  useEffect(() => {
    let watch = null;
    load().then((loaded) => {
      if (!loaded) return;
      if (TERMINAL.includes(loaded.state)) {
        setLive((l) => ({ ...l, state: 'ended' }));
        if (!loaded.reportUri) awaitReport();
        return;
      }
      watch = openStream({
        path: `/v1/bulkJobs/${id}:watch`,
        onMessage: (step) => {
          setJob((j) => ({ ...j, state: step.state, counts: step.counts || {}, audienceSummary: step.audienceSummary || j.audienceSummary }));
          setLive((l) => ({
            ...l,
            rate: step.currentRate || 0,
            eta: step.eta || '',
            samples: [...l.samples, { t: Date.parse(step.observeTime) || Date.now(), ...sample(step.counts || {}) }].slice(-600),
          }));
          if (TERMINAL.includes(step.state)) awaitReport();
        },
        done: (step) => TERMINAL.includes(step.state),
        onState: (state, failure) => setLive((l) => ({ ...l, state, error: failure || null })),
      });
    });
    return () => {
      if (watch) watch.close();
      clearTimeout(reportTimer.current);
    };
  }, [id]);

  const act = async (verb) => {
    setBusy(verb);
    setActionError(null);
    try {
      const updated = await api(`/v1/bulkJobs/${id}:${verb}`, { method: 'POST', body: {} });
      setJob((j) => ({ ...j, ...updated }));
    } catch (failure) {
      setActionError(failure);
    } finally {
      setBusy('');
    }
  };

  if (error && !job) return html`<section><p><${Link} href="/campaigns">← Campaigns</${Link}></p><h1>Campaign</h1><${ErrorNotice} error=${error} onRetry=${load} /></section>`;
  if (!job) return html`<${Loading} what="Loading the campaign" />`;
  const counts = job.counts || {};
  const total = count(counts.total) || count(job.audienceSummary && job.audienceSummary.totalCount);
  const state = job.state;
  const controls = can('operator') && [
    state === 'JOB_STATE_DRAFT' && ['start', 'Start'],
    state === 'JOB_STATE_RUNNING' && ['pause', 'Pause'],
    state === 'JOB_STATE_PAUSED' && ['resume', 'Resume'],
    !TERMINAL.includes(state) && ['cancel', 'Cancel'],
  ].filter(Boolean);
  return html`<section aria-labelledby="campaign-title" class="campaign">
    <p><${Link} href="/campaigns">← Campaigns</${Link}></p>
    <div class="page-head">
      <h1 id="campaign-title">${job.displayName || id}</h1>
      <${LiveState} state=${live.state} error=${live.error} />
    </div>
    <p><span class=${`pill job-${jobStateWords(state)}`} aria-live="polite">${jobStateWords(state)}</span>${' '}
      ${channelWords(job.channel)} · ${categoryWords(job.category)}${job.scheduleTime ? ` · scheduled for ${dateTime(job.scheduleTime)}` : ''}</p>
    ${job.failureReason && html`<p class="notice error">${job.failureReason}</p>`}
    <${ErrorNotice} error=${actionError} />
    ${controls && controls.length > 0 &&
    html`<div class="actions">${controls.map(
      ([verb, label]) => html`<button type="button" class=${verb === 'cancel' ? 'danger' : ''} disabled=${!!busy} onClick=${() => act(verb)}>${busy === verb ? `${label}…` : label}</button>`,
    )}</div>`}
    <${Progress} label="Recipients with an outcome" value=${done(counts)} max=${total} />
    <dl class="facts">
      <div><dt>Send rate</dt><dd>${rate(live.rate)}</dd></div>
      <div><dt>Time left</dt><dd>${state === 'JOB_STATE_RUNNING' && live.eta ? duration(seconds(live.eta)) : '—'}</dd></div>
      ${SERIES.map((s) => html`<div><dt>${s.label}</dt><dd>${count(counts[s.key]).toLocaleString()}</dd></div>`)}
      <div><dt>Pending</dt><dd>${count(counts.pending).toLocaleString()}</dd></div>
    </dl>
    <${OutcomeChart} samples=${live.samples} total=${total} />
    ${TERMINAL.includes(state) &&
    html`<p class="report">${job.reportUri
      ? html`<a class="button" href=${job.reportUri} rel="noopener noreferrer" target="_blank">Download the report (JSON)</a>`
      : html`<span role="status">The report is being written…</span>`}</p>`}
  </section>`;
}

const sample = (counts) => Object.fromEntries(SERIES.map((s) => [s.key, count(counts[s.key])]));

export default {
  title: 'Campaigns',
  path: '/campaigns',
  role: 'viewer',
  routes: [
    { path: '/campaigns', view: CampaignList },
    { path: '/campaigns/new', view: NewCampaign, role: 'operator' },
    { path: '/campaigns/:id', view: CampaignPage },
  ],
};
