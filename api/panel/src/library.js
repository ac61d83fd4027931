// The library: a searchable, paginated list (search goes through the API's
// catalog search), poster thumbnails, status and duration, live job
// progress over SSE, retry for failed videos, cancel and delete.

import { api, followJob, panelConfig } from './api.js';
import { clear, h, statusBadge, toast } from './dom.js';
import { duration, jobLine } from './format.js';

const PER_PAGE = 12;
const ACTIVE = ['created', 'uploading', 'queued', 'processing'];
/** Browsers allow ~6 HTTP/1.1 connections per origin; keep some for the page. */
const MAX_LIVE = 3;

export function posterUrl(cfg, video) {
  if (video.status !== 'ready' || !video.output_prefix) return null;
  return `${cfg.cdn_base_url.replace(/\/$/, '')}/${video.output_prefix}thumbs/poster.jpg`;
}

export async function libraryPage(main, params, { signal }) {
  const cfg = await panelConfig();
  const q = params.get('q') ?? '';
  const status = params.get('status') ?? '';
  const page = Math.max(1, Number(params.get('page')) || 1);
  const go = (changes) => {
    const next = new URLSearchParams({ q, status, page: String(page), ...changes });
    for (const [k, v] of [...next]) if (!v || (k === 'page' && v === '1')) next.delete(k);
    location.hash = `#/?${next}`;
  };

  const search = h('input', { type: 'search', name: 'q', value: q, placeholder: 'Search titles, descriptions, tags', 'aria-label': 'Search' });
  const statusSel = h('select', { name: 'status', 'aria-label': 'Status' },
    ['', 'queued', 'processing', 'ready', 'failed', 'uploading'].map((s) =>
      h('option', { value: s, selected: s === status }, s || 'any status')));
  const form = h('form.toolbar', { role: 'search', onsubmit: (e) => { e.preventDefault(); go({ q: search.value.trim(), status: statusSel.value, page: '1' }); } },
    search, statusSel, h('button.primary', { type: 'submit' }, 'Search'));
  const grid = h('ul.library', { 'aria-label': 'Videos', 'aria-busy': 'true' });
  const pager = h('nav.pager', { 'aria-label': 'Pages' });
  clear(main).append(h('h1', {}, 'Library'), form, grid, pager);

  const query = new URLSearchParams({ page: String(page), per_page: String(PER_PAGE) });
  if (q) query.set('q', q);
  if (status) query.set('status', status);
  let list;
  try {
    list = await api(`/v1/videos?${query}`, { signal });
  } catch (e) {
    grid.append(h('li.error', {}, `Could not load the library: ${e.message}`));
    return;
  }
  grid.setAttribute('aria-busy', 'false');
  if (!list.items.length) grid.append(h('li.muted', {}, q ? `Nothing matches “${q}”.` : 'No videos yet. Upload one.'));
  let live = 0;
  for (const v of list.items) {
    const card = new Card(cfg, v, signal);
    grid.append(card.el);
    if (ACTIVE.includes(v.status) && live < MAX_LIVE) {
      live++;
      card.follow();
    }
  }
  pager.append(
    h('button.secondary', { type: 'button', disabled: page <= 1, onclick: () => go({ page: String(page - 1) }) }, '‹ Previous'),
    h('span', { 'aria-current': 'page' }, ` Page ${page} `),
    h('button.secondary', { type: 'button', disabled: !list.has_more, onclick: () => go({ page: String(page + 1) }) }, 'Next ›'));
}

class Card {
  constructor(cfg, video, signal) {
    this.cfg = cfg;
    this.signal = signal;
    this.jobId = null;
    this.el = h('li.video-card', { dataset: { id: video.id } });
    this.render(video);
  }

  render(v, ev = null) {
    this.video = v;
    const poster = posterUrl(this.cfg, v);
    const placeholder = () => h('div.thumb.placeholder', { 'aria-hidden': 'true' }, v.status);
    const thumb = poster
      ? h('img.thumb', { src: poster, alt: '', loading: 'lazy', width: 320, height: 180, onerror: (e) => e.target.replaceWith(placeholder()) })
      : placeholder();
    const live = h('div.live', { 'aria-live': 'polite' });
    if (ev) this.showEvent(live, ev);
    const actions = h('div.actions');
    if (['failed'].includes(v.status)) {
      actions.append(h('button.secondary', { type: 'button', onclick: () => this.retry() }, 'Retry'));
    }
    if (ACTIVE.includes(v.status) && this.jobId) {
      actions.append(h('button.secondary', { type: 'button', onclick: () => this.cancel() }, 'Cancel'));
    }
    actions.append(h('button.danger', { type: 'button', onclick: () => this.remove() }, 'Delete'));
    clear(this.el).append(
      h('a.thumb-link', { href: `#/videos/${v.id}`, tabIndex: -1, 'aria-hidden': 'true' }, thumb),
      h('div.body', {},
        h('h2', {}, h('a', { href: `#/videos/${v.id}` }, v.title)),
        h('p.meta', {}, statusBadge(v.status), ' ', duration(v.duration_ms != null ? v.duration_ms / 1000 : null),
          v.width ? ` · ${v.width}×${v.height}` : '', v.tags?.length ? ` · ${v.tags.join(', ')}` : ''),
        v.status === 'failed' && v.error_message && h('p.error', {}, `${v.error_code ?? 'failed'}: ${v.error_message}`),
        live,
        actions));
    this.el.dataset.status = v.status;
    this.live = live;
  }

  showEvent(box, ev) {
    clear(box).append(
      h('progress', { max: 100, value: ev.percent, 'aria-label': 'Job progress' }),
      h('span', { dataset: { queue: ev.queue ?? '' } }, ` ${jobLine(ev)}`));
  }

  async follow() {
    const signal = this.signal;
    const last = await followJob(this.video.id, (ev) => {
      const first = !this.jobId && ev.job_id;
      this.jobId = ev.job_id;
      if (first) this.render(this.video, ev);
      else this.showEvent(this.live, ev);
    }, signal).catch(() => null);
    if (signal.aborted || !last) return;
    // The job ended: show the video as it now is (poster, duration, error).
    try {
      this.render(await api(`/v1/videos/${this.video.id}`, { signal }));
    } catch {
      // deleted meanwhile, or offline: leave the card
    }
  }

  async retry() {
    try {
      await api(`/v1/videos/${this.video.id}/retry`, { method: 'POST' });
      toast(`Retrying “${this.video.title}”`);
      this.render({ ...this.video, status: 'queued', error_code: null, error_message: null });
      this.follow();
    } catch (e) {
      toast(`Retry failed: ${e.message}`, 'error');
    }
  }

  async cancel() {
    if (!confirm(`Cancel the job of “${this.video.title}”?`)) return;
    try {
      await api(`/v1/jobs/${this.jobId}/cancel`, { method: 'POST' });
      toast('Job cancelled');
    } catch (e) {
      toast(`Cancel failed: ${e.message}`, 'error');
    }
  }

  async remove() {
    if (!confirm(`Delete “${this.video.title}” and all its files? This cannot be undone.`)) return;
    try {
      await api(`/v1/videos/${this.video.id}`, { method: 'DELETE' });
      toast(`Deleted “${this.video.title}”`);
      this.el.remove();
    } catch (e) {
      toast(`Delete failed: ${e.message}`, 'error');
    }
  }
}
