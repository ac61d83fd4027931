//! The output frame grid and what is picked on it. Pure, so a chunk can
//! work out what the single-pass graph would have done before its first
//! frame (which storyboard tile comes next, which frame is the poster)
//! without decoding anything before its start.

/// Frame `i` of an output rate sits at `origin + offset(i)`, rounded down
/// to the nanosecond as `videorate` does (`gst_util_uint64_scale`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grid {
    num: u64,
    den: u64,
}

const NS: u128 = 1_000_000_000;

impl Grid {
    pub(crate) fn new(num: u32, den: u32) -> Self {
        Self {
            num: u64::from(num.max(1)),
            den: u64::from(den.max(1)),
        }
    }

    /// Nanoseconds from frame 0 to frame `i`.
    pub(crate) fn offset(&self, i: u64) -> u64 {
        let ns = u128::from(i) * u128::from(self.den) * NS / u128::from(self.num);
        u64::try_from(ns).unwrap_or(u64::MAX)
    }

    /// The last frame at or before `t` nanoseconds from frame 0.
    pub(crate) fn floor_index(&self, t: u64) -> u64 {
        let guess = u128::from(t) * u128::from(self.num) / (u128::from(self.den) * NS);
        let mut i = u64::try_from(guess).unwrap_or(u64::MAX);
        // Rounding down in `offset` can put the next frame at `t` too.
        while self.offset(i + 1) <= t {
            i += 1;
        }
        while i > 0 && self.offset(i) > t {
            i -= 1;
        }
        i
    }

    /// The frame nearest `t` (a timestamp off the grid by rounding).
    pub(crate) fn nearest(&self, t: u64) -> u64 {
        let i = self.floor_index(t);
        let (below, above) = (t - self.offset(i), self.offset(i + 1).saturating_sub(t));
        if above < below { i + 1 } else { i }
    }
}

/// The storyboard's frame picker as the single-pass graph runs it
/// (`graph::build`): a frame is a tile when its time from the first frame,
/// plus a millisecond of slack, reaches the next interval mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TilePicker {
    interval_ns: u64,
    next: u64,
    /// Tiles picked so far: the index of the next one.
    pub picked: u32,
}

impl TilePicker {
    pub(crate) fn new(interval_s: u32) -> Self {
        Self {
            interval_ns: u64::from(interval_s.max(1)) * 1_000_000_000,
            next: 0,
            picked: 0,
        }
    }

    /// Whether the frame at `t` ns from frame 0 is a tile; frames must come
    /// in order.
    pub(crate) fn pick(&mut self, t: u64) -> bool {
        if t + 1_000_000 >= self.next {
            self.next = (t / self.interval_ns + 1) * self.interval_ns;
            self.picked += 1;
            true
        } else {
            false
        }
    }

    /// The picker's state after frames `0..first` of `grid`: what it would
    /// hold when a chunk starting at `first` begins.
    pub(crate) fn replayed(interval_s: u32, grid: Grid, first: u64) -> Self {
        // A frame's state depends on every earlier pick; walking the grid is
        // cheap (an hour at 60 fps is 216 000 steps of integer arithmetic).
        let mut p = Self::new(interval_s);
        for i in 0..first {
            p.pick(grid.offset(i));
        }
        p
    }
}

/// The poster's frame: the first at or after `at_s` (the single-pass
/// picker keeps the last frame it passes, and passes frame 0 only as a
/// fallback until that one comes).
pub(crate) fn poster_frame(grid: Grid, at_s: f64) -> u64 {
    let at = (at_s.max(0.0) * 1e9) as u64;
    let i = grid.floor_index(at);
    if grid.offset(i) >= at { i } else { i + 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_down_like_videorate() {
        let ntsc = Grid::new(30000, 1001);
        assert_eq!(ntsc.offset(1), 33_366_666);
        assert_eq!(ntsc.offset(3), 100_100_000);
        assert_eq!(Grid::new(25, 1).offset(50), 2_000_000_000);
    }

    #[test]
    fn nearest_and_floor_invert_offsets() {
        for grid in [Grid::new(30000, 1001), Grid::new(60, 1), Grid::new(24, 1)] {
            for i in [0u64, 1, 2, 59, 60, 1799, 100_000] {
                let t = grid.offset(i);
                assert_eq!(grid.floor_index(t), i);
                assert_eq!(grid.nearest(t), i);
                assert_eq!(grid.nearest(t + 1), i);
                assert_eq!(grid.nearest(t.saturating_sub(1)), i);
                assert_eq!(grid.floor_index(grid.offset(i + 1) - 1), i);
            }
        }
    }

    fn walk(interval: u32, grid: Grid, frames: u64) -> Vec<(u64, TilePicker)> {
        let mut p = TilePicker::new(interval);
        (0..frames)
            .map(|i| {
                let state = p.clone();
                p.pick(grid.offset(i));
                (i, state)
            })
            .collect()
    }

    #[test]
    fn a_replayed_picker_matches_one_that_saw_every_frame() {
        for (grid, interval) in [
            (Grid::new(30000, 1001), 1),
            (Grid::new(30, 1), 2),
            (Grid::new(25, 1), 3),
            (Grid::new(60, 1), 1),
        ] {
            for (i, state) in walk(interval, grid, 1000) {
                assert_eq!(
                    TilePicker::replayed(interval, grid, i),
                    state,
                    "{grid:?} {i}"
                );
            }
        }
    }

    #[test]
    fn the_poster_is_the_first_frame_at_or_after_its_time() {
        let g = Grid::new(30, 1);
        assert_eq!(poster_frame(g, 0.0), 0);
        assert_eq!(poster_frame(g, 1.0), 30);
        assert_eq!(poster_frame(g, 1.01), 31);
    }
}
