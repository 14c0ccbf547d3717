// The public HTTP API of the gateway, as any frontend calls it: JSON over fetch with the bearer token in the
// Authorization header. A refusal becomes an ApiError carrying the google.rpc.Status the gateway answered: its
// words, its code, and the details that say which field (BadRequest), which rule (ErrorInfo,
// PreconditionFailure) was at fault, so forms can put each message beside its field.

import { accessToken, tokenRefused } from './auth.js';

const BAD_REQUEST = 'type.googleapis.com/google.rpc.BadRequest';
const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo';
const PRECONDITION = 'type.googleapis.com/google.rpc.PreconditionFailure';

export class ApiError extends Error {
  constructor(status, body) {
    const message = (body && body.message) || `The request failed (HTTP ${status}).`;
    super(message);
    this.status = status;
    this.code = body && body.code;
    this.details = (body && body.details) || [];
    this.violations = [];
    this.reason = '';
    for (const detail of this.details) {
      if (detail['@type'] === BAD_REQUEST) {
        for (const v of detail.fieldViolations || []) this.violations.push({ field: v.field || '', description: v.description || '' });
      } else if (detail['@type'] === ERROR_INFO) {
        this.reason = detail.reason || '';
      } else if (detail['@type'] === PRECONDITION) {
        for (const v of detail.violations || []) this.violations.push({ field: v.subject || '', description: v.description || '' });
      }
    }
  }

  /** The description of the violation of `field` (a proto path such as `contact.phone_number`), matched whole
   * or as the tail of a longer path (`requests[3].contact.phone_number`). */
  fieldError(field) {
    const hit = this.violations.find((v) => v.field === field || v.field.endsWith(`.${field}`) || v.field.endsWith(`]${field}`));
    return hit ? hit.description : '';
  }

  /** Violations no field of the form shows, for the summary at the top. */
  otherViolations(fields) {
    return this.violations.filter((v) => !fields.some((f) => v.field === f || v.field.endsWith(`.${f}`)));
  }
}

export function url(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === '') continue;
    for (const one of Array.isArray(value) ? value : [value]) params.append(key, String(one));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** One call; resolves to the response message, or throws ApiError (status 0: the gateway did not answer). */
export async function api(path, { method = 'GET', query, body, signal } = {}) {
  const send = () =>
    fetch(url(path, query), {
      method,
      signal,
      headers: {
        Accept: 'application/json',
        ...(accessToken() ? { Authorization: `Bearer ${accessToken()}` } : {}),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      cache: 'no-store',
    });
  let response;
  try {
    response = await send();
    if (response.status === 401 && (await tokenRefused())) response = await send();
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, { message: 'The gateway did not answer: check the connection and try again.' });
  }
  const text = await response.text();
  let data = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { message: `The gateway answered HTTP ${response.status} with something that is not JSON.` };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** The last part of a resource name: `contacts/01J...` -> `01J...`. */
export const idOf = (name) => String(name || '').split('/').pop();
