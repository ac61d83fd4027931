//! What the tasks of a chunked encode hand to the assembly: which segments
//! each produced (with the durations and sizes the playlists and BANDWIDTH
//! need), the SPS that names the codec, and which storyboard tiles and
//! poster. Plain data, stored as the tasks' results in PostgreSQL.

use serde::{Deserialize, Serialize};

/// One segment file of a rendition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentInfo {
    /// 0-based index in the rendition (the file is `seg_{index+1:05}.ts`).
    pub index: u32,
    pub duration_s: f64,
    pub bytes: u64,
}

/// The segments one task produced for one rendition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentRun {
    /// The rendition's name (`720p`, `audio`).
    pub name: String,
    /// profile_idc, constraint flags and level_idc of the first SPS (H.264).
    pub sps: Option<[u8; 3]>,
    pub segments: Vec<SegmentInfo>,
}

/// What an `encode_chunk` task produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkOutput {
    pub chunk: u32,
    /// One run per video rung, in the plan's order.
    pub renditions: Vec<SegmentRun>,
    /// Global indices of the storyboard tiles in its time range
    /// (`thumbs/tiles/tile_{index:05}.i420`).
    pub tiles: Vec<u32>,
    /// Whether it wrote `thumbs/poster.jpg` (the chunk that holds the
    /// poster's time).
    pub poster: bool,
}

/// What the `audio` task produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioOutput {
    pub run: SegmentRun,
}

/// The name of a rendition's `index`-th segment file.
pub fn segment_name(index: u32) -> String {
    format!("seg_{:05}.ts", u64::from(index) + 1)
}

/// The file of a storyboard tile (raw I420 at the plan's tile size).
pub fn tile_name(index: u32) -> String {
    format!("tile_{index:05}.i420")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_one_based_and_padded() {
        assert_eq!(segment_name(0), "seg_00001.ts");
        assert_eq!(segment_name(41), "seg_00042.ts");
        assert_eq!(tile_name(7), "tile_00007.i420");
    }
}
