//! Where a graph reads its source, and which streams it decodes.

use gst::prelude::*;
use gstreamer as gst;

use super::build::make;
use crate::chunked::Input;
use crate::error::Result;

/// `filesrc` for a local file; `souphttpsrc` for a URL, whose seeks become
/// ranged GETs, so a chunk reads about its part of the file.
pub(super) fn element(input: &Input) -> Result<gst::Element> {
    match input {
        Input::File(path) => {
            let src = make("filesrc")?;
            src.set_property("location", path.to_string_lossy().to_string());
            Ok(src)
        }
        Input::Url(url) => {
            let src = make("souphttpsrc")?;
            src.set_property("location", url);
            src.set_property("retries", 5i32);
            Ok(src)
        }
    }
}

/// Stops `decodebin` at the encoded form of streams of `kind` (`audio/` or
/// `video/`) that a task does not use: exposed undecoded, they go to a
/// fakesink for the cost of demuxing only. Container caps (`video/quicktime`)
/// have no decoder and are plugged on as usual.
pub(super) fn skip_decoding(decode: &gst::Element, kind: &'static str) {
    let decoders = gst::ElementFactory::factories_with_type(
        gst::ElementFactoryType::DECODER,
        gst::Rank::MARGINAL,
    );
    let decoders: Vec<gst::ElementFactory> = decoders.into_iter().collect();
    decode.connect("autoplug-continue", false, move |args| {
        let Some(caps) = args.get(2).and_then(|v| v.get::<gst::Caps>().ok()) else {
            return Some(true.to_value());
        };
        let skip = caps
            .structure(0)
            .is_some_and(|s| s.name().starts_with(kind) && !s.name().ends_with("x-raw"))
            && decoders.iter().any(|f| f.can_sink_any_caps(&caps));
        Some((!skip).to_value())
    });
}
