//! The MediaConvert backend against AWS's own API definition: requests
//! captured from the real SDK at a local stand-in endpoint, checked by the
//! strict model validator; status and error mapping from modelled answers;
//! the golden job settings.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic is the failure report"
)]

mod conformance;
mod golden;
mod model;
mod standin;
mod status;

use serde_json::Value;
use vod_mediaconvert::{JobRequest, Locations, job_settings};
use vod_plan::{Limits, Plan, Probe, plan};

/// The recorded probe of a real 1080p30 H.264/AAC file: 4 rungs + audio + poster.
pub fn plan_1080p() -> Plan {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../plan/tests/fixtures/probe/mp4_h264_aac_1920x1080p30.gst-1.22.0.json"
    );
    let probe: Probe = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let plan = plan(&probe, &Limits::default()).unwrap();
    assert_eq!(
        plan.video.len(),
        4,
        "the fixture must give the 4-rung ladder"
    );
    assert!(plan.audio.is_some() && plan.thumbnails.is_some());
    plan
}

pub fn locations() -> Locations {
    Locations {
        input: "s3://vod-sources/sources/0193a0c4-0000-7000-8000-000000000001/source.mp4".into(),
        output_prefix: "s3://vod-outputs/videos/0193a0c4-0000-7000-8000-000000000001/".into(),
    }
}

pub fn request(plan: &Plan) -> JobRequest {
    JobRequest {
        settings: job_settings(plan, &locations()).unwrap(),
        client_token: "job-0193a0c4-attempt-1".into(),
        user_metadata: vec![(
            "video_id".into(),
            "0193a0c4-0000-7000-8000-000000000001".into(),
        )],
    }
}

/// Submits `plan` through the real SDK client and returns the body the
/// stand-in received.
pub async fn captured_create_job(plan: &Plan) -> Value {
    let standin = standin::StandIn::start().await;
    let id = standin
        .client()
        .await
        .create_job(request(plan))
        .await
        .unwrap();
    assert_eq!(id, standin::JOB_ID);
    let requests = standin.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/2017-08-29/jobs")
    );
    // Signed with SigV4 for the mediaconvert service in the configured region.
    let auth = r.headers["authorization"].to_str().unwrap();
    assert!(
        auth.contains("/us-east-1/mediaconvert/aws4_request"),
        "{auth}"
    );
    r.body.clone().unwrap()
}

/// Sorted keys, so the golden file is stable whatever map order serde uses.
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let sorted: std::collections::BTreeMap<_, _> =
                m.iter().map(|(k, v)| (k.clone(), canonical(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}
