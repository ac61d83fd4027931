//! Runs `tests/model_check.py` (the strict validator over botocore's
//! MediaConvert model) with the project's checks venv.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// `VOD_CHECKS_PYTHON`, else `<repo>/.state/venv-checks/bin/python`.
/// Missing python or botocore is a failure, never a skip.
pub fn python() -> PathBuf {
    let path = std::env::var_os("VOD_CHECKS_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.state/venv-checks/bin/python"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} does not exist: the MediaConvert model checks need python with botocore \
         (run `bash infra/up.sh`, or set VOD_CHECKS_PYTHON to a python that has botocore)",
        path.display()
    );
    path
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/model_check.py")
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct ModelError {
    pub path: String,
    pub kind: String,
    pub detail: String,
}

/// `mode` is `request`, `response` or `shape`; returns what the model
/// finds wrong with `body` (empty when it conforms).
pub fn check(mode: &str, name: &str, body: &Value) -> Vec<ModelError> {
    let file = std::env::temp_dir().join(format!(
        "vod-mc-model-{}-{}.json",
        std::process::id(),
        uuid_like()
    ));
    std::fs::write(&file, serde_json::to_vec(body).unwrap()).unwrap();
    let out = Command::new(python())
        .arg(script())
        .args([mode, name])
        .arg(&file)
        .output()
        .expect("running the model check");
    let _ = std::fs::remove_file(&file);
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "model_check.py could not run (exit {code:?}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors: Vec<ModelError> = serde_json::from_value(parsed["errors"].clone()).unwrap();
    assert_eq!(
        code == Some(0),
        errors.is_empty(),
        "exit code and report disagree"
    );
    errors
}

pub fn assert_conforms(mode: &str, name: &str, body: &Value) {
    let errors = check(mode, name, body);
    assert!(
        errors.is_empty(),
        "{mode} {name} does not conform to the MediaConvert model:\n{errors:#?}"
    );
}

fn uuid_like() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

pub fn botocore_version() -> String {
    let out = Command::new(python())
        .arg(script())
        .arg("version")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Whether the installed model defines `shape` (newer models add error shapes).
pub fn has_shape(shape: &str) -> bool {
    let out = Command::new(python())
        .arg(script())
        .args(["has", shape])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["exists"].as_bool().unwrap()
}
