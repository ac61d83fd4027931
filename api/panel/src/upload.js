// The upload page: pick or drop files, check them in the browser, then send
// each one, small files streamed through `POST /v1/videos`, large ones
// directly to S3 (direct.js), with a progress bar, speed and time left, and
// the transcode job's live progress afterwards.

import { errorFrom, followJob, panelConfig, token } from './api.js';
import { CONCURRENCY, directUpload, forget, pendingUploads, resumeKey } from './direct.js';
import { append, clear, h, statusBadge, toast } from './dom.js';
import { bytes, duration, jobLine, Rate } from './format.js';
import { checkFile } from './sniff.js';

const THRESHOLD_KEY = 'vod.directThresholdMiB';

/** Files above this go direct; `?direct_threshold=BYTES` in the page URL wins. */
async function threshold() {
  const q = new URLSearchParams(location.search).get('direct_threshold');
  if (q !== null && /^\d+$/.test(q)) return Number(q);
  const mib = localStorage.getItem(THRESHOLD_KEY);
  if (mib !== null && /^\d+$/.test(mib)) return Number(mib) * 1024 * 1024;
  return (await panelConfig()).direct_upload_threshold;
}

/** The streamed path: one multipart POST, with upload progress from XHR. */
function streamUpload(file, meta, { progress, signal }) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    // Text fields first: the API reads the form in order.
    form.append('title', meta.title);
    form.append('description', meta.description);
    form.append('tags', meta.tags.join(','));
    form.append('file', file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/v1/videos');
    xhr.setRequestHeader('Authorization', `Bearer ${token() ?? ''}`);
    xhr.upload.onprogress = (e) => progress(Math.min(e.loaded, file.size));
    xhr.onload = () => {
      if (xhr.status === 201) resolve(JSON.parse(xhr.responseText));
      else reject(errorFrom(xhr.status, xhr.responseText, xhr.statusText));
    };
    xhr.onerror = () => reject(new Error('network error: the connection to the API was lost'));
    xhr.onabort = () => reject(Object.assign(new Error('stopped'), { aborted: true }));
    signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}

const splitTags = (s) => s.split(',').map((t) => t.trim()).filter(Boolean);

class Item {
  constructor(file, list) {
    this.file = file;
    this.list = list;
    this.check = null;
    this.abort = null;
    const base = file.name.replace(/\.[^.]+$/, '');
    this.title = h('input', { value: base, required: true, maxLength: 200, 'aria-label': `Title for ${file.name}` });
    this.description = h('textarea', { rows: 2, 'aria-label': `Description for ${file.name}` });
    this.tags = h('input', { placeholder: 'tag, tag', 'aria-label': `Tags for ${file.name}` });
    this.bar = h('progress.upload-progress', { max: file.size, value: 0, 'aria-label': `Upload progress of ${file.name}` });
    this.stats = h('span.upload-stats', {}, `0 B of ${bytes(file.size)}`);
    this.state = h('span.upload-state', {}, 'checking…');
    this.job = h('div.job-live', { 'aria-live': 'polite' });
    this.button = h('button.secondary', { type: 'button', onclick: () => this.stopOrRemove() }, 'Remove');
    const resumable = pendingUploads()[resumeKey(file)];
    this.el = h('li.upload-row', { dataset: { name: file.name } },
      h('div.upload-head', {}, h('strong', {}, file.name), h('span.muted', {}, bytes(file.size)), this.button),
      resumable && h('p.note', {}, 'An interrupted upload of this file will be resumed.'),
      h('div.fields', {},
        h('label', {}, 'Title', this.title),
        h('label', {}, 'Tags (comma-separated)', this.tags),
        h('label.wide', {}, 'Description', this.description)),
      h('div.progress-line', {}, this.bar, this.stats),
      this.state,
      this.job);
  }

  async runCheck(maxBytes) {
    this.check = await checkFile(this.file, maxBytes);
    this.el.dataset.check = this.check.ok ? 'ok' : 'rejected';
    this.setState(this.check.ok ? `ready to send (${this.check.container})` : `cannot be sent: ${this.check.reason}`, this.check.ok ? '' : 'error');
  }

  setState(text, kind = '') {
    this.state.textContent = text;
    this.state.className = `upload-state ${kind}`;
  }

  stopOrRemove() {
    if (this.abort) this.abort.abort();
    else {
      this.el.remove();
      this.list.delete(this);
    }
  }

  async send(limit) {
    if (!this.check?.ok || this.el.dataset.done) return;
    const title = this.title.value.trim();
    if (!title) {
      this.setState('a title is needed', 'error');
      this.title.focus();
      return;
    }
    const meta = { title, description: this.description.value, tags: splitTags(this.tags.value) };
    const direct = this.file.size > limit;
    this.el.dataset.path = direct ? 'direct' : 'stream';
    const rate = new Rate();
    const started = performance.now();
    const progress = (done) => {
      this.bar.value = done;
      rate.add(performance.now(), done);
      const eta = rate.eta(this.file.size - done);
      this.stats.textContent = `${bytes(done)} of ${bytes(this.file.size)} · ${bytes(rate.perSecond())}/s · ${eta == null ? '–' : duration(eta)} left`;
    };
    this.abort = new AbortController();
    this.button.textContent = 'Stop';
    for (const el of [this.title, this.description, this.tags]) el.disabled = true;
    this.setState(direct ? `sending directly to storage (${CONCURRENCY} parts at a time)` : 'sending through the API');
    try {
      const opts = { progress, signal: this.abort.signal, note: (t) => this.setState(t) };
      const answer = direct ? await directUpload(this.file, meta, opts) : await streamUpload(this.file, meta, opts);
      progress(this.file.size);
      const secs = (performance.now() - started) / 1000;
      this.el.dataset.done = '1';
      this.el.dataset.videoId = answer.video.id;
      this.button.hidden = true;
      this.setState(`uploaded in ${secs.toFixed(1)} s; `, 'ok');
      this.state.append(h('a', { href: `#/videos/${answer.video.id}` }, 'open the video'));
      this.live(answer.video.id);
    } catch (e) {
      for (const el of [this.title, this.description, this.tags]) el.disabled = false;
      this.setState(e.aborted ? 'stopped; pick the same file again to resume' : `failed: ${e.message}`, 'error');
      if (!e.aborted) toast(`${this.file.name}: ${e.message}`, 'error');
    } finally {
      this.abort = null;
      this.button.textContent = 'Remove';
    }
  }

  /** The transcode job's progress, live over SSE. */
  async live(videoId) {
    const bar = h('progress', { max: 100, value: 0, 'aria-label': 'Transcode progress' });
    const text = h('span', {}, 'waiting for the job');
    clear(this.job).append(h('span', {}, 'Job: '), bar, text);
    const last = await followJob(videoId, (ev) => {
      this.job.dataset.state = ev.state;
      this.job.dataset.seen = `${this.job.dataset.seen ?? ''}${ev.state}:${ev.stage}:${Math.round(ev.percent)} `;
      bar.value = ev.percent;
      text.textContent = ` ${jobLine(ev)}`;
      if (ev.error_message) text.textContent += ` · ${ev.error_message}`;
    }).catch((e) => {
      text.textContent = ` live updates failed: ${e.message}`;
      return null;
    });
    if (last?.state === 'succeeded') text.prepend(statusBadge('ready'), ' ');
  }
}

export async function uploadPage(main) {
  const cfg = await panelConfig();
  const items = new Set();
  const list = h('ul.uploads', { 'aria-label': 'Files to upload' });
  const input = h('input.visually-hidden', { type: 'file', multiple: true, id: 'file-input', accept: 'video/*,.mkv,.ts,.m2ts,.mts,.flv,.ogv,.h264,.264,.avi,.mov' });
  const addFiles = async (files) => {
    for (const f of files) {
      const item = new Item(f, items);
      items.add(item);
      list.append(item.el);
      await item.runCheck(cfg.max_upload_bytes);
    }
  };
  input.addEventListener('change', () => {
    addFiles([...input.files]);
    input.value = '';
  });
  const drop = h('div.dropzone', {},
    h('p', {}, 'Drop video files here, or'),
    h('label.button', { htmlFor: 'file-input' }, 'choose files'), input,
    h('p.muted', {}, `Up to ${bytes(cfg.max_upload_bytes)} each. Checked in the browser before sending.`));
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    addFiles([...(e.dataTransfer?.files ?? [])]);
  });

  const limit = await threshold();
  const thresholdInput = h('input', {
    type: 'number', min: 0, step: 1, value: Math.round(limit / 1024 / 1024), id: 'direct-threshold',
    onchange: (e) => localStorage.setItem(THRESHOLD_KEY, String(Math.max(0, Number(e.target.value) || 0))),
  });
  const sendAll = h('button.primary', {
    type: 'button', id: 'send-all',
    onclick: async () => {
      sendAll.disabled = true;
      const current = await threshold();
      // One file at a time; a file's own parts go in parallel.
      for (const item of [...items]) await item.send(current);
      sendAll.disabled = false;
    },
  }, 'Upload');

  const pending = Object.entries(pendingUploads());
  const resumeBox = pending.length > 0 && h('section.card', { 'aria-label': 'Interrupted uploads' },
    h('h2', {}, 'Interrupted uploads'),
    h('p.muted', {}, 'Pick the same file again to resume it where it stopped.'),
    h('ul', {}, pending.map(([key, e]) => {
      const li = h('li', {}, `${e.name} (${bytes(e.size)}, “${e.title ?? ''}”, started ${new Date(e.started_at).toLocaleString()}) `,
        h('button.link', { type: 'button', onclick: () => { forget(key); li.remove(); } }, 'forget'));
      return li;
    })));

  append(clear(main), [
    h('h1', {}, 'Upload'),
    resumeBox,
    drop,
    list,
    h('div.actions', {}, sendAll,
      h('label.inline', {}, 'Send files above ', thresholdInput, ' MiB directly to storage')),
  ]);
}
