// Numbers for people.

export function bytes(n) {
  if (n == null || Number.isNaN(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : v < 10 ? 2 : 1)} ${units[i]}`;
}

export function bitrate(bps) {
  if (!bps) return '–';
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(2)} Mb/s` : `${Math.round(bps / 1e3)} kb/s`;
}

export function duration(secs) {
  if (secs == null || !Number.isFinite(secs)) return '–';
  const s = Math.max(0, Math.round(secs));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${r}` : `${m}:${r}`;
}

/**
 * Transfer speed over a sliding window of (time, bytes) samples, so one
 * stalled or bursty moment does not swing the estimate.
 */
export class Rate {
  constructor(windowMs = 3000) {
    this.windowMs = windowMs;
    this.samples = [];
  }

  /** @param {number} now ms @param {number} done bytes so far */
  add(now, done) {
    this.samples.push([now, done]);
    while (this.samples.length > 2 && now - this.samples[0][0] > this.windowMs) this.samples.shift();
  }

  /** bytes per second, or 0 before two samples */
  perSecond() {
    if (this.samples.length < 2) return 0;
    const [t0, b0] = this.samples[0];
    const [t1, b1] = this.samples[this.samples.length - 1];
    return t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0;
  }

  /** seconds left for `remaining` bytes, or null when unknown */
  eta(remaining) {
    const r = this.perSecond();
    return r > 0 ? remaining / r : null;
  }
}

/**
 * One line for a job event: state, stage, percent and time left; a queued
 * job outside the queue (Redis refused or lost it) says so, since it waits
 * for the queue, not for a worker.
 */
export function jobLine(ev) {
  if (ev.state === 'queued' && ev.queue === 'stranded') {
    return 'queued · not in the job queue yet: it is sent automatically as soon as the queue (Redis) answers';
  }
  if (ev.state === 'queued') return 'queued · waiting for a worker';
  const eta = ev.eta_seconds != null ? ` · ${duration(ev.eta_seconds)} left` : '';
  return `${ev.state} · ${ev.stage} · ${ev.percent.toFixed(0)}%${eta}`;
}
