// The browser-side twin of api/src/sniff.rs: which container a file is, from
// its first bytes. The API checks again; this only saves a wasted upload and
// tells the reason before anything is sent.

export const SNIFF_LEN = 512;
export const ACCEPTED =
  'MP4/MOV, Matroska/WebM, MPEG-TS, MPEG-PS, AVI, FLV, Ogg or raw H.264 (Annex B)';

/** @param {Uint8Array} head @returns {string|null} */
export function sniff(head) {
  const at = (offset, magic) => {
    const bytes = typeof magic === 'string' ? [...magic].map((c) => c.charCodeAt(0)) : magic;
    if (head.length < offset + bytes.length) return false;
    return bytes.every((b, i) => head[offset + i] === b);
  };
  if (at(4, 'ftyp')) return 'mp4';
  if (['moov', 'mdat', 'wide'].some((m) => at(4, m))) return 'quicktime';
  if (at(0, [0x1a, 0x45, 0xdf, 0xa3])) return 'matroska';
  if (at(0, 'RIFF') && at(8, 'AVI ')) return 'avi';
  if (at(0, 'FLV\x01')) return 'flv';
  if (at(0, 'OggS')) return 'ogg';
  // Two sync bytes one packet apart: a lone 0x47 ('G') is too common in text.
  if (head.length > 188 && head[0] === 0x47 && head[188] === 0x47) return 'mpeg-ts';
  if (head.length > 196 && head[4] === 0x47 && head[196] === 0x47) return 'm2ts';
  if (at(0, [0x00, 0x00, 0x01, 0xba])) return 'mpeg-ps';
  let nal;
  if (at(0, [0, 0, 0, 1])) nal = head[4];
  else if (at(0, [0, 0, 1])) nal = head[3];
  if (nal !== undefined && (nal & 0x80) === 0 && [7, 8, 9].includes(nal & 0x1f)) return 'h264';
  return null;
}

/**
 * Checks a picked file before upload. `ok: false` carries a reason a person
 * can act on.
 * @param {File} file @param {number} maxBytes
 */
export async function checkFile(file, maxBytes) {
  if (file.size === 0) return { ok: false, reason: 'the file is empty' };
  if (maxBytes && file.size > maxBytes) {
    return { ok: false, reason: `the file is larger than the limit of ${maxBytes} bytes` };
  }
  const head = new Uint8Array(await file.slice(0, SNIFF_LEN).arrayBuffer());
  const container = sniff(head);
  if (!container) {
    return { ok: false, reason: `the file's first bytes match no supported container; accepted: ${ACCEPTED}` };
  }
  return { ok: true, container };
}
