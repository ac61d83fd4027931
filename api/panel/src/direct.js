// Uploads that bypass the API: parts go straight to S3 on presigned URLs,
// several at once, each retried with backoff; an expired URL is renewed;
// state in localStorage lets the same file resume after a reload or a
// dropped connection (`GET /v1/uploads/{id}/parts` says what S3 holds).

import { api } from './api.js';

const STORE = 'vod.uploads';
export const CONCURRENCY = 4;
const MAX_TRIES = 6;

const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); reject(abortError()); }, { once: true });
  });
const abortError = () => Object.assign(new Error('stopped'), { aborted: true });

const waitOnline = (signal) =>
  navigator.onLine ? Promise.resolve() : new Promise((resolve, reject) => {
    window.addEventListener('online', resolve, { once: true });
    signal?.addEventListener('abort', () => reject(abortError()), { once: true });
  });

/** Identifies "the same file" when the user picks it again after a reload. */
export const resumeKey = (file) => `${file.name}|${file.size}|${file.lastModified}`;

/** Unfinished direct uploads by resume key. */
export function pendingUploads() {
  try {
    return JSON.parse(localStorage.getItem(STORE) || '{}');
  } catch {
    return {};
  }
}

function save(key, entry) {
  const all = pendingUploads();
  all[key] = entry;
  localStorage.setItem(STORE, JSON.stringify(all));
}

export function forget(key) {
  const all = pendingUploads();
  delete all[key];
  localStorage.setItem(STORE, JSON.stringify(all));
}

/** PUTs one part; `onProgress(bytesSent)` as it goes. Rejects with `.status` (0 = network). */
function putPart(url, blob, onProgress, signal) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.getResponseHeader('ETag'));
      else reject(Object.assign(new Error(`storage answered HTTP ${xhr.status}`), { status: xhr.status }));
    };
    xhr.onerror = () => reject(Object.assign(new Error('network error'), { status: 0 }));
    xhr.onabort = () => reject(abortError());
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(blob);
  });
}

const total = (m) => [...m.values()].reduce((a, b) => a + b, 0);

/**
 * Uploads `file` directly. `meta` = {title, description, tags}; `progress(bytes)`
 * reports bytes stored; `note(text)` reports what is happening. Resolves with
 * the completion answer `{video, job}`.
 */
export async function directUpload(file, meta, { progress, note, signal }) {
  const key = resumeKey(file);
  let entry = pendingUploads()[key] ?? null;
  let state = null;
  if (entry) {
    try {
      state = await api(`/v1/uploads/${entry.video_id}/parts`, { signal });
    } catch (e) {
      if (e.status !== 404) throw e;
    }
    if (!state || !['open', 'completed'].includes(state.state)) {
      forget(key);
      entry = null;
      state = null;
    } else {
      note(`resuming: ${state.parts?.length ?? 0} of ${entry.part_count} parts already stored`);
    }
  }
  if (!entry) {
    const created = await api('/v1/uploads', {
      method: 'POST',
      json: { ...meta, size: file.size, content_type: file.type || null, file_name: file.name },
      signal,
    });
    const u = created.upload;
    entry = {
      video_id: u.video_id,
      upload_id: u.upload_id,
      part_size: u.part_size,
      part_count: u.part_count,
      name: file.name,
      size: file.size,
      last_modified: file.lastModified,
      title: meta.title,
      started_at: new Date().toISOString(),
    };
    save(key, entry);
    state = { state: 'open', parts: [], missing: u.parts };
  }

  const videoId = entry.video_id;
  const done = new Map();
  const inflight = new Map();
  const urls = new Map();
  const learn = (s) => {
    for (const p of s.parts ?? []) done.set(p.part_number, p.size);
    for (const p of s.missing ?? []) urls.set(p.part_number, p);
  };
  learn(state);
  const report = () => progress(total(done) + total(inflight));
  report();

  if (state.state === 'open') {
    const queue = [...urls.keys()].filter((n) => !done.has(n)).sort((a, b) => a - b);
    let failure = null;
    const one = async (n) => {
      for (let attempt = 1; ; attempt++) {
        const part = urls.get(n);
        const start = (n - 1) * entry.part_size;
        try {
          await putPart(part.url, file.slice(start, start + part.size), (b) => {
            inflight.set(n, b);
            report();
          }, signal);
          inflight.delete(n);
          done.set(n, part.size);
          report();
          return;
        } catch (e) {
          inflight.delete(n);
          report();
          if (e.aborted || signal?.aborted) throw abortError();
          if (attempt >= MAX_TRIES) throw new Error(`part ${n} failed ${attempt} times: ${e.message}`);
          note(`part ${n}: ${e.message}; retrying (try ${attempt + 1} of ${MAX_TRIES})`);
          await waitOnline(signal);
          await sleep(Math.min(1000 * 2 ** (attempt - 1), 15000), signal);
          // 403: the presigned URL expired (or the clock moved); ask for fresh ones.
          if (e.status === 403 || e.status === 0) learn(await api(`/v1/uploads/${videoId}/parts`, { signal }));
        }
      }
    };
    const worker = async () => {
      while (queue.length && !failure) {
        const n = queue.shift();
        try {
          await one(n);
        } catch (e) {
          failure ??= e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
    if (failure) throw failure;
  }
  note('assembling the parts in storage');
  try {
    const answer = await api(`/v1/uploads/${videoId}/complete`, { method: 'POST', signal });
    forget(key);
    return answer;
  } catch (e) {
    // A file the API refused will never complete: do not offer to resume it.
    if (e.status === 415) forget(key);
    throw e;
  }
}
