//! Pins the whole CreateJob body for the representative plan. Any change
//! of the job settings fails here until the golden file is rewritten with
//! `UPDATE_GOLDEN=1` (and the diff reviewed).

use crate::{canonical, captured_create_job, plan_1080p};

const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/golden/create_job_1080p.json"
);

#[tokio::test]
async fn create_job_1080p_matches_the_golden_file() {
    let body = captured_create_job(&plan_1080p()).await;
    let got = serde_json::to_string_pretty(&canonical(&body)).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(GOLDEN, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(GOLDEN)
        .unwrap_or_else(|e| panic!("{GOLDEN}: {e} (create it with UPDATE_GOLDEN=1)"));
    if got != want {
        let first = got
            .lines()
            .zip(want.lines())
            .enumerate()
            .find(|(_, (g, w))| g != w)
            .map(|(i, (g, w))| format!("line {}: got {g:?}, golden {w:?}", i + 1))
            .unwrap_or_else(|| "lengths differ".into());
        panic!("the CreateJob body changed ({first}); review and rerun with UPDATE_GOLDEN=1");
    }
}
