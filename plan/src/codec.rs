//! Codecs and packagings a plan can ask for. Backends match on these enums
//! (the GStreamer graph picks its encoder and muxer, MediaConvert its codec
//! and container settings), so a new codec or packaging is a new variant
//! that every backend must handle or refuse.

use serde::{Deserialize, Serialize};

/// A video rendition's codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VideoCodec {
    H264,
}

/// H.264 profile of a rung.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum H264Profile {
    Baseline,
    Main,
    High,
}

impl H264Profile {
    /// The caps/`profile` name GStreamer and most tools use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Baseline => "baseline",
            Self::Main => "main",
            Self::High => "high",
        }
    }
}

/// An audio rendition's codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AudioCodec {
    /// AAC-LC (`mp4a.40.2`).
    AacLc,
}

impl AudioCodec {
    /// RFC 6381 `CODECS` string.
    pub fn codecs_string(self) -> &'static str {
        match self {
            Self::AacLc => AAC_LC_CODEC,
        }
    }
}

/// How renditions are segmented and listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Packaging {
    /// HLS with MPEG-TS segments (`hls/<rung>/seg_00001.ts`).
    #[default]
    HlsTs,
}

pub const AAC_LC_CODEC: &str = "mp4a.40.2";

/// `avc1.PPCCLL` from profile_idc, constraint flags and level_idc of the
/// SPS the encoder actually wrote.
pub fn avc1_codec(sps: [u8; 3]) -> String {
    format!("avc1.{:02x}{:02x}{:02x}", sps[0], sps[1], sps[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_strings() {
        assert_eq!(avc1_codec([0x64, 0x00, 0x28]), "avc1.640028");
        assert_eq!(AudioCodec::AacLc.codecs_string(), "mp4a.40.2");
        assert_eq!(H264Profile::High.as_str(), "high");
    }

    #[test]
    fn enums_serialize_as_snake_case_names() -> Result<(), serde_json::Error> {
        assert_eq!(serde_json::to_string(&VideoCodec::H264)?, "\"h264\"");
        assert_eq!(serde_json::to_string(&Packaging::HlsTs)?, "\"hls_ts\"");
        assert_eq!(serde_json::to_string(&AudioCodec::AacLc)?, "\"aac_lc\"");
        Ok(())
    }
}
