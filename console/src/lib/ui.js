// Small shared pieces of the pages: labelled fields that show their own error, the error notice (the API's
// words and the field at fault), progress, live-status and time displays. Every control has a visible label.

import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';

let nextId = 0;
export const useId = (prefix) => useRef(`${prefix}-${++nextId}`).current;

/** Calls load() now and whenever deps change; {value, error, loading, reload}. A failure is kept, never thrown. */
export function useLoad(load, deps) {
  const [state, setState] = useState({ value: undefined, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    Promise.resolve()
      .then(load)
      .then(
        (value) => live && setState({ value, error: null, loading: false }),
        (error) => live && setState({ value: undefined, error, loading: false }),
      );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

/** A labelled input, select or textarea; `error` (from ApiError.fieldError) is shown under it and announced. */
export function Field({ label, hint, error, as = 'input', children, class: cls = '', ...props }) {
  const id = useId('field');
  const described = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ') || undefined;
  const control = { id, 'aria-describedby': described, 'aria-invalid': error ? 'true' : undefined, ...props };
  return html`<div class=${`field ${error ? 'has-error' : ''} ${cls}`}>
    <label for=${id}>${label}</label>
    ${as === 'select'
      ? html`<select ...${control}>${children}</select>`
      : as === 'textarea'
        ? html`<textarea ...${control}></textarea>`
        : html`<input ...${control} />`}
    ${hint && html`<p class="hint" id=${`${id}-hint`}>${hint}</p>`}
    ${error && html`<p class="field-error" id=${`${id}-error`}>${error}</p>`}
  </div>`;
}

/** What went wrong, in words: the API's message and the fields it names that the form does not show. */
export function ErrorNotice({ error, fields = [], onRetry }) {
  if (!error) return null;
  const others = error.otherViolations ? error.otherViolations(fields) : [];
  const shown = error.violations && error.violations.length && !others.length ? 'Check the fields marked below.' : error.message;
  return html`<div class="notice error" role="alert">
    <p><strong>${title(error)}</strong> ${shown}</p>
    ${others.length > 0 &&
    html`<ul>
      ${others.map((v) => html`<li><code>${v.field}</code>: ${v.description}</li>`)}
    </ul>`}
    ${error.reason && html`<p class="reason">Rule: <code>${error.reason}</code></p>`}
    ${onRetry && html`<button type="button" class="secondary" onClick=${onRetry}>Try again</button>`}
  </div>`;
}

function title(error) {
  switch (error.status) {
    case 0:
      return 'No answer.';
    case 400:
      return 'Not accepted.';
    case 403:
      return 'Not allowed.';
    case 404:
      return 'Not found.';
    case 409:
      return 'Changed meanwhile.';
    case 429:
      return 'Too many requests.';
    default:
      return error.status >= 500 ? 'The platform failed.' : 'Refused.';
  }
}

export function Loading({ what = 'Loading' }) {
  return html`<p class="loading" role="status">${what}…</p>`;
}

/** A progress bar with its numbers in words beside it (the bar alone says nothing to a screen reader). */
export function Progress({ label, value, max }) {
  const id = useId('progress');
  const percent = max > 0 ? Math.floor((100 * value) / max) : 0;
  return html`<div class="progress">
    <label for=${id}>${label}</label>
    <progress id=${id} value=${value} max=${max || 1}>${percent}%</progress>
    <span class="progress-words">${value.toLocaleString()} of ${max.toLocaleString()} (${percent}%)</span>
  </div>`;
}

/** The state of a live stream, announced politely. */
export function LiveState({ state, error }) {
  const words = {
    connecting: 'Connecting…',
    live: 'Live',
    reconnecting: 'Connection lost: reconnecting…',
    ended: 'Finished',
    failed: `Stopped: ${error ? error.message : 'the stream failed'}`,
  };
  return html`<span class=${`live-state ${state}`} role="status" aria-live="polite">${words[state] || ''}</span>`;
}

/** Re-renders every `ms` (for times left and ages). */
export function useNow(ms = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

export function Empty({ children }) {
  return html`<p class="empty">${children}</p>`;
}
