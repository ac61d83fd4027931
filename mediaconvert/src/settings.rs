//! Plan → MediaConvert job settings. Pure: no client, no I/O.
//!
//! Output layout under the video's prefix (differences from the GStreamer
//! backend's `hls/<rung>/index.m3u8` + `seg_NNNNN.ts`, forced by how
//! MediaConvert names files: `<destination base><name modifier>`):
//!
//! | what | GStreamer backend | MediaConvert backend |
//! |---|---|---|
//! | master playlist | `hls/master.m3u8` | `hls/master.m3u8` (same) |
//! | rung playlist | `hls/720p/index.m3u8` | `hls/master_720p.m3u8` |
//! | rung segments | `hls/720p/seg_00001.ts` | `hls/master_720p_00001.ts` |
//! | audio | `hls/audio/index.m3u8` | `hls/master_audio.m3u8` + `_NNNNN.ts` |
//! | poster | `thumbs/poster.jpg` | frame captures `thumbs/poster.NNNNNNN.jpg`, the chosen one copied to `thumbs/poster.jpg` by [`crate::outputs`] |
//!
//! `SINGLE_DIRECTORY` keeps every name derivable from the name modifier;
//! registration follows the master playlist's URIs, so it does not depend
//! on the layout either way.

use aws_sdk_mediaconvert::types::{
    AacCodecProfile, AacCodingMode, AacRateControlMode, AacRawFormat, AacSettings,
    AacSpecification, AudioCodec, AudioCodecSettings, AudioDefaultSelection, AudioDescription,
    AudioSelector, ContainerSettings, ContainerType, FileGroupSettings, FrameCaptureSettings,
    H264CodecLevel, H264CodecProfile, H264FramerateControl, H264FramerateConversionAlgorithm,
    H264GopSizeUnits, H264InterlaceMode, H264ParControl, H264RateControlMode,
    H264SceneChangeDetect, H264Settings, HlsAudioOnlyContainer, HlsAudioTrackType,
    HlsCodecSpecification, HlsDirectoryStructure, HlsGroupSettings, HlsManifestDurationFormat,
    HlsOutputSelection, HlsSegmentControl, HlsSegmentLengthControl, HlsSettings,
    HlsStreamInfResolution, Input, InputRotate, InputTimecodeSource, JobSettings, M3u8Settings,
    Output, OutputGroup, OutputGroupSettings, OutputGroupType, OutputSettings, ScalingBehavior,
    VideoCodec, VideoCodecSettings, VideoDescription, VideoSelector,
};
use vod_plan::{AudioRendition, H264Profile, Packaging, Plan, Rung};

use crate::MediaConvertError;

/// Base name of the HLS destination: MediaConvert writes `master.m3u8`.
pub const HLS_BASENAME: &str = "master";
/// Base name of the frame captures (`poster.0000000.jpg`, …).
pub const POSTER_BASENAME: &str = "poster";
const AUDIO_SELECTOR: &str = "Audio Selector 1";
const POSTER_QUALITY: i32 = 85;

/// Where the job reads and writes, as `s3://bucket/key` URIs.
#[derive(Debug, Clone)]
pub struct Locations {
    /// The source object.
    pub input: String,
    /// The video's output prefix, ending in `/` (`s3://outputs/videos/<id>/`).
    pub output_prefix: String,
}

fn int(what: &str, v: u64, min: i64, max: i64) -> Result<i32, MediaConvertError> {
    i64::try_from(v)
        .ok()
        .filter(|v| (min..=max).contains(v))
        .and_then(|v| i32::try_from(v).ok())
        .ok_or_else(|| MediaConvertError::UnsupportedPlan {
            detail: format!("{what} = {v} is outside MediaConvert's range {min}..={max}"),
        })
}

fn name_modifier(name: &str) -> String {
    format!("_{name}")
}

/// The job settings for `plan`: one HLS group (every rung + the alternate
/// audio rendition) and, for video, a frame-capture group for the poster.
pub fn job_settings(plan: &Plan, at: &Locations) -> Result<JobSettings, MediaConvertError> {
    plan.validate()
        .map_err(|e| MediaConvertError::UnsupportedPlan {
            detail: e.to_string(),
        })?;
    if !at.output_prefix.starts_with("s3://") || !at.output_prefix.ends_with('/') {
        return Err(MediaConvertError::UnsupportedPlan {
            detail: format!(
                "output prefix {:?} is not an s3:// prefix ending in /",
                at.output_prefix
            ),
        });
    }
    let mut input = Input::builder()
        .file_input(&at.input)
        .timecode_source(InputTimecodeSource::Zerobased);
    if !plan.video.is_empty() {
        // AUTO applies the rotation metadata, as our plan's orientation does.
        input = input.video_selector(VideoSelector::builder().rotate(InputRotate::Auto).build());
    }
    if plan.audio.is_some() {
        input = input.audio_selectors(
            AUDIO_SELECTOR,
            AudioSelector::builder()
                .default_selection(AudioDefaultSelection::Default)
                .build(),
        );
    }
    let mut settings = JobSettings::builder()
        .inputs(input.build())
        .output_groups(hls_group(plan, at)?);
    if let Some(poster) = poster_group(plan, at)? {
        settings = settings.output_groups(poster);
    }
    Ok(settings.build())
}

fn hls_group(plan: &Plan, at: &Locations) -> Result<OutputGroup, MediaConvertError> {
    // TS segments in an HLS group: the only packaging plans ask for today.
    let Packaging::HlsTs = plan.packaging;
    let segment = plan.segment_target_s.round() as u64;
    let hls = HlsGroupSettings::builder()
        .destination(format!("{}hls/{HLS_BASENAME}", at.output_prefix))
        .segment_length(int("segment length", segment, 1, i64::from(i32::MAX))?)
        .min_segment_length(0)
        // GOP-aligned cuts: every rung's segments start on the same keyframe.
        .segment_length_control(HlsSegmentLengthControl::GopMultiple)
        .segment_control(HlsSegmentControl::SegmentedFiles)
        .manifest_duration_format(HlsManifestDurationFormat::FloatingPoint)
        .directory_structure(HlsDirectoryStructure::SingleDirectory)
        .output_selection(HlsOutputSelection::ManifestsAndSegments)
        .codec_specification(HlsCodecSpecification::Rfc6381)
        .stream_inf_resolution(HlsStreamInfResolution::Include)
        .build();
    let mut group = OutputGroup::builder().name("HLS").output_group_settings(
        OutputGroupSettings::builder()
            .r#type(OutputGroupType::HlsGroupSettings)
            .hls_group_settings(hls)
            .build(),
    );
    let audio_group = plan.audio.as_ref().map(|a| a.group_id.as_str());
    for rung in &plan.video {
        group = group.outputs(video_output(rung, audio_group)?);
    }
    if let Some(a) = &plan.audio {
        group = group.outputs(audio_output(a, plan.video.is_empty())?);
    }
    Ok(group.build())
}

fn m3u8_container() -> ContainerSettings {
    ContainerSettings::builder()
        .container(ContainerType::M3U8)
        .m3u8_settings(M3u8Settings::builder().build())
        .build()
}

fn video_output(rung: &Rung, audio_group: Option<&str>) -> Result<Output, MediaConvertError> {
    let gop_frames = u64::from(rung.gop_frames);
    let vod_plan::VideoCodec::H264 = rung.codec;
    let profile = match rung.profile {
        H264Profile::Baseline => H264CodecProfile::Baseline,
        H264Profile::Main => H264CodecProfile::Main,
        H264Profile::High => H264CodecProfile::High,
    };
    let h264 = H264Settings::builder()
        .codec_profile(profile)
        .codec_level(H264CodecLevel::Auto)
        .rate_control_mode(H264RateControlMode::Vbr)
        .bitrate(int("bitrate", rung.bitrate_bps, 1000, 1_152_000_000)?)
        .max_bitrate(int("max bitrate", rung.maxrate_bps, 1000, 1_152_000_000)?)
        .hrd_buffer_size(int("HRD buffer", rung.bufsize_bits, 0, 1_152_000_000)?)
        // In frames, as the plan counts them: the same keyframe timestamps
        // on every rung whatever MediaConvert rounds seconds to.
        .gop_size(gop_frames as f64)
        .gop_size_units(H264GopSizeUnits::Frames)
        .gop_closed_cadence(1)
        .min_i_interval(0)
        .scene_change_detect(H264SceneChangeDetect::Disabled)
        .framerate_control(H264FramerateControl::Specified)
        .framerate_numerator(int(
            "fps numerator",
            rung.fps_num.into(),
            1,
            i32::MAX.into(),
        )?)
        .framerate_denominator(int(
            "fps denominator",
            rung.fps_den.into(),
            1,
            i32::MAX.into(),
        )?)
        .framerate_conversion_algorithm(H264FramerateConversionAlgorithm::DuplicateDrop)
        .interlace_mode(H264InterlaceMode::Progressive)
        .par_control(H264ParControl::Specified)
        .par_numerator(1)
        .par_denominator(1)
        .build();
    let video = VideoDescription::builder()
        .width(int("width", rung.width.into(), 32, 8192)?)
        .height(int("height", rung.height.into(), 32, 8192)?)
        .scaling_behavior(ScalingBehavior::Default)
        .codec_settings(
            VideoCodecSettings::builder()
                .codec(VideoCodec::H264)
                .h264_settings(h264)
                .build(),
        )
        .build();
    let mut hls = HlsSettings::builder();
    if let Some(group) = audio_group {
        hls = hls.audio_rendition_sets(group);
    }
    Ok(Output::builder()
        .name_modifier(name_modifier(&rung.name))
        .container_settings(m3u8_container())
        .video_description(video)
        .output_settings(OutputSettings::builder().hls_settings(hls.build()).build())
        .build())
}

fn audio_output(a: &AudioRendition, audio_only: bool) -> Result<Output, MediaConvertError> {
    let vod_plan::AudioCodec::AacLc = a.codec;
    if a.channels != 2 {
        return Err(MediaConvertError::UnsupportedPlan {
            detail: format!("{} audio channels (only stereo is mapped)", a.channels),
        });
    }
    let aac = AacSettings::builder()
        .codec_profile(AacCodecProfile::Lc)
        .coding_mode(AacCodingMode::CodingMode20)
        .rate_control_mode(AacRateControlMode::Cbr)
        .bitrate(int("audio bitrate", a.bitrate_bps, 6000, 1_024_000)?)
        .sample_rate(int("sample rate", a.sample_rate.into(), 8000, 96_000)?)
        .raw_format(AacRawFormat::None)
        .specification(AacSpecification::Mpeg4)
        .build();
    let description = AudioDescription::builder()
        .audio_source_name(AUDIO_SELECTOR)
        .codec_settings(
            AudioCodecSettings::builder()
                .codec(AudioCodec::Aac)
                .aac_settings(aac)
                .build(),
        )
        .build();
    // With video the audio is an alternate rendition in its group; alone it
    // is the only variant stream.
    let hls = if audio_only {
        HlsSettings::builder().audio_track_type(HlsAudioTrackType::AudioOnlyVariantStream)
    } else {
        HlsSettings::builder()
            .audio_group_id(&a.group_id)
            .audio_track_type(HlsAudioTrackType::AlternateAudioAutoSelectDefault)
    };
    Ok(Output::builder()
        .name_modifier(name_modifier(&a.name))
        .container_settings(m3u8_container())
        .audio_descriptions(description)
        .output_settings(
            OutputSettings::builder()
                .hls_settings(
                    hls.audio_only_container(HlsAudioOnlyContainer::M2Ts)
                        .build(),
                )
                .build(),
        )
        .build())
}

/// Two frame captures, at 0 s and at the plan's poster time (whole seconds,
/// the finest a capture rate of 1/N fps allows); the later one is the poster.
fn poster_group(plan: &Plan, at: &Locations) -> Result<Option<OutputGroup>, MediaConvertError> {
    let (Some(spec), false) = (&plan.thumbnails, plan.video.is_empty()) else {
        return Ok(None);
    };
    let every_s = spec.poster_at_s.round().max(1.0) as u64;
    let capture = FrameCaptureSettings::builder()
        .framerate_numerator(1)
        .framerate_denominator(int("poster interval", every_s, 1, i32::MAX.into())?)
        .max_captures(2)
        .quality(POSTER_QUALITY)
        .build();
    let video = VideoDescription::builder()
        .width(int("poster width", spec.poster_width.into(), 32, 8192)?)
        .height(int("poster height", spec.poster_height.into(), 32, 8192)?)
        .scaling_behavior(ScalingBehavior::Default)
        .codec_settings(
            VideoCodecSettings::builder()
                .codec(VideoCodec::FrameCapture)
                .frame_capture_settings(capture)
                .build(),
        )
        .build();
    let output = Output::builder()
        .container_settings(
            ContainerSettings::builder()
                .container(ContainerType::Raw)
                .build(),
        )
        .video_description(video)
        .build();
    let files = FileGroupSettings::builder()
        .destination(format!("{}thumbs/{POSTER_BASENAME}", at.output_prefix))
        .build();
    Ok(Some(
        OutputGroup::builder()
            .name("Poster")
            .output_group_settings(
                OutputGroupSettings::builder()
                    .r#type(OutputGroupType::FileGroupSettings)
                    .file_group_settings(files)
                    .build(),
            )
            .outputs(output)
            .build(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rung(name: &str, w: u32, h: u32, bitrate: u64) -> Rung {
        Rung {
            name: name.into(),
            width: w,
            height: h,
            codec: vod_plan::VideoCodec::H264,
            profile: H264Profile::High,
            bitrate_bps: bitrate,
            maxrate_bps: bitrate * 107 / 100,
            bufsize_bits: bitrate * 3 / 2,
            fps_num: 30,
            fps_den: 1,
            gop_frames: 60,
        }
    }

    fn plan(video: Vec<Rung>) -> Plan {
        Plan {
            version: vod_plan::PLAN_VERSION,
            container: String::new(),
            duration_s: 30.0,
            orientation: vod_plan::Orientation::Rotate0,
            video,
            audio: None,
            segment_target_s: 6.0,
            gop_s: 2.0,
            thumbnails: None,
            packaging: Packaging::HlsTs,
            chunks: None,
        }
    }

    fn at() -> Locations {
        Locations {
            input: "s3://in/sources/x/source.mp4".into(),
            output_prefix: "s3://out/videos/x/".into(),
        }
    }

    #[test]
    fn values_outside_mediaconvert_ranges_are_refused_not_clamped() {
        let tiny = plan(vec![rung("16p", 28, 16, 100_000)]);
        let e = job_settings(&tiny, &at()).unwrap_err();
        assert_eq!(e.code(), "mediaconvert.unsupported_plan");
        assert!(e.to_string().contains("width = 28"), "{e}");

        let huge = plan(vec![rung("1080p", 1920, 1080, 2_000_000_000)]);
        let e = job_settings(&huge, &at()).unwrap_err();
        assert!(e.to_string().contains("bitrate"), "{e}");

        let mut bad_prefix = at();
        bad_prefix.output_prefix = "s3://out/videos/x".into();
        assert!(job_settings(&plan(vec![rung("360p", 640, 360, 500_000)]), &bad_prefix).is_err());
    }

    #[test]
    fn video_only_plan_has_no_audio_selector_or_output() {
        let s = job_settings(&plan(vec![rung("360p", 640, 360, 500_000)]), &at()).unwrap();
        assert!(s.inputs()[0].audio_selectors().is_none());
        let outputs = s.output_groups()[0].outputs();
        assert_eq!(outputs.len(), 1);
        assert!(outputs[0].audio_descriptions().is_empty());
        // No thumbnails in this plan: no frame-capture group.
        assert_eq!(s.output_groups().len(), 1);
    }
}
