//! What we know about a source. Plain serde data so the planner can be tested
//! on recorded discoverer output (tests/fixtures/probe/*.json).

use serde::{Deserialize, Serialize};

use crate::error::{PlanError, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Typefind caps name of the whole file, e.g. `video/quicktime`.
    pub container: String,
    pub duration_s: f64,
    pub video: Option<VideoStream>,
    pub audio: Option<AudioStream>,
    /// GStreamer version that produced this probe, for recorded fixtures.
    #[serde(default)]
    pub gst_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoStream {
    /// Caps name, e.g. `video/x-h264`.
    pub codec: String,
    pub profile: Option<String>,
    /// Coded size as the decoder outputs it, before rotation.
    pub width: u32,
    pub height: u32,
    pub par_n: u32,
    pub par_d: u32,
    pub orientation: Orientation,
    /// 0/1 when the container does not declare a rate.
    pub fps_num: u32,
    pub fps_den: u32,
    pub variable_fps: bool,
    pub pixel_format: Option<String>,
    pub bit_depth: Option<u32>,
    pub interlaced: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioStream {
    pub codec: String,
    pub channels: u32,
    pub sample_rate: u32,
}

/// GStreamer's `image-orientation` tag values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Orientation {
    #[default]
    #[serde(rename = "rotate-0")]
    Rotate0,
    #[serde(rename = "rotate-90")]
    Rotate90,
    #[serde(rename = "rotate-180")]
    Rotate180,
    #[serde(rename = "rotate-270")]
    Rotate270,
    #[serde(rename = "flip-rotate-0")]
    FlipRotate0,
    #[serde(rename = "flip-rotate-90")]
    FlipRotate90,
    #[serde(rename = "flip-rotate-180")]
    FlipRotate180,
    #[serde(rename = "flip-rotate-270")]
    FlipRotate270,
}

impl Orientation {
    pub fn from_tag(tag: &str) -> Self {
        match tag {
            "rotate-90" => Self::Rotate90,
            "rotate-180" => Self::Rotate180,
            "rotate-270" => Self::Rotate270,
            "flip-rotate-0" => Self::FlipRotate0,
            "flip-rotate-90" => Self::FlipRotate90,
            "flip-rotate-180" => Self::FlipRotate180,
            "flip-rotate-270" => Self::FlipRotate270,
            _ => Self::Rotate0,
        }
    }

    pub fn swaps_dimensions(self) -> bool {
        matches!(
            self,
            Self::Rotate90 | Self::Rotate270 | Self::FlipRotate90 | Self::FlipRotate270
        )
    }

    /// `videoflip video-direction` nick that displays the frame upright.
    pub fn videoflip_direction(self) -> &'static str {
        match self {
            Self::Rotate0 => "identity",
            Self::Rotate90 => "90r",
            Self::Rotate180 => "180",
            Self::Rotate270 => "90l",
            Self::FlipRotate0 => "horiz",
            Self::FlipRotate90 => "ul-lr",
            Self::FlipRotate180 => "vert",
            Self::FlipRotate270 => "ur-ll",
        }
    }
}

impl VideoStream {
    /// Displayed size: pixel aspect ratio applied, then rotation.
    pub fn display_size(&self) -> (f64, f64) {
        let par = if self.par_n > 0 && self.par_d > 0 {
            f64::from(self.par_n) / f64::from(self.par_d)
        } else {
            1.0
        };
        let (w, h) = (f64::from(self.width) * par, f64::from(self.height));
        if self.orientation.swaps_dimensions() {
            (h, w)
        } else {
            (w, h)
        }
    }

    pub fn fps(&self) -> Option<f64> {
        (self.fps_num > 0 && self.fps_den > 0)
            .then(|| f64::from(self.fps_num) / f64::from(self.fps_den))
    }
}

/// Containers we demux. Anything else, notably playlists (HLS, DASH), SDP,
/// URI lists, images and text, is refused before a decoder ever sees it:
/// an upload is media, never a set of references to follow.
const ALLOWED_CONTAINERS: &[&str] = &[
    "video/quicktime",
    "audio/x-m4a",
    "video/x-matroska",
    "video/webm",
    "audio/webm",
    "video/mpegts",
    "video/x-msvideo",
    "video/x-flv",
    "application/ogg",
    "video/ogg",
    "audio/ogg",
    "video/x-h264",
    "video/x-h265",
    "video/mpeg",
    "audio/mpeg",
    "audio/x-flac",
    "audio/x-wav",
];

/// Accepts or refuses a typefind result. Pure so it is table-tested.
pub fn check_container(caps_name: &str) -> Result<()> {
    if ALLOWED_CONTAINERS.contains(&caps_name) {
        return Ok(());
    }
    let friendly = match caps_name {
        "application/x-hls" => "HLS playlist",
        "application/dash+xml" => "DASH manifest",
        "application/sdp" => "SDP description",
        "text/uri-list" => "list of links",
        n if n.starts_with("image/") => "image",
        n if n.starts_with("text/") => "text",
        n if n.contains("xml") => "XML document",
        other => other,
    };
    Err(PlanError::UnsupportedContainer {
        container: friendly.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_allow_list() {
        let cases = [
            ("video/quicktime", Ok(())),
            ("video/x-matroska", Ok(())),
            ("video/mpegts", Ok(())),
            ("application/x-hls", Err("HLS playlist")),
            ("application/sdp", Err("SDP description")),
            ("text/uri-list", Err("list of links")),
            ("image/png", Err("image")),
            ("text/plain", Err("text")),
            ("application/zip", Err("application/zip")),
        ];
        for (caps, want) in cases {
            let got = check_container(caps).map_err(|e| match e {
                PlanError::UnsupportedContainer { container } => container,
                other => other.to_string(),
            });
            assert_eq!(got, want.map_err(str::to_owned), "{caps}");
        }
    }

    #[test]
    fn rotation_swaps_display_size() {
        let mut v = VideoStream {
            codec: "video/x-h264".into(),
            profile: None,
            width: 1280,
            height: 720,
            par_n: 1,
            par_d: 1,
            orientation: Orientation::from_tag("rotate-90"),
            fps_num: 30,
            fps_den: 1,
            variable_fps: false,
            pixel_format: None,
            bit_depth: None,
            interlaced: false,
        };
        assert_eq!(v.display_size(), (720.0, 1280.0));
        v.orientation = Orientation::Rotate180;
        assert_eq!(v.display_size(), (1280.0, 720.0));
        v.par_n = 4;
        v.par_d = 3;
        let (w, h) = v.display_size();
        assert!((w - 1280.0 * 4.0 / 3.0).abs() < 1e-9 && h == 720.0);
    }
}
