//! The request the real SDK serializes, checked against botocore's model
//! by the strict validator, and the validator shown to catch each defect.

use serde_json::{Value, json};
use vod_plan::{Limits, Probe, plan};

use crate::model::{assert_conforms, botocore_version, check};
use crate::{captured_create_job, plan_1080p};

#[tokio::test]
async fn create_job_for_the_1080p_plan_conforms_to_the_model() {
    eprintln!("model: {}", botocore_version());
    let plan = plan_1080p();
    let body = captured_create_job(&plan).await;
    assert_conforms("request", "CreateJob", &body);

    // What the model cannot judge: the plan's numbers arrived intact.
    let groups = body["settings"]["outputGroups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "HLS + poster");
    let hls = &groups[0]["outputGroupSettings"]["hlsGroupSettings"];
    assert_eq!(hls["segmentLength"], 6);
    assert_eq!(hls["minSegmentLength"], 0);
    assert_eq!(hls["segmentControl"], "SEGMENTED_FILES");
    let outputs = groups[0]["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), plan.video.len() + 1);
    for (rung, out) in plan.video.iter().zip(outputs) {
        assert_eq!(out["nameModifier"], format!("_{}", rung.name));
        let vd = &out["videoDescription"];
        assert_eq!(
            (vd["width"].as_u64(), vd["height"].as_u64()),
            (Some(rung.width.into()), Some(rung.height.into()))
        );
        let h = &vd["codecSettings"]["h264Settings"];
        assert_eq!(h["bitrate"].as_u64(), Some(rung.bitrate_bps));
        assert_eq!(h["maxBitrate"].as_u64(), Some(rung.maxrate_bps));
        assert_eq!(h["hrdBufferSize"].as_u64(), Some(rung.bufsize_bits));
        assert_eq!(
            rung.maxrate_bps,
            (rung.bitrate_bps as f64 * 1.07).round() as u64
        );
        assert_eq!(h["gopSize"].as_f64(), Some(f64::from(rung.gop_frames)));
        assert_eq!(h["gopSizeUnits"], "FRAMES");
        assert_eq!(h["sceneChangeDetect"], "DISABLED");
        assert_eq!(h["framerateNumerator"].as_u64(), Some(rung.fps_num.into()));
        assert_eq!(
            out["outputSettings"]["hlsSettings"]["audioRenditionSets"],
            "aud"
        );
    }
    let audio = outputs.last().unwrap();
    let aac = &audio["audioDescriptions"][0]["codecSettings"]["aacSettings"];
    assert_eq!(
        (aac["bitrate"].as_u64(), aac["sampleRate"].as_u64()),
        (Some(128_000), Some(48_000))
    );
    assert_eq!(aac["codingMode"], "CODING_MODE_2_0");
    assert_eq!(
        audio["outputSettings"]["hlsSettings"]["audioGroupId"],
        "aud"
    );
    let poster = &groups[1]["outputs"][0]["videoDescription"];
    assert!(poster["width"].as_u64().unwrap() <= 1280);
}

fn fixture_plan(name: &str) -> vod_plan::Plan {
    let path = format!(
        "{}/../plan/tests/fixtures/probe/{name}.gst-1.22.0.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let probe: Probe = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    plan(&probe, &Limits::default()).unwrap()
}

#[tokio::test]
async fn every_recorded_source_shape_gives_a_conforming_request() {
    for name in [
        "m4a_aac_5.1_audio_only",
        "mkv_h264_444_641x359p25",
        "mp4_h264_1280x720p60_no_audio",
        "mp4_h264_aac_1280x720_rotate90_phone",
    ] {
        let body = captured_create_job(&fixture_plan(name)).await;
        let errors = check("request", "CreateJob", &body);
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
}

fn set(body: &mut Value, pointer: &str, v: Value) {
    *body
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer}")) = v;
}

#[tokio::test]
async fn the_validator_reports_each_kind_of_defect() {
    let mut body = captured_create_job(&plan_1080p()).await;
    let hls = "/settings/outputGroups/0/outputGroupSettings";
    set(&mut body, &format!("{hls}/type"), json!("HLS"));
    set(
        &mut body,
        &format!("{hls}/hlsGroupSettings/segmentLength"),
        json!(0),
    );
    set(
        &mut body,
        "/settings/outputGroups/0/outputs/0/videoDescription/width",
        json!("1920"),
    );
    set(
        &mut body,
        "/settings/outputGroups/1/outputs/0/videoDescription/codecSettings/frameCaptureSettings/quality",
        json!(101),
    );
    body.as_object_mut().unwrap().remove("role");
    let input = body
        .pointer_mut("/settings/inputs/0")
        .unwrap()
        .as_object_mut()
        .unwrap();
    let file = input.remove("fileInput").unwrap();
    input.insert("FileInput".into(), file);
    set(
        &mut body,
        &format!("{hls}/hlsGroupSettings/destination"),
        json!("https://example.invalid/x"),
    );

    let errors = check("request", "CreateJob", &body);
    let mut got: Vec<(String, String)> = errors
        .iter()
        .map(|e| (e.kind.clone(), e.path.clone()))
        .collect();
    got.sort();
    let og = "settings.outputGroups[0].outputGroupSettings";
    let mut want = vec![
        ("bad enum".to_owned(), format!("{og}.type")),
        ("out of range".to_owned(), format!("{og}.hlsGroupSettings.segmentLength")),
        ("wrong type".to_owned(), "settings.outputGroups[0].outputs[0].videoDescription.width".to_owned()),
        (
            "out of range".to_owned(),
            "settings.outputGroups[1].outputs[0].videoDescription.codecSettings.frameCaptureSettings.quality".to_owned(),
        ),
        ("missing required".to_owned(), "role".to_owned()),
        ("unknown member".to_owned(), "settings.inputs[0].FileInput".to_owned()),
        ("pattern".to_owned(), format!("{og}.hlsGroupSettings.destination")),
    ];
    want.sort();
    assert_eq!(got, want, "{errors:#?}");
    let unknown = errors.iter().find(|e| e.kind == "unknown member").unwrap();
    assert!(
        unknown.detail.contains("'fileInput'"),
        "points at the wire name: {unknown:?}"
    );
}

#[test]
fn members_bound_to_the_uri_may_not_travel_in_the_body() {
    // GetJob's `id` is a URI label: in a body it is misplaced.
    let errors = check("request", "GetJob", &json!({ "id": "x" }));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].kind, "misplaced member");
}
