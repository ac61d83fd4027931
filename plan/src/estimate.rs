//! Time to ready of a chunked job for a number of workers, from what each
//! task costs: the prepare task first, then the chunk and audio tasks in
//! the order they are queued (every worker takes the next one when it is
//! free), then the assembly once all of them are done. Each task also pays
//! a dispatch delay (queue pickup, claim, source open). Pure list
//! scheduling, so the benchmark can predict 1–64 workers from measured
//! per-task times.

/// What each task of one job costs, seconds of wall time on one worker.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskCosts {
    pub prepare_s: f64,
    /// In queue order.
    pub chunks_s: Vec<f64>,
    pub audio_s: Option<f64>,
    pub assemble_s: f64,
    /// Added to every task: pickup, claim, opening the source.
    pub dispatch_s: f64,
}

/// When the job is ready, and how much worker time it used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub ready_s: f64,
    pub busy_s: f64,
}

/// Simulates `workers` workers (at least one) taking the job's tasks.
pub fn simulate(costs: &TaskCosts, workers: usize) -> Estimate {
    let workers = workers.max(1);
    let d = costs.dispatch_s.max(0.0);
    let prepared = costs.prepare_s + d;
    // Each worker's next free time; all are free once the plan exists.
    let mut free = vec![prepared; workers];
    let mut busy = costs.prepare_s + d;
    let middle = costs.chunks_s.iter().copied().chain(costs.audio_s);
    for cost in middle {
        let (slot, at) = free
            .iter()
            .copied()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, prepared));
        free[slot] = at + d + cost;
        busy += d + cost;
    }
    let all_done = free.iter().copied().fold(prepared, f64::max);
    let ready = all_done + d + costs.assemble_s;
    Estimate {
        ready_s: ready,
        busy_s: busy + d + costs.assemble_s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn costs(chunks: &[f64]) -> TaskCosts {
        TaskCosts {
            prepare_s: 2.0,
            chunks_s: chunks.to_vec(),
            audio_s: Some(3.0),
            assemble_s: 1.0,
            dispatch_s: 0.5,
        }
    }

    #[test]
    fn one_worker_runs_everything_in_a_row() {
        let e = simulate(&costs(&[10.0, 10.0]), 1);
        // 2.5 + 10.5 + 10.5 + 3.5 + 1.5
        assert!((e.ready_s - 28.5).abs() < 1e-9, "{e:?}");
        assert!((e.busy_s - 28.5).abs() < 1e-9);
    }

    #[test]
    fn more_workers_split_the_middle_and_the_slowest_chunk_bounds_it() {
        let c = costs(&[10.0, 10.0, 10.0, 10.0]);
        let two = simulate(&c, 2);
        // Two lanes: 10.5 + 10.5 (+ 3.5 audio on one): 2.5 + 24.5 + 1.5.
        assert!((two.ready_s - 28.5).abs() < 1e-9, "{two:?}");
        let many = simulate(&c, 64);
        assert!((many.ready_s - (2.5 + 10.5 + 1.5)).abs() < 1e-9, "{many:?}");
        // The same work is done whatever the number of workers.
        assert!((two.busy_s - many.busy_s).abs() < 1e-9);
        assert!(simulate(&c, 0).ready_s >= two.ready_s);
    }
}
