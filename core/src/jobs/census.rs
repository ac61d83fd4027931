//! What the Redis queue holds right now: the tasks waiting in apalis'
//! pending list and scheduled set, and the ones fetched by a worker (its
//! in-flight set). The relay compares this with the `queued` rows of
//! PostgreSQL to find tasks the queue lost (a refused push, a Redis that
//! restarted without its data, a failover that dropped the last writes).
//!
//! apalis keeps a message in a hash under its own id, so our task ids come
//! from decoding the messages. One Lua script reads every set
//! and the payloads at once: a task moving from the pending list to an
//! in-flight set (a fetch) between two separate reads could otherwise be
//! missed and pushed a second time.

use std::collections::HashSet;

use uuid::Uuid;

use super::{JobQueue, QueueError};
use crate::store::TaskMessage;

/// KEYS: pending list, scheduled set, workers set, payload hash.
/// ARGV[1]: the prefix of the workers' in-flight sets (`<prefix>:<worker>`).
/// Returns the payloads of every task found (HMGET in slices, since Lua's
/// `unpack` has a stack limit).
const CENSUS_LUA: &str = r"
local ids = redis.call('lrange', KEYS[1], 0, -1)
for _, id in ipairs(redis.call('zrange', KEYS[2], 0, -1)) do
    table.insert(ids, id)
end
for _, worker in ipairs(redis.call('zrange', KEYS[3], 0, -1)) do
    for _, id in ipairs(redis.call('smembers', ARGV[1] .. ':' .. worker)) do
        table.insert(ids, id)
    end
end
local payloads = {}
local slice = 500
for first = 1, #ids, slice do
    local last = math.min(first + slice - 1, #ids)
    local part = redis.call('hmget', KEYS[4], unpack(ids, first, last))
    for _, p in ipairs(part) do
        if p then
            table.insert(payloads, p)
        end
    end
end
return payloads
";

/// The task ids the queue holds (pending, scheduled or fetched by a worker).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Census {
    pub held: HashSet<Uuid>,
    /// Payloads that did not decode as a task message (another version,
    /// or damaged); counted so a growing number gets noticed.
    pub undecodable: usize,
}

impl Census {
    pub fn holds(&self, task_id: Uuid) -> bool {
        self.held.contains(&task_id)
    }
}

impl JobQueue {
    /// Reads what the queue holds; see the module documentation.
    pub async fn census(&self) -> Result<Census, QueueError> {
        let config = self.storage.get_config().clone();
        let script = redis::Script::new(CENSUS_LUA);
        let payloads: Vec<Vec<u8>> = crate::cache::retrying(&self.conn, |mut conn| {
            let mut invocation = script.prepare_invoke();
            invocation
                .key(config.active_jobs_list())
                .key(config.scheduled_jobs_set())
                .key(config.workers_set())
                .key(config.job_data_hash())
                .arg(config.inflight_jobs_set());
            async move { invocation.invoke_async(&mut conn).await }
        })
        .await
        .map_err(|e| QueueError::Backend(e.to_string()))?;
        Ok(decode(&payloads))
    }
}

fn decode(payloads: &[Vec<u8>]) -> Census {
    let mut census = Census::default();
    for raw in payloads {
        match serde_json::from_slice::<TaskMessage>(raw) {
            Ok(message) => {
                census.held.insert(message.task_id);
            }
            Err(_) => census.undecodable += 1,
        }
    }
    census
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_decode_to_task_ids_and_strangers_are_counted() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        let payloads = vec![
            serde_json::to_vec(&TaskMessage {
                v: 1,
                task_id: a,
                job_id: Uuid::nil(),
                kind: crate::store::TaskKind::Audio,
            })
            .unwrap_or_default(),
            format!(r#"{{"v":1,"task_id":"{b}","job_id":"{a}","kind":"encode_chunk"}}"#)
                .into_bytes(),
            b"not json".to_vec(),
            br#"{"v":1}"#.to_vec(),
        ];
        let census = decode(&payloads);
        assert!(census.holds(a) && census.holds(b));
        assert_eq!(census.held.len(), 2);
        assert_eq!(census.undecodable, 2);
    }
}
