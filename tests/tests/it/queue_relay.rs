//! The queue relay against the real Redis and PostgreSQL: tasks the queue
//! lost are found and pushed again, stranded tasks are pushed, a running
//! task whose worker and delivery are both gone is pushed for another
//! worker, and `retry` pushes a stranded job's task at once.

use std::time::Duration;

use reqwest::Method;
use uuid::Uuid;
use vod_core::db::{self, NewVideo};
use vod_core::jobs::relay::{Relay, RelaySettings};
use vod_core::store::jobs::get_job;
use vod_core::store::{JobRecord, QueueStatus, TaskRecord};
use vod_tests::TestEnv;
use vod_tests::api::{expect_error, spawn_api, status_json};

async fn queued_job(env: &TestEnv, n: usize) -> JobRecord {
    let id = Uuid::now_v7();
    db::insert_video(
        &env.services.db,
        &NewVideo {
            id,
            title: &format!("relay {n}"),
            description: "",
            tags: &[],
        },
    )
    .await
    .unwrap();
    sqlx::query("UPDATE videos SET source_key = 'sources/x/source.mp4' WHERE id = $1")
        .bind(id)
        .execute(&env.services.db)
        .await
        .unwrap();
    env.services
        .jobs
        .enqueue_transcode(&env.services.db, id, &format!("relay:{n}"))
        .await
        .unwrap()
}

/// What a Redis that lost its data (restarted without persistence, or a
/// failover that dropped the last writes) leaves: nothing of this test's queue.
async fn lose_the_queue(env: &TestEnv) {
    let conn = env.services.cache.connection();
    let pattern = format!("{}*", env.config.redis_prefix);
    let keys: Vec<String> = vod_core::cache::retrying(&conn, |mut c| {
        let cmd = redis::cmd("KEYS").arg(&pattern).clone();
        async move { cmd.query_async(&mut c).await }
    })
    .await
    .unwrap();
    if !keys.is_empty() {
        let _: () = vod_core::cache::retrying(&conn, |mut c| {
            let cmd = redis::cmd("DEL").arg(&keys).clone();
            async move { cmd.query_async(&mut c).await }
        })
        .await
        .unwrap();
    }
}

/// Ages a task's timestamps, as if it had been sitting there for a while.
async fn age(env: &TestEnv, task: Uuid) {
    sqlx::query(
        "UPDATE tasks SET pushed_at = pushed_at - interval '5 minutes',
             updated_at = updated_at - interval '5 minutes',
             heartbeat_at = heartbeat_at - interval '5 minutes' WHERE id = $1",
    )
    .bind(task)
    .execute(&env.services.db)
    .await
    .unwrap();
}

fn relay(env: &TestEnv) -> Relay {
    Relay::new(
        env.services.clone(),
        RelaySettings {
            audit_min_age: Duration::from_secs(60),
            lost_running_after: Duration::from_secs(60),
            ..RelaySettings::default()
        },
    )
}

/// The job's only task (its prepare task).
fn task_of(job: &JobRecord) -> TaskRecord {
    job.tasks[0].clone()
}

async fn task(env: &TestEnv, id: Uuid) -> TaskRecord {
    sqlx::query_as("SELECT * FROM tasks WHERE id = $1")
        .bind(id)
        .fetch_one(&env.services.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn tasks_the_queue_lost_are_found_and_pushed_again() {
    let env = TestEnv::start("relay_lost").await;
    let relay = relay(&env);
    let waiting = task_of(&queued_job(&env, 1).await);
    assert_eq!(waiting.queue_status, Some(QueueStatus::Waiting));
    let census = env.services.jobs.census().await.unwrap();
    assert!(census.holds(waiting.id), "{census:?}");

    // A second task, running under a worker that went silent five minutes ago.
    let running = task_of(&queued_job(&env, 2).await);
    sqlx::query(
        "UPDATE tasks SET state = 'running', worker = 'gone', heartbeat_at = now() WHERE id = $1",
    )
    .bind(running.id)
    .execute(&env.services.db)
    .await
    .unwrap();

    // Young tasks are not audited: they may be in flight.
    lose_the_queue(&env).await;
    let audit = relay.audit().await.unwrap();
    assert!(
        audit.lost_queued.is_empty() && audit.lost_running.is_empty(),
        "{audit:?}"
    );

    age(&env, waiting.id).await;
    age(&env, running.id).await;
    let audit = relay.audit().await.unwrap();
    assert_eq!(audit.lost_queued, [waiting.id]);
    assert_eq!(audit.lost_running, [running.id]);
    let lost = task(&env, waiting.id).await;
    assert_eq!(lost.queue_status, Some(QueueStatus::Stranded));
    let job = get_job(&env.services.db, lost.job_id)
        .await
        .unwrap()
        .unwrap();
    let job = vod_core::store::jobs::with_tasks(&env.services.db, job)
        .await
        .unwrap();
    assert_eq!(
        job.queue_status,
        Some(QueueStatus::Stranded),
        "the job shows it"
    );

    let pushed = relay.push_stranded().await.unwrap();
    assert_eq!(pushed, [waiting.id]);
    let census = env.services.jobs.census().await.unwrap();
    assert!(
        census.holds(waiting.id) && census.holds(running.id),
        "{census:?}"
    );
    let back = task(&env, waiting.id).await;
    assert_eq!(back.queue_status, Some(QueueStatus::Waiting));
    // Held now: a second audit finds nothing more to do.
    age(&env, waiting.id).await;
    let audit = relay.audit().await.unwrap();
    assert!(
        audit.lost_queued.is_empty() && audit.lost_running.is_empty(),
        "{audit:?}"
    );
    env.cleanup().await;
}

#[tokio::test]
async fn retry_pushes_a_stranded_jobs_task_at_once_and_leaves_a_waiting_one() {
    let env = TestEnv::start("relay_retry").await;
    let api = spawn_api(&env, |_| {}).await;
    let token = api.token("uploader").await;
    let job = queued_job(&env, 1).await;
    let retry = |video: Uuid| {
        api.request(
            Method::POST,
            &format!("/v1/videos/{video}/retry"),
            Some(&token),
        )
        .send()
    };

    let msg = expect_error(retry(job.video_id).await.unwrap(), 409, "http.conflict").await;
    assert!(msg.contains("wait for a worker"), "{msg}");

    lose_the_queue(&env).await;
    // Still marked waiting (no audit yet), but the queue does not hold it.
    let (status, body) = status_json(retry(job.video_id).await.unwrap()).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["job"]["id"], job.id.to_string());
    assert_eq!(body["job"]["queue_status"], "waiting", "{body}");
    assert_eq!(body["job"]["tasks"][0]["queue_status"], "waiting", "{body}");
    let census = env.services.jobs.census().await.unwrap();
    assert!(census.holds(task_of(&job).id));
    // The same job, not a new one.
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE video_id = $1")
        .bind(job.video_id)
        .fetch_one(&env.services.db)
        .await
        .unwrap();
    assert_eq!(jobs, 1);
    env.cleanup().await;
}
