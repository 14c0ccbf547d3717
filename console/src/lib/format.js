// Words for the API's enums and times, so pages never show `STATUS_DELIVERED` or raw RFC 3339.

/** `STATUS_DELIVERED` -> `delivered`, `CHANNEL_WHATSAPP` -> `WhatsApp`. */
export function enumWords(value, prefix) {
  if (!value) return '';
  const special = { WHATSAPP: 'WhatsApp', SMS: 'SMS', EMAIL: 'email' };
  const rest = String(value).replace(new RegExp(`^${prefix}_`), '');
  return special[rest] || rest.toLowerCase().replace(/_/g, ' ');
}

export const statusWords = (s) => enumWords(s, 'STATUS');
export const channelWords = (c) => enumWords(c, 'CHANNEL');
export const categoryWords = (c) => enumWords(c, 'CATEGORY');
export const jobStateWords = (s) => enumWords(s, 'JOB_STATE');
export const consentWords = (s) => (s && s !== 'CONSENT_STATE_UNSPECIFIED' ? enumWords(s, 'CONSENT_STATE') : 'unknown');

export const millis = (timestamp) => (timestamp ? Date.parse(timestamp) : NaN);

export function dateTime(timestamp) {
  const ms = millis(timestamp);
  return Number.isNaN(ms) ? '' : new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function clock(timestamp) {
  const ms = millis(timestamp);
  return Number.isNaN(ms) ? '' : new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/** 5025 s -> `1 h 23 min`; under a minute in seconds. */
export function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}

/** A proto3 JSON Duration (`12.5s`) in seconds. */
export const seconds = (value) => (value ? parseFloat(String(value)) : NaN);

export function rate(value) {
  return `${(value || 0).toLocaleString(undefined, { maximumFractionDigits: 1 })}/s`;
}

/** Proto3 JSON writes int64 as strings: numbers for arithmetic. */
export const count = (value) => Number(value || 0);
