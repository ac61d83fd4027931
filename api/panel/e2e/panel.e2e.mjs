// End-to-end test of the admin panel in Debian's Chromium (headless, driven
// by playwright-core; no browser download). Run by the Rust integration test
// `it::panel`, which starts the API and a worker and passes:
//   VOD_PANEL_URL        the API's base URL (the panel is at /admin/)
//   VOD_PANEL_TOKEN      an uploader token
//   VOD_PANEL_CLIP       a short video file to upload
//   VOD_PANEL_ARTIFACTS  where screenshots and report.json go
// Optional: VOD_CHROMIUM (default /usr/bin/chromium).
// Exits 0 when every check passed; prints what it saw either way.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const base = env('VOD_PANEL_URL').replace(/\/$/, '');
const tokenValue = env('VOD_PANEL_TOKEN');
const clip = env('VOD_PANEL_CLIP');
const artifacts = env('VOD_PANEL_ARTIFACTS');
const browserPath = process.env.VOD_CHROMIUM || '/usr/bin/chromium';
if (!existsSync(browserPath)) {
  throw new Error(`${browserPath} is missing: install Debian's chromium (infra/up.sh does, via infra/lib/browser.sh)`);
}
mkdirSync(artifacts, { recursive: true });
const scratch = mkdtempSync(join(tmpdir(), 'vod-panel-e2e-'));

const report = { base, steps: [] };
const step = (name, data = {}) => {
  report.steps.push({ name, at_ms: Date.now() - started, ...data });
  console.log(`[e2e] ${name}${Object.keys(data).length ? ` ${JSON.stringify(data)}` : ''}`);
};
const check = (ok, message) => {
  if (!ok) throw new Error(`check failed: ${message}`);
};
const started = Date.now();

const browser = await chromium.launch({
  executablePath: browserPath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
page.setDefaultTimeout(30_000);

// What the page did, for the checks below. URLs only: the token travels in a
// header, never in a URL, so nothing secret is recorded here.
const requests = [];
const problems = [];
page.on('request', (r) => requests.push({ method: r.method(), url: r.url() }));
page.on('requestfailed', (r) => {
  // Aborts are normal (hls.js cancels loads on a level switch; SSE on navigation).
  if (!/ERR_ABORTED/.test(r.failure()?.errorText ?? '')) problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
});
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => {
  const text = m.text();
  if (/Content Security Policy|Refused to/i.test(text)) problems.push(`CSP: ${text}`);
  if (m.type() === 'error') console.log(`[page] ${text}`);
});

let exitCode = 0;
try {
  // --- sign in: a wrong token first, for the message --------------------------------
  // direct_threshold=0 sends every file straight to S3 in presigned parts.
  const response = await page.goto(`${base}/admin/?direct_threshold=0#/upload`);
  const csp = response.headers()['content-security-policy'] ?? '';
  check(csp.includes("script-src 'self'"), `strict CSP on the page: ${csp}`);
  step('page loaded', { csp });
  await page.fill('#token', 'not-a-real-token');
  await page.click('form.signin button[type=submit]');
  const refusal = await page.locator('#signin-error').filter({ hasText: /not accepted/ }).textContent();
  step('bad token refused', { message: refusal });
  await page.fill('#token', tokenValue);
  await page.click('form.signin button[type=submit]');
  await page.waitForSelector('#nav:not([hidden])');
  await page.waitForSelector('#file-input', { state: 'attached' });
  step('signed in');

  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const throttle = (bytesPerSecond) => cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: bytesPerSecond > 0 ? 20 : 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond,
  });

  // --- a small file goes through the API (streamed multipart POST /v1/videos); ----
  // this one only looks like an MP4, so its job fails and the library offers a retry.
  const MiB = 1024 * 1024;
  const bogus = join(scratch, 'not-really.mp4');
  const noise = Buffer.alloc(256 * 1024);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  writeFileSync(bogus, Buffer.concat([Buffer.from('\0\0\0\x18ftypisom\0\0\x02\0isomiso2', 'latin1'), noise]));
  await page.goto(`${base}/admin/#/upload`);
  // Checked in the browser first: a text file is refused with the reason, never sent.
  const notes = join(scratch, 'notes.txt');
  writeFileSync(notes, 'these are not the frames you are looking for\n'.repeat(20));
  await page.setInputFiles('#file-input', notes);
  const refused = await page.locator('.upload-row[data-check=rejected] .upload-state').textContent();
  step('a text file is refused before upload', { reason: refused });
  check(/match no supported container/.test(refused), `the reason is shown: ${refused}`);
  await page.locator('.upload-row[data-check=rejected] button', { hasText: 'Remove' }).click();
  await page.setInputFiles('#file-input', bogus);
  await page.waitForSelector('.upload-row[data-check=ok]');
  await page.locator('.upload-row input').first().fill('E2E broken');
  await page.click('#send-all');
  await page.waitForSelector('.upload-row[data-done="1"]', { timeout: 60_000 });
  const streamed = await page.locator('.upload-row').first().evaluate((el) => ({ path: el.dataset.path, id: el.dataset.videoId }));
  step('streamed upload through the API', streamed);
  check(streamed.path === 'stream', `a small file is streamed through the API: ${streamed.path}`);
  await page.click('#nav a[href="#/"]');
  const broken = page.locator(`.video-card[data-id="${streamed.id}"][data-status=failed]`);
  await broken.waitFor({ timeout: 120_000 });
  const reason = await broken.locator('p.error').textContent();
  step('failed job shows its reason', { reason });
  check(/^media\./.test(reason), `the failure names its media error: ${reason}`);
  await broken.locator('button', { hasText: 'Retry' }).click();
  await page.locator('.toast', { hasText: 'Retrying “E2E broken”' }).waitFor();
  await page.locator(`.video-card[data-id="${streamed.id}"][data-status=failed]`).waitFor({ timeout: 120_000 });
  step('retried from the library, failed again');
  await page.goto(`${base}/admin/?direct_threshold=0#/upload`);

  // --- a direct upload interrupted by a page reload resumes where it stopped -------
  // 9 MiB: an 8 MiB part and a 1 MiB one; the small one lands first.
  const resumeFile = join(scratch, 'resume-source.mp4');
  const clipBytes = readFileSync(clip);
  writeFileSync(resumeFile, Buffer.concat([clipBytes, Buffer.alloc(9 * MiB - clipBytes.length)]));
  await throttle(1 * MiB);
  await page.setInputFiles('#file-input', resumeFile);
  await page.waitForSelector('.upload-row[data-check=ok]');
  await page.locator('.upload-row input').first().fill('E2E resume');
  // S3 answering the small part's PUT means it is stored (Garage lists parts
  // still being written, so ListParts alone cannot tell).
  const part2Stored = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().includes('partNumber=2') && r.ok());
  await page.click('#send-all');
  await part2Stored;
  const first = await page.evaluate(() => Object.values(JSON.parse(localStorage.getItem('vod.uploads') || '{}'))[0]);
  await page.reload();
  await throttle(-1);
  const putsBefore = requests.length;
  await page.waitForSelector('text=Interrupted uploads');
  await page.setInputFiles('#file-input', resumeFile);
  await page.waitForSelector('.upload-row[data-check=ok] >> text=will be resumed');
  await page.click('#send-all');
  await page.waitForSelector('.upload-row[data-done="1"]', { timeout: 60_000 });
  const resumedId = await page.locator('.upload-row').first().getAttribute('data-video-id');
  const resumedParts = requests.slice(putsBefore).filter((r) => r.method === 'PUT').map((r) => new URL(r.url).searchParams.get('partNumber'));
  step('resumed after a reload', { video_id: resumedId, parts_sent_after_reload: resumedParts });
  check(resumedId === first.video_id, `the same upload resumed (${resumedId} vs ${first.video_id})`);
  check(resumedParts.length === 1 && resumedParts[0] === '1', `only the missing part was sent again: ${resumedParts}`);
  const leftover = await page.evaluate(() => localStorage.getItem('vod.uploads'));
  check(leftover === '{}', `the finished upload left no resume state: ${leftover}`);

  // Delete both from the library (confirming), so the rest sees one video.
  await page.click('#nav a[href="#/"]');
  for (const id of [streamed.id, resumedId]) {
    page.once('dialog', (d) => d.accept());
    await page.locator(`.video-card[data-id="${id}"] button.danger`).click();
    await page.locator(`.video-card[data-id="${id}"]`).waitFor({ state: 'detached' });
  }
  step('deleted from the library after confirming');
  await page.click('#nav a[href="#/upload"]');
  await page.waitForSelector('#file-input', { state: 'attached' });

  // --- upload, slowed down so the progress bar has time to move -------------------
  await throttle(384 * 1024);
  await page.setInputFiles('#file-input', clip);
  const row = page.locator('.upload-row').first();
  await page.waitForSelector('.upload-row[data-check=ok]');
  await row.locator('input').first().fill('E2E panel clip');
  await row.locator('input').nth(1).fill('e2e, panel');
  await page.click('#send-all');
  const progress = [];
  const max = Number(await row.locator('progress.upload-progress').getAttribute('max'));
  const statsSeen = new Set();
  for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
    const [value, done, stats] = await row.evaluate((el) => [
      el.querySelector('progress.upload-progress').value, el.dataset.done === '1', el.querySelector('.upload-stats').textContent]);
    if (progress[progress.length - 1] !== value) progress.push(value);
    statsSeen.add(stats);
    if (done) break;
    const failed = await row.locator('.upload-state.error').count();
    if (failed) throw new Error(`upload failed: ${await row.locator('.upload-state').textContent()}`);
    await page.waitForTimeout(100);
  }
  await throttle(-1);
  const path = await row.getAttribute('data-path');
  const videoId = await row.getAttribute('data-video-id');
  const between = progress.filter((v) => v > 0 && v < max);
  step('uploaded', { path, video_id: videoId, bytes: max, progress_values: progress, stats_samples: [...statsSeen].slice(-3) });
  check(videoId, 'the upload finished');
  check(path === 'direct', `the direct (presigned multipart) path was used, not ${path}`);
  check(between.length >= 2, `the progress bar moved through intermediate values: ${progress}`);
  const puts = requests.filter((r) => r.method === 'PUT' && r.url.includes('partNumber='));
  check(puts.length >= 1 && !puts[0].url.startsWith(base), 'parts were PUT to S3, not to the API');

  // --- the job reaches ready through live updates (no reload) ---------------------
  await page.evaluate(() => { window.e2eSamePage = true; });
  const job = row.locator('.job-live');
  await page.waitForSelector('.upload-row .job-live[data-state=succeeded]', { timeout: 240_000 });
  const seen = (await job.getAttribute('data-seen')).trim().split(' ');
  const samePage = await page.evaluate(() => window.e2eSamePage === true);
  step('job succeeded', { events: seen });
  await page.screenshot({ path: join(artifacts, 'upload.png') });
  check(samePage, 'the page was not reloaded');
  check(seen.length >= 2 && !seen[0].startsWith('succeeded'), `live events arrived before the final one: ${seen}`);

  // --- library: the card, its poster, search, screenshots -------------------------
  await page.click('#nav a[href="#/"]');
  const card = page.locator(`.video-card[data-id="${videoId}"]`);
  await card.locator('img.thumb').waitFor();
  await page.waitForFunction((id) => {
    const img = document.querySelector(`.video-card[data-id="${id}"] img.thumb`);
    return img && img.complete && img.naturalWidth > 0;
  }, videoId);
  check((await card.getAttribute('data-status')) === 'ready', 'the card shows ready');
  await page.fill('input[type=search]', 'E2E panel');
  await page.click('form.toolbar button[type=submit]');
  await page.waitForFunction((id) => location.hash.includes('q=') && document.querySelector(`.video-card[data-id="${id}"] img.thumb`)?.complete, videoId);
  step('library shows the video, found by search');
  await page.screenshot({ path: join(artifacts, 'library.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(artifacts, 'library-phone.png') });
  await page.setViewportSize({ width: 1280, height: 900 });

  // --- video page: play, switch quality, storyboard preview -----------------------
  await card.locator('h2 a').click();
  await page.waitForFunction(() => window.vodPlayer?.levels?.length > 0);
  const levels = await page.evaluate(() => window.vodPlayer.levels);
  step('manifest parsed', { levels });
  await page.evaluate(() => {
    const v = document.getElementById('player');
    v.muted = true;
    return v.play();
  });
  await page.waitForFunction(() => document.getElementById('player').currentTime > 0.5, null, { timeout: 60_000 });
  const renditionPlaylists = () => [...new Set(requests.map((r) => r.url).filter((u) => /\/hls\/[^/]+\/[^/]+\.m3u8$/.test(u)))];
  const videoPlaylists = () => renditionPlaylists().filter((u) => levels.some((l) => l.url === u));
  if (videoPlaylists().length < 2 && levels.length >= 2) {
    // ABR stayed on one level: choose another in the quality selector, as a person would.
    const now = await page.evaluate(() => window.vodPlayer.hls.currentLevel);
    const other = String((Math.max(now, 0) + 1) % levels.length);
    await page.selectOption('#quality', other);
    await page.waitForFunction((n) => window.vodPlayer.switches.includes(n), Number(other), { timeout: 30_000 });
    step('quality switched with the selector', { from: now, to: Number(other) });
  }
  await page.waitForFunction(() => document.getElementById('player').currentTime > 2, null, { timeout: 60_000 });
  const playback = await page.evaluate(() => ({
    currentTime: document.getElementById('player').currentTime,
    fatal: window.vodPlayer.fatal,
    errors: window.vodPlayer.errors,
    switches: window.vodPlayer.switches,
  }));
  step('played', { ...playback, rendition_playlists: renditionPlaylists() });
  check(playback.currentTime > 2, `currentTime passed 2 s (${playback.currentTime})`);
  check(renditionPlaylists().length >= 2, `at least two renditions' playlists were requested: ${renditionPlaylists()}`);
  check(levels.length < 2 || videoPlaylists().length >= 2, `two video renditions were played: ${videoPlaylists()}`);
  check(playback.fatal.length === 0, `no fatal hls.js error: ${playback.fatal}`);

  await page.evaluate(() => document.getElementById('player').pause());
  await page.waitForSelector('.player[data-storyboard-cues]');
  const seek = page.locator('#seek');
  const box = await seek.boundingBox();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
  await page.waitForSelector('.preview:not([hidden])');
  const preview = await page.evaluate(() => {
    const el = document.querySelector('.preview');
    const style = getComputedStyle(el);
    return { backgroundImage: style.backgroundImage, backgroundPosition: style.backgroundPosition, width: style.width, height: style.height };
  });
  const sprite = preview.backgroundImage.match(/url\("?([^")]+)"?\)/)?.[1];
  step('storyboard preview', preview);
  check(sprite && /thumbs\/sprite_\d{3}\.jpg$/.test(sprite), `the preview shows a sprite sheet: ${preview.backgroundImage}`);
  check(/^-?\d+px -?\d+px$/.test(preview.backgroundPosition), `the preview is positioned on a tile: ${preview.backgroundPosition}`);
  const spriteOk = await page.evaluate(async (u) => (await fetch(u)).ok, sprite);
  check(spriteOk, `the sprite sheet loads: ${sprite}`);
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(artifacts, 'video.png'), fullPage: true });
  // The README's picture: the top of the video page with the preview showing.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
  await page.screenshot({ path: join(artifacts, 'panel.png') });

  // Metadata editing (PATCH) from the video page.
  await page.fill('form.edit input[name=title]', 'E2E panel clip (edited)');
  await page.click('form.edit button[type=submit]');
  await page.locator('form.edit [role=status]', { hasText: 'Saved.' }).waitFor();
  const edited = await page.evaluate(async (id) => (await (await fetch(`/v1/videos/${id}`, {
    headers: { Authorization: `Bearer ${sessionStorage.getItem('vod.token')}` }, cache: 'no-store' })).json()).title, videoId);
  step('metadata edited', { title: edited });
  check(edited === 'E2E panel clip (edited)', `the title was saved: ${edited}`);

  check(problems.length === 0, `no page errors, failed requests or CSP violations: ${problems.join(' | ')}`);
  step('done');
} catch (e) {
  exitCode = 1;
  console.error(`[e2e] FAILED: ${e.stack ?? e}`);
  if (problems.length) console.error(`[e2e] page problems: ${problems.join('\n  ')}`);
  await page.screenshot({ path: join(artifacts, 'failure.png'), fullPage: true }).catch(() => {});
  report.error = String(e.message ?? e);
} finally {
  report.problems = problems;
  report.requests = requests.filter((r) => !r.url.includes('X-Amz-Signature')).map((r) => `${r.method} ${r.url}`);
  writeFileSync(join(artifacts, 'report.json'), JSON.stringify(report, null, 2));
  await browser.close();
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(exitCode);
