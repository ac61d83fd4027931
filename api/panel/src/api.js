// The API client: bearer token from session storage, JSON errors as
// ApiError, and Server-Sent Events read with fetch() so the Authorization
// header can be sent (EventSource cannot send headers, and a token in a URL
// would end up in logs and history).

const TOKEN_KEY = 'vod.token';

export const token = () => sessionStorage.getItem(TOKEN_KEY);
export const setToken = (t) => sessionStorage.setItem(TOKEN_KEY, t);
export const clearToken = () => sessionStorage.removeItem(TOKEN_KEY);

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Builds an ApiError from a response body in the API's `{error: {code, message}}` shape. */
export function errorFrom(status, text, statusText = '') {
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: use the text
  }
  const e = body?.error;
  const err = new ApiError(status, e?.code ?? `http.${status}`, e?.message ?? (text || statusText || `HTTP ${status}`));
  if (status === 401) window.dispatchEvent(new CustomEvent('vod:unauthorized', { detail: err }));
  return err;
}

export const authHeader = () => ({ Authorization: `Bearer ${token() ?? ''}` });

/**
 * @param {string} path
 * @param {{method?: string, json?: unknown, signal?: AbortSignal, auth?: string}} [opts]
 */
export async function api(path, { method = 'GET', json, signal, auth } = {}) {
  const headers = { Authorization: `Bearer ${auth ?? token() ?? ''}` };
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  const r = await fetch(path, { method, headers, body, signal, cache: 'no-store' });
  const text = await r.text();
  if (!r.ok) throw errorFrom(r.status, text, r.statusText);
  return text ? JSON.parse(text) : null;
}

export const FINAL = ['succeeded', 'failed', 'cancelled', 'dead'];

/** Yields `{event, data}` from one SSE response until it ends. */
async function* readSse(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let event = 'message';
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      if (line === '') {
        if (data.length) yield { event, data: data.join('\n') };
        event = 'message';
        data = [];
      } else if (line.startsWith('event:')) {
        event = line.slice(6).trim();
      } else if (line.startsWith('data:')) {
        data.push(line.slice(5).replace(/^ /, ''));
      }
      // `:` comments are keep-alives.
    }
  }
}

/**
 * Follows a video's job over SSE, calling `onEvent(jobEvent)` for each
 * progress event, reconnecting (the API sends a fresh snapshot first) until
 * a final state or `signal` aborts. Resolves with the last event.
 */
export async function followJob(videoId, onEvent, signal) {
  let last = null;
  let delay = 1000;
  while (!signal?.aborted) {
    try {
      const r = await fetch(`/v1/videos/${videoId}/events`, {
        headers: { ...authHeader(), Accept: 'text/event-stream' },
        signal,
        cache: 'no-store',
      });
      if (!r.ok) throw errorFrom(r.status, await r.text(), r.statusText);
      for await (const msg of readSse(r)) {
        if (msg.event !== 'progress') continue;
        last = JSON.parse(msg.data);
        delay = 1000;
        onEvent(last);
        if (FINAL.includes(last.state)) return last;
      }
      // A stream that ends without a final state: the snapshot said there is no job.
      if (last && last.job_id === '00000000-0000-0000-0000-000000000000') return last;
    } catch (e) {
      if (signal?.aborted) break;
      if (e instanceof ApiError && e.status < 500) throw e;
    }
    await new Promise((res) => setTimeout(res, delay));
    delay = Math.min(delay * 2, 15000);
  }
  return last;
}

let configPromise = null;
/** `/admin/config.json`: CDN base URL, upload limit, direct-upload threshold. */
export function panelConfig() {
  configPromise ??= fetch('/admin/config.json').then((r) => r.json());
  return configPromise;
}
