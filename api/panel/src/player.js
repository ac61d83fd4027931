// The video page: hls.js playing through the edge route, a quality selector
// from hls.levels, a seek bar with storyboard previews, the rendition table,
// the poster, metadata editing and, while a job runs, its live progress.

import Hls from 'hls.js';
import { api, followJob } from './api.js';
import { clear, h, statusBadge, toast } from './dom.js';
import { bitrate, bytes, duration, jobLine } from './format.js';
import { cueAt, parseStoryboard } from './storyboard.js';

/** State the page exposes for people debugging playback (and the e2e test). */
const debug = () => (window.vodPlayer = { hls: null, fatal: [], errors: [], levels: [], switches: [], previews: 0 });

export async function videoPage(main, id, { signal, onLeave }) {
  let view;
  try {
    view = await api(`/v1/videos/${id}`, { signal });
  } catch (e) {
    clear(main).append(h('h1', {}, 'Video'), h('p.error', {}, e.status === 404 ? 'This video does not exist (any more).' : e.message));
    return;
  }
  const heading = h('h1', {}, view.title);
  clear(main).append(h('p', {}, h('a', { href: '#/' }, '‹ Library')), heading,
    h('p.meta', {}, statusBadge(view.status), ' ', view.duration_ms ? duration(view.duration_ms / 1000) : '',
      view.width ? ` · ${view.width}×${view.height}` : ''));

  if (view.status !== 'ready' || !view.playback_url) {
    main.append(notReady(view, signal, () => videoPage(main, id, { signal, onLeave })));
  } else {
    main.append(player(view, onLeave));
  }
  main.append(renditionTable(view), posterSection(view), editForm(view, heading));
}

function notReady(view, signal, rerender) {
  const box = h('section.card', { 'aria-live': 'polite' }, h('h2', {}, 'Processing'));
  if (view.status === 'failed') {
    box.firstChild.textContent = 'Failed';
    box.append(h('p.error', {}, `${view.error_code ?? ''}: ${view.error_message ?? 'unknown reason'}`),
      h('button.primary', {
        type: 'button',
        onclick: async () => {
          try {
            await api(`/v1/videos/${view.id}/retry`, { method: 'POST' });
            rerender();
          } catch (e) {
            toast(`Retry failed: ${e.message}`, 'error');
          }
        },
      }, 'Retry'));
    return box;
  }
  const bar = h('progress', { max: 100, value: 0, 'aria-label': 'Job progress' });
  const text = h('span', {}, ` ${view.status}`);
  box.append(bar, text);
  followJob(view.id, (ev) => {
    bar.value = ev.percent;
    text.textContent = ` ${jobLine(ev)}`;
  }, signal).then((last) => {
    if (!signal.aborted && last && ['succeeded', 'failed', 'cancelled', 'dead'].includes(last.state)) rerender();
  }).catch((e) => { text.textContent = ` live updates failed: ${e.message}`; });
  return box;
}

function player(view, onLeave) {
  const dbg = debug();
  const video = h('video#player', { controls: true, playsInline: true, preload: 'metadata', poster: view.poster_url ?? undefined });
  const seek = h('input#seek', { type: 'range', min: 0, max: (view.duration_ms ?? 0) / 1000, step: 0.1, value: 0, 'aria-label': 'Seek (arrow keys move 5 s)' });
  const clock = h('span.clock', { 'aria-hidden': 'true' }, '0:00');
  const preview = h('div.preview', { hidden: true, role: 'img', 'aria-label': 'Storyboard preview' });
  const previewTime = h('span.preview-time');
  preview.append(previewTime);
  const quality = h('select#quality', { 'aria-label': 'Quality' }, h('option', { value: '-1' }, 'Auto'));
  const current = h('span.muted.level-now');
  const status = h('p.player-status', { role: 'status' });
  const wrap = h('section.player', { 'aria-label': 'Player' },
    video,
    h('div.seekbar', {}, seek, preview, clock),
    h('div.player-controls', {}, h('label.inline', {}, 'Quality ', quality), current),
    status);

  // Seek bar: follows playback unless the user holds it.
  let holding = false;
  const total = () => (Number.isFinite(video.duration) && video.duration > 0 ? video.duration : Number(seek.max));
  video.addEventListener('loadedmetadata', () => { seek.max = String(total()); });
  video.addEventListener('timeupdate', () => {
    if (!holding) seek.value = String(video.currentTime);
    clock.textContent = `${duration(video.currentTime)} / ${duration(total())}`;
  });
  seek.addEventListener('pointerdown', () => { holding = true; });
  seek.addEventListener('pointerup', () => { holding = false; });
  seek.addEventListener('input', () => {
    video.currentTime = Number(seek.value);
    showPreview(Number(seek.value), seek.value / total());
  });
  seek.addEventListener('blur', () => { preview.hidden = true; });

  // Storyboard previews over the seek bar.
  let cues = [];
  if (view.storyboard_url) {
    fetch(view.storyboard_url, { cache: 'force-cache' })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then((text) => { cues = parseStoryboard(text, view.storyboard_url); wrap.dataset.storyboardCues = String(cues.length); })
      .catch((e) => dbg.errors.push(`storyboard: ${e.message}`));
  }
  function showPreview(t, fraction) {
    const cue = cueAt(cues, t);
    if (!cue) return;
    preview.hidden = false;
    preview.style.width = `${cue.w}px`;
    preview.style.height = `${cue.h}px`;
    preview.style.backgroundImage = `url("${cue.url}")`;
    preview.style.backgroundPosition = `-${cue.x}px -${cue.y}px`;
    const barWidth = seek.clientWidth;
    const left = Math.min(Math.max(fraction * barWidth - cue.w / 2, 0), Math.max(barWidth - cue.w, 0));
    preview.style.left = `${left}px`;
    previewTime.textContent = duration(t);
    dbg.previews++;
  }
  seek.addEventListener('pointermove', (e) => {
    const rect = seek.getBoundingClientRect();
    const fraction = Math.min(Math.max((e.clientX - rect.left) / rect.width, 0), 1);
    showPreview(fraction * total(), fraction);
  });
  seek.addEventListener('pointerleave', () => { preview.hidden = true; });

  if (Hls.isSupported()) {
    const hls = new Hls({ enableWorker: true });
    dbg.hls = hls;
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      dbg.levels = hls.levels.map((l) => ({ height: l.height, bitrate: l.bitrate, url: l.url[0] }));
      hls.levels.forEach((l, i) =>
        quality.append(h('option', { value: String(i) }, `${l.height ? `${l.height}p` : `level ${i + 1}`} · ${bitrate(l.bitrate)}`)));
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, (_, d) => {
      const l = hls.levels[d.level];
      dbg.switches.push(d.level);
      current.textContent = l ? ` playing ${l.height}p` : '';
    });
    hls.on(Hls.Events.ERROR, (_, d) => {
      dbg.errors.push(`${d.type}:${d.details}${d.fatal ? ' (fatal)' : ''}`);
      if (!d.fatal) return;
      dbg.fatal.push(`${d.type}:${d.details}`);
      status.textContent = `Playback error: ${d.details}. Trying to recover…`;
      if (d.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      else if (d.type === Hls.ErrorTypes.NETWORK_ERROR) hls.startLoad();
      else status.textContent = `Playback failed: ${d.details}`;
    });
    quality.addEventListener('change', () => { hls.currentLevel = Number(quality.value); });
    hls.loadSource(view.playback_url);
    hls.attachMedia(video);
    onLeave(() => hls.destroy());
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    // Safari plays HLS itself and picks the quality on its own.
    video.src = view.playback_url;
    quality.disabled = true;
  } else {
    status.textContent = 'This browser cannot play HLS (no Media Source Extensions).';
  }
  return wrap;
}

function renditionTable(view) {
  const rows = view.renditions.map((r) => h('tr', {},
    h('th', { scope: 'row' }, r.name),
    h('td', {}, r.kind),
    h('td', {}, r.width ? `${r.width}×${r.height}` : '–'),
    h('td.num', {}, bitrate(r.bandwidth)),
    h('td.num', {}, bitrate(r.average_bandwidth)),
    h('td', {}, h('code', {}, r.codecs)),
    h('td.num', {}, r.segment_count),
    h('td.num', {}, bytes(r.bytes))));
  return h('section.card', {},
    h('h2', {}, 'Renditions'),
    rows.length
      ? h('div.table-scroll', {}, h('table.renditions', {},
        h('thead', {}, h('tr', {}, ['Name', 'Kind', 'Resolution', 'Peak', 'Average', 'Codecs', 'Segments', 'Size'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, rows)))
      : h('p.muted', {}, 'No renditions yet.'));
}

function posterSection(view) {
  return h('section.card', {}, h('h2', {}, 'Poster'),
    view.poster_url ? h('img.poster', { src: view.poster_url, alt: `Poster of ${view.title}` }) : h('p.muted', {}, 'No poster yet.'),
    view.storyboard_url && h('p', {}, h('a', { href: view.storyboard_url }, 'Storyboard (WebVTT)')));
}

function editForm(view, heading) {
  const title = h('input', { name: 'title', value: view.title, required: true, maxLength: 200 });
  const description = h('textarea', { name: 'description', rows: 3, value: view.description ?? '' });
  const tags = h('input', { name: 'tags', value: (view.tags ?? []).join(', ') });
  const save = h('button.primary', { type: 'submit' }, 'Save');
  const saved = h('span.muted', { role: 'status' });
  return h('section.card', {}, h('h2', {}, 'Details'),
    h('form.edit', {
      onsubmit: async (e) => {
        e.preventDefault();
        save.disabled = true;
        try {
          const v = await api(`/v1/videos/${view.id}`, {
            method: 'PATCH',
            json: { title: title.value.trim(), description: description.value, tags: tags.value.split(',').map((t) => t.trim()).filter(Boolean) },
          });
          heading.textContent = v.title;
          saved.textContent = 'Saved.';
        } catch (err) {
          saved.textContent = `Not saved: ${err.message}`;
        } finally {
          save.disabled = false;
        }
      },
    },
    h('label', {}, 'Title', title),
    h('label', {}, 'Tags (comma-separated)', tags),
    h('label.wide', {}, 'Description', description),
    h('div.actions', {}, save, saved)),
    h('p.muted.small', {}, `id ${view.id} · created ${new Date(view.created_at).toLocaleString()}`));
}
