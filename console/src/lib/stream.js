// Server-Sent Events from the gateway's streaming routes, read with fetch so the token goes in the Authorization
// header (never in the URL) and a reconnect picks up a refreshed token. A watch (WatchConversations, WatchJob)
// reconnects by itself with exponential backoff and jitter whenever its connection drops or ends early; a
// one-shot stream (a suggested reply, a replay) reports its end or failure and is never repeated by itself,
// since repeating it would repeat its effect.

import { accessToken, tokenRefused } from './auth.js';
import { ApiError, url } from './api.js';

const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 15_000;
const HEALTHY_MS = 10_000;

/**
 * Opens a stream. Options: method, path, query, body, onMessage(json), onState(state, detail) with state
 * 'connecting' | 'live' | 'reconnecting' | 'ended' | 'failed', reconnect (default true for GET),
 * done(message) -> true when the stream's work is over (a watch of a finished job: no reconnect).
 * Returns {close()}.
 */
export function openStream({ method = 'GET', path, query, body, onMessage, onState = () => {}, reconnect, done }) {
  const again = reconnect ?? method === 'GET';
  let closed = false;
  let controller = null;
  let attempt = 0;
  let timer = null;
  let finished = false;

  const run = async () => {
    controller = new AbortController();
    onState(attempt ? 'reconnecting' : 'connecting');
    let failure = null;
    let openedAt = 0;
    let heard = false;
    try {
      let response = await connect(controller.signal);
      if (response.status === 401 && (await tokenRefused())) response = await connect(controller.signal);
      if (!response.ok) {
        const data = await response.json().catch(() => ({}));
        throw new ApiError(response.status, data);
      }
      onState('live');
      openedAt = Date.now();
      await read(response.body, (event, data) => {
        if (event === 'error') throw new ApiError(0, data);
        heard = true;
        onMessage(data);
        if (done && done(data)) finished = true;
      });
    } catch (error) {
      if (closed) return;
      failure = error instanceof ApiError ? error : new ApiError(0, { message: 'The connection to the gateway was lost.' });
    }
    if (closed) return;
    const permanent = failure && [400, 401, 403, 404].includes(failure.status);
    if (finished || !again || permanent) {
      onState(failure && !finished ? 'failed' : 'ended', failure);
      return;
    }
    // A connection that carried events, or stayed up a while, was healthy: the backoff starts over. One that
    // ends at once (a proxy or a gateway turning connections away) keeps backing off.
    if (heard || (openedAt && Date.now() - openedAt > HEALTHY_MS)) attempt = 0;
    attempt += 1;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** (attempt - 1));
    const wait = ceiling / 2 + Math.random() * (ceiling / 2);
    onState('reconnecting', failure || new ApiError(0, { message: 'The stream ended; reconnecting.' }));
    timer = setTimeout(run, wait);
  };

  const connect = (signal) =>
    fetch(url(path, query), {
      method,
      signal,
      headers: {
        Accept: 'text/event-stream',
        ...(accessToken() ? { Authorization: `Bearer ${accessToken()}` } : {}),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      cache: 'no-store',
    });

  run();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      if (controller) controller.abort();
    },
  };
}

/** Reads an event stream body, calling handle(eventName, json) for each event; comments are keep-alives. */
async function read(body, handle) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      let event = 'message';
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(':')) continue;
        const [field, ...rest] = line.split(':');
        const text = rest.join(':').replace(/^ /, '');
        if (field === 'event') event = text;
        else if (field === 'data') data.push(text);
      }
      if (data.length) handle(event, JSON.parse(data.join('\n')));
    }
  }
}
