//! Batch manifests: a JSON array of rows or a CSV file with a header, each
//! row `key, title, description, tags`. Parsing is pure; a row that cannot
//! be read is an error for that row only, so good rows still go through.
//!
//! Keys are relative to the folder holding the manifest
//! (`ingest/batch/2026-11/list.csv` + `a.mp4` → `ingest/batch/2026-11/a.mp4`),
//! so a manifest can only name objects in its own folder tree.

use serde::Deserialize;

/// One listed object; metadata left out falls back to the object's S3 user
/// metadata, then its file name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub key: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Option<Tags>,
}

/// `["a", "b"]` or `"a,b"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Tags {
    List(Vec<String>),
    Joined(String),
}

impl Tags {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Self::List(v) => v,
            Self::Joined(s) => split_tags(&s),
        }
    }
}

fn split_tags(s: &str) -> Vec<String> {
    s.split(',').map(str::to_owned).collect()
}

/// Rows in file order; `Err` carries why that row was refused.
pub type Rows = Vec<Result<Row, String>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

impl Format {
    pub fn of(key: &str) -> Option<Self> {
        let lower = key.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Some(Self::Json)
        } else if lower.ends_with(".csv") {
            Some(Self::Csv)
        } else {
            None
        }
    }
}

/// The rows of a manifest, or why the manifest as a whole is unreadable.
pub fn parse(format: Format, bytes: &[u8]) -> Result<Rows, String> {
    match format {
        Format::Json => parse_json(bytes),
        Format::Csv => parse_csv(bytes),
    }
}

fn parse_json(bytes: &[u8]) -> Result<Rows, String> {
    let values: Vec<serde_json::Value> =
        serde_json::from_slice(bytes).map_err(|e| format!("not a JSON array of rows: {e}"))?;
    Ok(values
        .into_iter()
        .map(|v| serde_json::from_value::<Row>(v).map_err(|e| format!("bad row: {e}")))
        .collect())
}

const CSV_COLUMNS: [&str; 4] = ["key", "title", "description", "tags"];

fn parse_csv(bytes: &[u8]) -> Result<Rows, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| format!("unreadable CSV header: {e}"))?
        .clone();
    let mut index = [None; 4];
    for (i, name) in headers.iter().enumerate() {
        let name = name.to_ascii_lowercase();
        let Some(col) = CSV_COLUMNS.iter().position(|c| *c == name) else {
            return Err(format!(
                "unknown CSV column {name:?}; expected {}",
                CSV_COLUMNS.join(",")
            ));
        };
        index[col] = Some(i);
    }
    if index[0].is_none() {
        return Err("the CSV header has no `key` column".to_owned());
    }
    let rows = reader
        .records()
        .map(|record| {
            let record = record.map_err(|e| format!("bad CSV row: {e}"))?;
            let field = |col: usize| {
                index[col]
                    .and_then(|i| record.get(i))
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
            };
            Ok(Row {
                key: field(0).unwrap_or_default(),
                title: field(1),
                description: field(2),
                tags: field(3).map(Tags::Joined),
            })
        })
        .collect();
    Ok(rows)
}

/// The object a row names: its key joined to the manifest's folder.
pub fn resolve(manifest_key: &str, row_key: &str) -> Result<String, String> {
    let row_key = row_key.trim();
    if row_key.is_empty() {
        return Err("missing `key`".to_owned());
    }
    if row_key.starts_with('/') {
        return Err(format!(
            "key {row_key:?} must be relative to the manifest's folder"
        ));
    }
    let folder = manifest_key
        .rsplit_once('/')
        .map(|(dir, _)| dir)
        .unwrap_or_default();
    let key = format!("{folder}/{row_key}");
    vod_core::storage::validate_key(&key).map_err(|e| e.to_string())?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rows_are_parsed_one_by_one() {
        let rows = parse(
            Format::Json,
            br#"[{"key":"a.mp4","title":"A","tags":["x","y"]},
                 {"key":"b.mp4","tags":"p, q"},
                 {"key":"c.mp4","titel":"typo"}]"#,
        )
        .unwrap();
        assert_eq!(rows.len(), 3);
        let a = rows[0].as_ref().unwrap();
        assert_eq!(a.title.as_deref(), Some("A"));
        assert_eq!(a.tags.clone().unwrap().into_vec(), ["x", "y"]);
        let b = rows[1].as_ref().unwrap();
        assert_eq!(b.tags.clone().unwrap().into_vec(), ["p", " q"]);
        assert!(rows[2].as_ref().unwrap_err().contains("titel"));
        assert!(parse(Format::Json, b"{\"key\":1}").is_err());
    }

    #[test]
    fn csv_columns_are_found_by_header() {
        let csv = "tags,key,title\n\"a,b\",one.mp4,One\n,two.mp4,\nx,y,z,extra\n";
        let rows = parse(Format::Csv, csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 3);
        let one = rows[0].as_ref().unwrap();
        assert_eq!(one.key, "one.mp4");
        assert_eq!(one.title.as_deref(), Some("One"));
        assert_eq!(one.tags.clone().unwrap().into_vec(), ["a", "b"]);
        let two = rows[1].as_ref().unwrap();
        assert_eq!((two.title.clone(), two.tags.clone()), (None, None));
        assert!(rows[2].is_err(), "a row with an extra field is refused");
        assert!(parse(Format::Csv, b"key,colour\na,b\n").is_err());
        assert!(parse(Format::Csv, b"title\nA\n").is_err());
    }

    #[test]
    fn keys_resolve_inside_the_manifest_folder() {
        let m = "ingest/batch/2026/list.csv";
        assert_eq!(
            resolve(m, " clips/a b.mp4 ").unwrap(),
            "ingest/batch/2026/clips/a b.mp4"
        );
        for bad in ["", "/etc/passwd", "../x.mp4", "a//b.mp4"] {
            assert!(resolve(m, bad).is_err(), "{bad:?}");
        }
    }
}
