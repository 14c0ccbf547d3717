// Inbox: conversations newest first, live from WatchConversations (with status changes); one conversation's
// messages with their statuses moving as the provider reports them; the 24-hour WhatsApp window with the time
// left; a reply box that becomes a template picker when the window is closed; a suggested reply streamed from
// the assistant into the reply box, editable before it is sent; media through the pre-signed links GetMessage
// gives.

import { html } from 'htm/preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { can } from '../lib/auth.js';
import { channelWords, clock, dateTime, duration, millis, statusWords } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { openStream } from '../lib/stream.js';
import { Empty, ErrorNotice, Field, LiveState, Loading, useLoad, useNow } from '../lib/ui.js';
import { TemplatePicker, templateContent } from './templates.js';

const WINDOW_MS = 24 * 3600 * 1000;
const CHANNELS = { whatsapp: 'CHANNEL_WHATSAPP', sms: 'CHANNEL_SMS', email: 'CHANNEL_EMAIL' };

/** `whatsapp-919812345678` -> {channel: 'CHANNEL_WHATSAPP', customer: '+919812345678'}. */
export function parseConversation(id) {
  const [kind, ...rest] = String(id).split('-');
  const address = rest.join('-');
  const channel = CHANNELS[kind];
  if (!channel || !address) return null;
  return { channel, customer: channel === 'CHANNEL_EMAIL' ? address : `+${address}` };
}

/** The inbox address of a customer: `+919812345678` on WhatsApp -> `/inbox/whatsapp-919812345678`. */
export const conversationPath = (customer, channel = 'whatsapp') =>
  `/inbox/${channel}-${channel === 'email' ? customer.toLowerCase() : customer.replace(/^\+/, '')}`;

function Inbox({ conversation: openId }) {
  const [conversations, setConversations] = useState(null);
  const [error, setError] = useState(null);
  const [stream, setStream] = useState({ state: 'connecting', error: null });
  const subscribers = useRef(new Set());
  const refreshTimer = useRef(null);

  const loadList = useCallback(async () => {
    try {
      const reply = await api('/v1/conversations', { query: { pageSize: 100 } });
      setConversations(reply.conversations || []);
      setError(null);
    } catch (failure) {
      setError(failure);
    }
  }, []);

  // The list's counts and windows are the server's: fetch it again shortly after events settle.
  const refreshSoon = useCallback(() => {
    clearTimeout(refreshTimer.current);
    refreshTimer.current = setTimeout(loadList, 400);
  }, [loadList]);

  useEffect(() => {
    loadList();
    let lost = false;
    const watch = openStream({
      path: '/v1/conversations:watch',
      query: { includeStatusChanges: true },
      onMessage: (event) => {
        setConversations((list) => applyEvent(list, event));
        subscribers.current.forEach((fn) => fn(event));
        if (event.kind !== 'CONVERSATION_EVENT_KIND_STATUS_CHANGED') refreshSoon();
      },
      onState: (state, failure) => {
        setStream({ state, error: failure || null });
        if (state === 'reconnecting') lost = true;
        if (state === 'live' && lost) {
          lost = false; // events may have been missed while the stream was down: catch up
          loadList();
          subscribers.current.forEach((fn) => fn({ kind: 'RESYNC' }));
        }
      },
    });
    return () => {
      watch.close();
      clearTimeout(refreshTimer.current);
    };
  }, []);

  const subscribe = useCallback((fn) => {
    subscribers.current.add(fn);
    return () => subscribers.current.delete(fn);
  }, []);

  const open = openId && (conversations || []).find((c) => c.name === `conversations/${openId}`);
  return html`<div class=${`inbox ${openId ? 'has-open' : ''}`}>
    <section class="conversation-list" aria-labelledby="inbox-title">
      <div class="page-head">
        <h1 id="inbox-title">Inbox</h1>
        <${LiveState} state=${stream.state} error=${stream.error} />
      </div>
      <${ErrorNotice} error=${error} onRetry=${loadList} />
      ${conversations === null && !error && html`<${Loading} what="Loading conversations" />`}
      ${conversations && conversations.length === 0 && html`<${Empty}>No conversations yet. Message a customer from <${Link} href="/contacts">Contacts</${Link}>.</${Empty}>`}
      ${conversations && conversations.length > 0 &&
      html`<ul class="conversations">
        ${conversations.map((c) => html`<${ConversationItem} key=${c.name} conversation=${c} open=${c.name === `conversations/${openId}`} />`)}
      </ul>`}
    </section>
    ${openId
      ? html`<${ConversationView} key=${openId} id=${openId} conversation=${open} subscribe=${subscribe} onSent=${refreshSoon} />`
      : html`<section class="conversation empty-pane"><p>Choose a conversation.</p></section>`}
  </div>`;
}

function applyEvent(list, event) {
  if (!list || !event.message) return list;
  const at = list.findIndex((c) => c.name === event.conversation);
  if (at < 0) return list; // a new conversation: the refresh brings it
  const current = list[at];
  const received = event.kind === 'CONVERSATION_EVENT_KIND_MESSAGE_RECEIVED';
  const isLast = current.lastMessage && current.lastMessage.name === event.message.name;
  if (!received && !isLast) return list;
  const updated = { ...current, lastMessage: event.message, updateTime: received ? event.eventTime : current.updateTime };
  const rest = list.filter((_, i) => i !== at);
  return received ? [updated, ...rest] : list.map((c, i) => (i === at ? updated : c));
}

function ConversationItem({ conversation: c, open }) {
  const id = c.name.split('/')[1];
  const last = c.lastMessage;
  const who = c.profileName || c.customer;
  return html`<li class=${open ? 'open' : ''}>
    <${Link} href=${`/inbox/${id}`} aria-current=${open ? 'true' : undefined}>
      <span class="who">${who}</span>
      <span class="meta">${channelWords(c.channel)} · ${clock(c.updateTime)}</span>
      <span class="last-line">${last ? `${last.direction === 'DIRECTION_INBOUND' ? '' : 'You: '}${preview(last)}` : ''}</span>
      ${c.unansweredCount ? html`<span class="badge">${c.unansweredCount}<span class="visually-hidden"> unanswered</span></span>` : null}
    </${Link}>
  </li>`;
}

function preview(message) {
  const content = message.content || {};
  if (content.text) return content.text.body;
  if (content.template) return `Template ${content.template.templateName}`;
  if (content.media) return content.media.caption || `${(content.media.kind || '').replace('MEDIA_KIND_', '').toLowerCase()} attachment`;
  if (content.reaction) return 'Reaction';
  if (content.location) return 'Location';
  return 'Message';
}

function ConversationView({ id, conversation, subscribe, onSent }) {
  const where = parseConversation(id);
  const [messages, setMessages] = useState(null);
  const [error, setError] = useState(null);

  const load = useCallback(async () => {
    if (!where) return;
    try {
      const reply = await api('/v1/messages', { query: { customer: where.customer, channel: where.channel, pageSize: 100 } });
      setMessages((reply.messages || []).slice().reverse());
      setError(null);
    } catch (failure) {
      setError(failure);
    }
  }, [id]);

  useEffect(() => {
    load();
    return subscribe((event) => {
      if (event.kind === 'RESYNC') return load();
      if (event.conversation !== `conversations/${id}` || !event.message) return;
      setMessages((list) => upsert(list || [], event.message));
    });
  }, [id]);

  if (!where) return html`<section class="conversation"><h2>Unknown conversation</h2><p><code>${id}</code> is not a conversation address.</p></section>`;
  const whatsapp = where.channel === 'CHANNEL_WHATSAPP';
  const windowEnd = windowEndOf(conversation, messages);
  const title = (conversation && conversation.profileName) || where.customer;
  return html`<section class="conversation" aria-labelledby="conversation-title">
    <div class="conversation-head">
      <${Link} class="back" href="/inbox">← All conversations</${Link}>
      <h2 id="conversation-title">${title}</h2>
      <p class="meta">${channelWords(where.channel)} · ${where.customer}</p>
      ${whatsapp && html`<${WindowState} end=${windowEnd} />`}
    </div>
    <${ErrorNotice} error=${error} onRetry=${load} />
    ${messages === null && !error && html`<${Loading} what="Loading messages" />`}
    ${messages && messages.length === 0 && html`<${Empty}>No messages with ${where.customer} yet.</${Empty}>`}
    ${messages && messages.length > 0 &&
    html`<ol class="messages" aria-label="Messages, oldest first">
      ${messages.map((m) => html`<${MessageItem} key=${m.name} message=${m} />`)}
    </ol>`}
    ${can('operator')
      ? html`<${Composer} where=${where} conversation=${conversation} windowOpen=${!whatsapp || windowEnd > Date.now()}
          onSent=${(message) => {
            setMessages((list) => upsert(list || [], message));
            onSent();
          }} />`
      : html`<p class="notice">You can read this conversation; replying needs the operator role.</p>`}
  </section>`;
}

function upsert(list, message) {
  const at = list.findIndex((m) => m.name === message.name);
  if (at < 0) return [...list, message];
  const copy = list.slice();
  copy[at] = { ...list[at], ...message };
  return copy;
}

/** When the customer-service window closes: the conversation's word for it, else the latest inbound + 24 h. */
function windowEndOf(conversation, messages) {
  const given = millis(conversation && conversation.windowExpireTime);
  const inbound = (messages || []).filter((m) => m.direction === 'DIRECTION_INBOUND').map((m) => millis(m.createTime));
  const fromMessages = inbound.length ? Math.max(...inbound) + WINDOW_MS : NaN;
  const best = Math.max(Number.isNaN(given) ? 0 : given, Number.isNaN(fromMessages) ? 0 : fromMessages);
  return best || 0;
}

function WindowState({ end }) {
  useNow(15_000); // re-render as time passes; the time itself is read now
  const now = Date.now();
  if (end > now) {
    return html`<p class="window open">24-hour window open: <strong>${duration((end - now) / 1000)} left</strong> (closes ${dateTime(new Date(end).toISOString())})</p>`;
  }
  return html`<p class="window closed">24-hour window closed: only an approved template can be sent until the customer writes.</p>`;
}

function MessageItem({ message: m }) {
  const inbound = m.direction === 'DIRECTION_INBOUND';
  return html`<li class=${`message ${inbound ? 'inbound' : 'outbound'}`} data-message=${m.name}>
    <div class="bubble">
      <${MessageContent} message=${m} />
    </div>
    <p class="message-meta">
      <span>${inbound ? 'Customer' : 'You'} · ${clock(m.createTime)}</span>
      ${!inbound &&
      html` · <span class="visually-hidden">Status: </span><span class=${`status status-${statusWords(m.status)}`}>${statusWords(m.status)}</span>`}
      ${m.error && m.error.code && html` · <span class="status-error">${m.error.title || m.error.code}${m.error.detail ? `: ${m.error.detail}` : ''}</span>`}
    </p>
  </li>`;
}

function MessageContent({ message }) {
  const content = message.content || {};
  if (content.text) return html`<p class="text">${content.text.body}</p>`;
  if (content.template) {
    const t = content.template;
    const values = (t.bodyParameters || []).map((p) => p.text).join(', ');
    return html`<p class="text"><span class="tag">Template</span> ${t.templateName}${values ? `: ${values}` : ''}</p>`;
  }
  if (content.media) return html`<${Media} message=${message} />`;
  if (content.location) return html`<p class="text">Location: ${content.location.name || ''} ${content.location.latitude}, ${content.location.longitude}</p>`;
  if (content.reaction) return html`<p class="text">Reaction ${content.reaction.emoji || ''}</p>`;
  if (content.interactive) return html`<p class="text">${content.interactive.bodyText || 'Interactive message'}</p>`;
  return html`<p class="text muted">A message of a kind the console does not show.</p>`;
}

/** Media through its pre-signed link: GetMessage signs one for a short time; asked for when shown. */
function Media({ message }) {
  const media = message.content.media;
  const { value, error } = useLoad(
    () => (media.downloadUri ? message : api(`/v1/${message.name}`)),
    [message.name],
  );
  const uri = value && value.content && value.content.media && value.content.media.downloadUri;
  const kind = (media.kind || '').replace('MEDIA_KIND_', '').toLowerCase();
  const label = media.caption || media.filename || `${kind} from the customer`;
  if (error) return html`<p class="text muted">The ${kind} could not be loaded: ${error.message}</p>`;
  if (!uri) return html`<p class="text muted">${media.mediaKey ? `Loading the ${kind}…` : `The ${kind} is still being copied.`}</p>`;
  const caption = media.caption && html`<p class="text">${media.caption}</p>`;
  if (kind === 'image' || kind === 'sticker') return html`<figure><img src=${uri} alt=${label} class="media" />${caption}</figure>`;
  if (kind === 'audio') return html`<figure><audio controls src=${uri} aria-label=${label}></audio>${caption}</figure>`;
  if (kind === 'video') return html`<figure><video controls src=${uri} aria-label=${label} class="media"></video>${caption}</figure>`;
  return html`<p class="text"><a href=${uri} rel="noopener noreferrer" target="_blank">${media.filename || 'Open the document'}</a></p>`;
}

function Composer({ where, conversation, windowOpen, onSent }) {
  if (!windowOpen) return html`<${TemplateComposer} where=${where} conversation=${conversation} onSent=${onSent} />`;
  return html`<${TextComposer} where=${where} conversation=${conversation} onSent=${onSent} />`;
}

function TextComposer({ where, conversation, onSent }) {
  const [text, setText] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [suggestion, setSuggestion] = useState({ state: 'idle', note: '' });
  const suggestStream = useRef(null);
  useEffect(() => () => suggestStream.current && suggestStream.current.close(), []);

  const send = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const message = await api('/v1/messages:send', {
        method: 'POST',
        body: { message: { channel: where.channel, category: 'CATEGORY_SERVICE', recipient: where.customer, content: { text: { body: text } } } },
      });
      setText('');
      setSuggestion({ state: 'idle', note: '' });
      onSent(message);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  const suggest = async () => {
    setError(null);
    setSuggestion({ state: 'streaming', note: 'The assistant is writing…' });
    let contact;
    try {
      contact = await contactOf(where, conversation);
    } catch (failure) {
      setSuggestion({ state: 'idle', note: '' });
      setError(failure);
      return;
    }
    if (!contact) {
      setSuggestion({ state: 'idle', note: `${where.customer} is not a contact: the assistant suggests replies to contacts only.` });
      return;
    }
    let draft = '';
    setText('');
    suggestStream.current = openStream({
      method: 'POST',
      path: '/v1/ai:generateResponse',
      body: { contact },
      onMessage: (piece) => {
        draft += piece.text || '';
        if (piece.done && piece.reply) draft = piece.reply;
        setText(draft);
        if (piece.done) {
          const sources = (piece.citations || []).length;
          setSuggestion({ state: 'done', note: `Suggested reply ready: edit it before sending.${sources ? ` Based on ${sources} passage${sources > 1 ? 's' : ''} of the knowledge base.` : ''}` });
        }
      },
      onState: (state, failure) => {
        if (state === 'failed') {
          setSuggestion({ state: 'idle', note: '' });
          setError(failure);
        }
      },
    });
  };

  const fields = ['message.content.text.body', 'message.recipient'];
  return html`<form class="composer" onSubmit=${send} aria-label="Reply to the customer">
    <${ErrorNotice} error=${error} fields=${fields} />
    <${Field} as="textarea" label="Reply" rows="3" value=${text} required
      error=${error && error.fieldError && error.fieldError('message.content.text.body')}
      aria-busy=${suggestion.state === 'streaming' ? 'true' : undefined}
      onInput=${(e) => setText(e.currentTarget.value)} />
    <p class="hint" role="status" aria-live="polite">${suggestion.note}</p>
    <div class="actions">
      <button type="button" class="secondary" onClick=${suggest} disabled=${suggestion.state === 'streaming'}>Suggest a reply</button>
      <button type="submit" disabled=${busy || !text.trim() || suggestion.state === 'streaming'}>${busy ? 'Sending…' : 'Send'}</button>
    </div>
  </form>`;
}

/** The contact a conversation is with: the conversation's own, else the contact holding that exact address. */
async function contactOf(where, conversation) {
  if (conversation && conversation.contact) return conversation.contact;
  const reply = await api('/v1/contacts:search', { query: { query: where.customer, pageSize: 5 } });
  const hit = (reply.contacts || []).find((c) => c.phoneNumber === where.customer || c.email === where.customer);
  return hit ? hit.name : '';
}

function TemplateComposer({ where, conversation, onSent }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [resetKey, setResetKey] = useState(0);
  const send = async (template, values) => {
    setBusy(true);
    setError(null);
    try {
      const message = await api('/v1/messages:send', {
        method: 'POST',
        body: {
          message: {
            channel: where.channel,
            category: template.category || 'CATEGORY_UTILITY',
            recipient: where.customer,
            ...(conversation && conversation.contact ? { contact: conversation.contact } : {}),
            content: { template: templateContent(template, values) },
          },
        },
      });
      setResetKey((k) => k + 1);
      onSent(message);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="composer">
    <${TemplatePicker} key=${resetKey} onSubmit=${send} busy=${busy} error=${error} submitLabel="Send template" />
  </div>`;
}

export default {
  title: 'Inbox',
  path: '/inbox',
  role: 'viewer',
  routes: [
    { path: '/inbox', view: Inbox },
    { path: '/inbox/:conversation', view: Inbox },
  ],
};
