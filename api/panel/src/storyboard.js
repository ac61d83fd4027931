// WebVTT storyboard: cues whose text is `sprite_000.jpg#xywh=x,y,w,h`,
// resolved against the VTT's own URL.

function seconds(stamp) {
  const parts = stamp.trim().split(':').map(Number);
  if (parts.some((n) => Number.isNaN(n))) return NaN;
  return parts.reduce((acc, n) => acc * 60 + n, 0);
}

/**
 * @param {string} text the VTT file
 * @param {string} baseUrl the VTT's URL (absolute, or relative to the page)
 * @returns {{start:number,end:number,url:string,x:number,y:number,w:number,h:number}[]}
 */
export function parseStoryboard(text, baseUrl) {
  const base = new URL(baseUrl, globalThis.location?.href ?? 'http://localhost/');
  const cues = [];
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = lines[i].match(/^\s*([\d:.]+)\s+-->\s+([\d:.]+)/);
    if (!m) continue;
    const payload = (lines[i + 1] ?? '').trim();
    const [file, frag = ''] = payload.split('#');
    const xywh = frag.match(/^xywh=(\d+),(\d+),(\d+),(\d+)$/);
    const start = seconds(m[1]);
    const end = seconds(m[2]);
    if (!file || !xywh || Number.isNaN(start) || Number.isNaN(end)) continue;
    const [x, y, w, h] = xywh.slice(1).map(Number);
    cues.push({ start, end, url: new URL(file, base).href, x, y, w, h });
  }
  return cues.sort((a, b) => a.start - b.start);
}

/** The cue showing at `t` seconds (the last one before it past the end). */
export function cueAt(cues, t) {
  let found = null;
  for (const c of cues) {
    if (c.start <= t) found = c;
    else break;
  }
  return found;
}
