// Unit tests of the panel's pure modules (node's test runner, no browser).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytes, duration, jobLine, Rate } from '../src/format.js';
import { sniff } from '../src/sniff.js';
import { cueAt, parseStoryboard } from '../src/storyboard.js';

const padded = (prefix) => {
  const v = new Uint8Array(512).fill(0xab);
  v.set(typeof prefix === 'string' ? [...prefix].map((c) => c.charCodeAt(0)) : prefix);
  return v;
};

test('signatures match the API sniffer', () => {
  assert.equal(sniff(padded('\0\0\0\x20ftypisom')), 'mp4');
  assert.equal(sniff(padded('\0\0\0\x08moov')), 'quicktime');
  assert.equal(sniff(padded([0x1a, 0x45, 0xdf, 0xa3])), 'matroska');
  assert.equal(sniff(padded('RIFF\0\0\0\0AVI ')), 'avi');
  assert.equal(sniff(padded('OggS')), 'ogg');
  assert.equal(sniff(padded([0, 0, 0, 1, 0x67])), 'h264');
  const ts = new Uint8Array(512);
  ts[0] = 0x47;
  ts[188] = 0x47;
  assert.equal(sniff(ts), 'mpeg-ts');
  assert.equal(sniff(padded('#EXTM3U\n')), null, 'playlists are not media');
  assert.equal(sniff(padded('G not a TS')), null);
  assert.equal(sniff(new Uint8Array(0)), null);
});

test('storyboard cues resolve against the VTT URL', () => {
  const vtt = 'WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nsprite_000.jpg#xywh=0,0,160,90\n\n'
    + '00:00:02.000 --> 00:00:04.000\nsprite_000.jpg#xywh=160,0,160,90\n\n'
    + '00:01:40.000 --> 00:01:42.500\nsprite_001.jpg#xywh=0,90,160,90\n';
  const cues = parseStoryboard(vtt, 'http://cdn.test/videos/1/thumbs/storyboard.vtt');
  assert.equal(cues.length, 3);
  assert.deepEqual(cues[1], { start: 2, end: 4, url: 'http://cdn.test/videos/1/thumbs/sprite_000.jpg', x: 160, y: 0, w: 160, h: 90 });
  assert.equal(cues[2].start, 100);
  assert.equal(cueAt(cues, 3.9).x, 160);
  assert.equal(cueAt(cues, 0).x, 0);
  assert.equal(cueAt(cues, 500).url.endsWith('sprite_001.jpg'), true);
  assert.equal(parseStoryboard('WEBVTT\n\n00:00.000 --> 00:01.000\nno-fragment.jpg\n', 'http://x/a.vtt').length, 0);
});

test('formatting and transfer rate', () => {
  assert.equal(bytes(0), '0 B');
  assert.equal(bytes(1536), '1.50 KiB');
  assert.equal(bytes(64 * 1024 * 1024), '64.0 MiB');
  assert.equal(duration(7.4), '0:07');
  assert.equal(duration(3725), '1:02:05');
  const r = new Rate(3000);
  assert.equal(r.eta(100), null);
  r.add(0, 0);
  r.add(1000, 1000);
  r.add(2000, 3000);
  assert.equal(r.perSecond(), 1500);
  assert.equal(r.eta(3000), 2);
  r.add(10000, 3000);
  assert.equal(r.perSecond(), 0, 'old samples leave the window');
});

test('a stranded job reads apart from a waiting one', () => {
  const base = { state: 'queued', stage: 'queued', percent: 0 };
  assert.match(jobLine({ ...base, queue: 'stranded' }), /not in the job queue yet/);
  assert.equal(jobLine({ ...base, queue: 'waiting' }), 'queued · waiting for a worker');
  assert.equal(jobLine({ state: 'running', stage: 'transcoding', percent: 42.4, eta_seconds: 65 }),
    'running · transcoding · 42% · 1:05 left');
});
