//! How a Redis failover behaves, measured (issue 13): the time from Redis
//! being back to the next job starting on a `vod-worker` process with the
//! production defaults (heartbeat 2 s × 3), next to the reference measured
//! in the same run: the time a job takes to start with Redis up.
//!
//! Each round: the worker idles; Redis (a server of this run's own, append-
//! only file on) is shut down for `OUTAGE` seconds; a job is recorded
//! meanwhile (its push is refused: it is stranded); Redis starts again on
//! the same data; the clock runs until the job's row says `running`.
//!
//!   bash tests/bench/redis_failover.sh [ROUNDS] [OUTAGE_SECS]

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark: a panic is the failure report"
)]

use std::time::{Duration, Instant};

use uuid::Uuid;
use vod_tests::TestEnv;
use vod_tests::redis_server::OwnRedis;
use vod_tests::worker::spawn_worker_process_with;

/// Records a transcode job of `video`; the push goes to Redis when it answers.
async fn enqueue(env: &TestEnv, video: Uuid, n: usize) -> Uuid {
    env.services
        .jobs
        .enqueue_transcode(&env.services.db, video, &format!("failover:{n}"))
        .await
        .unwrap()
        .id
}

/// Seconds from `since` until the job's row leaves `queued`.
async fn until_started(env: &TestEnv, job: Uuid, since: Instant) -> f64 {
    loop {
        let state: String = sqlx::query_scalar("SELECT state FROM jobs WHERE id = $1")
            .bind(job)
            .fetch_one(&env.services.db)
            .await
            .unwrap();
        if state != "queued" {
            return since.elapsed().as_secs_f64();
        }
        assert!(
            since.elapsed() < Duration::from_secs(120),
            "job {job} never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_done(env: &TestEnv, job: Uuid) {
    vod_tests::worker::wait_for_job(
        env,
        job,
        Duration::from_secs(120),
        vod_tests::worker::is_terminal,
    )
    .await;
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map_or(3, |a| a.parse().expect("ROUNDS"));
    let outage: u64 = args.next().map_or(20, |a| a.parse().expect("OUTAGE_SECS"));
    let mut redis = OwnRedis::start("failover-bench");
    let env = TestEnv::start_with_redis("failover_bench", &redis.url()).await;
    let clip = vod_tests::make_clip(
        &std::env::temp_dir().join(format!("vod-bench-{}", env.id)),
        "clip.mp4",
        2,
        320,
        240,
        true,
    );
    // The production defaults, not the tests' fast settings.
    let worker = spawn_worker_process_with(
        &env,
        "failover",
        &[
            ("VOD_WORKER_HEARTBEAT_SECS", "2"),
            ("VOD_WORKER_MISSED_HEARTBEATS", "3"),
        ],
    );
    let mut n = 0;
    // Warm-up: the worker has registered and finished one job.
    let warm = enqueue(&env, env.video_with_source("warm-up", &clip).await, n).await;
    wait_done(&env, warm).await;

    let (mut reference, mut failover) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        n += 1;
        // The reference: Redis up, an idle worker, a job pushed now.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let video = env.video_with_source(&format!("failover {n}"), &clip).await;
        let t = Instant::now();
        let j = enqueue(&env, video, n).await;
        reference.push(until_started(&env, j, t).await);
        wait_done(&env, j).await;

        n += 1;
        let video = env.video_with_source(&format!("failover {n}"), &clip).await;
        redis.stop();
        tokio::time::sleep(Duration::from_secs(outage / 2)).await;
        let j = enqueue(&env, video, n).await;
        let stranded: Option<String> =
            sqlx::query_scalar("SELECT queue_status FROM jobs WHERE id = $1")
                .bind(j)
                .fetch_one(&env.services.db)
                .await
                .unwrap();
        assert_eq!(stranded.as_deref(), Some("stranded"));
        tokio::time::sleep(Duration::from_secs(outage - outage / 2)).await;
        redis.start_again();
        let back = Instant::now();
        failover.push(until_started(&env, j, back).await);
        wait_done(&env, j).await;
        println!(
            "round {round}: job start with Redis up {:.2} s; after a {outage} s outage, \
             Redis back → stranded job running {:.2} s",
            reference[round - 1],
            failover[round - 1]
        );
    }
    println!(
        "median of {rounds}: reference (Redis up) {:.2} s; Redis back → next job running {:.2} s \
         (target ≤ 10 s)",
        median(&mut reference),
        median(&mut failover)
    );
    drop(worker);
    env.cleanup().await;
}
