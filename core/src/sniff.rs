//! Which container a file is, from its first bytes. File names and
//! Content-Type headers are chosen by the client; the bytes are not, and they
//! decide whether the worker's demuxers have a chance.

/// Bytes to collect before deciding (MPEG-TS needs its third sync byte at 376).
pub const SNIFF_LEN: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// ISO base media: MP4, MOV, M4V, 3GP.
    IsoBmff,
    /// Older QuickTime files that start with a movie or data atom, not `ftyp`.
    QuickTime,
    Matroska,
    MpegTs,
    /// Blu-ray style TS with a 4-byte timestamp before each 188-byte packet.
    M2ts,
    MpegPs,
    Avi,
    Flv,
    Ogg,
    H264AnnexB,
}

impl Container {
    pub fn name(self) -> &'static str {
        match self {
            Self::IsoBmff => "mp4",
            Self::QuickTime => "quicktime",
            Self::Matroska => "matroska",
            Self::MpegTs => "mpeg-ts",
            Self::M2ts => "m2ts",
            Self::MpegPs => "mpeg-ps",
            Self::Avi => "avi",
            Self::Flv => "flv",
            Self::Ogg => "ogg",
            Self::H264AnnexB => "h264",
        }
    }
}

pub const ACCEPTED: &str =
    "MP4/MOV, Matroska/WebM, MPEG-TS, MPEG-PS, AVI, FLV, Ogg or raw H.264 (Annex B)";

/// Why `head` (for which [`sniff`] found nothing) is refused, for people.
pub fn refusal(head: &[u8]) -> String {
    let what = if head.is_empty() {
        "the file is empty"
    } else {
        "the file's first bytes match no supported container"
    };
    format!("{what}; accepted: {ACCEPTED}")
}

/// The container `head` starts with, or `None`.
pub fn sniff(head: &[u8]) -> Option<Container> {
    let at = |offset: usize, magic: &[u8]| {
        head.get(offset..offset + magic.len())
            .is_some_and(|b| b == magic)
    };
    if at(4, b"ftyp") {
        return Some(Container::IsoBmff);
    }
    if [b"moov", b"mdat", b"wide"].iter().any(|m| at(4, *m)) {
        return Some(Container::QuickTime);
    }
    if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some(Container::Matroska);
    }
    if at(0, b"RIFF") && at(8, b"AVI ") {
        return Some(Container::Avi);
    }
    if at(0, b"FLV\x01") {
        return Some(Container::Flv);
    }
    if at(0, b"OggS") {
        return Some(Container::Ogg);
    }
    // Two sync bytes one packet apart: a lone 0x47 ('G') is too common in text.
    if head.len() > 188 && head[0] == 0x47 && head[188] == 0x47 {
        return Some(Container::MpegTs);
    }
    if head.len() > 196 && head[4] == 0x47 && head[196] == 0x47 {
        return Some(Container::M2ts);
    }
    if at(0, &[0x00, 0x00, 0x01, 0xBA]) {
        return Some(Container::MpegPs);
    }
    if is_annex_b_h264(head) {
        return Some(Container::H264AnnexB);
    }
    None
}

/// A start code followed by an access unit delimiter, SPS or PPS: how raw
/// encoder output begins.
fn is_annex_b_h264(head: &[u8]) -> bool {
    let nal = if head.starts_with(&[0, 0, 0, 1]) {
        head.get(4)
    } else if head.starts_with(&[0, 0, 1]) {
        head.get(3)
    } else {
        None
    };
    nal.is_some_and(|&b| b & 0x80 == 0 && matches!(b & 0x1F, 7..=9))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn padded(prefix: &[u8]) -> Vec<u8> {
        let mut v = prefix.to_vec();
        v.resize(SNIFF_LEN, 0xAB);
        v
    }

    fn ts(offset: usize, packet: usize) -> Vec<u8> {
        let mut v = vec![0u8; SNIFF_LEN];
        for i in (offset..SNIFF_LEN).step_by(packet) {
            v[i] = 0x47;
        }
        v
    }

    #[test]
    fn signatures() {
        let cases: Vec<(Vec<u8>, Option<Container>)> = vec![
            (
                padded(b"\0\0\0\x20ftypisom\0\0\x02\0"),
                Some(Container::IsoBmff),
            ),
            (padded(b"\0\0\0\x14ftypqt  "), Some(Container::IsoBmff)),
            (padded(b"\0\0\x01\0moov"), Some(Container::QuickTime)),
            (
                padded(&[0x1A, 0x45, 0xDF, 0xA3, 0x9F]),
                Some(Container::Matroska),
            ),
            (ts(0, 188), Some(Container::MpegTs)),
            (ts(4, 192), Some(Container::M2ts)),
            (padded(b"RIFF\x10\0\0\0AVI LIST"), Some(Container::Avi)),
            (padded(b"RIFF\x10\0\0\0WAVEfmt "), None),
            (padded(b"FLV\x01\x05"), Some(Container::Flv)),
            (padded(b"OggS\0\x02"), Some(Container::Ogg)),
            (padded(&[0, 0, 1, 0xBA, 0x44]), Some(Container::MpegPs)),
            (
                padded(&[0, 0, 0, 1, 0x09, 0xF0]),
                Some(Container::H264AnnexB),
            ),
            (
                padded(&[0, 0, 0, 1, 0x67, 0x42]),
                Some(Container::H264AnnexB),
            ),
            (padded(&[0, 0, 1, 0x68]), Some(Container::H264AnnexB)),
            // A start code followed by a slice is a stream cut mid-way, not a file start.
            (padded(&[0, 0, 0, 1, 0x41]), None),
            (padded(b"hello, this is a text file"), None),
            (padded(b"GET / HTTP/1.1\r\n"), None),
            (padded(b"\x89PNG\r\n\x1a\n"), None),
            (padded(b"%PDF-1.7"), None),
            (b"\0\0\0\x20fty".to_vec(), None),
            (Vec::new(), None),
        ];
        for (bytes, want) in cases {
            assert_eq!(sniff(&bytes), want, "{:?}", &bytes[..bytes.len().min(12)]);
        }
    }

    #[test]
    fn a_single_g_is_not_mpeg_ts() {
        let mut v = padded(b"Good morning");
        v[188] = b'x';
        assert_eq!(sniff(&v), None);
    }
}
