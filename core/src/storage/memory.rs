//! In-memory object store for unit tests of code that needs a store.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;

use super::{ObjectMeta, ObjectStore, StorageError, validate_key};

#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<String, (Bytes, Option<String>)>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (Bytes, Option<String>)>> {
        // A poisoned lock only means another test thread panicked; the map is still usable.
        self.objects
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl ObjectStore for MemoryStore {
    fn name(&self) -> &str {
        "memory"
    }

    async fn put_bytes(
        &self,
        key: &str,
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<(), StorageError> {
        validate_key(key)?;
        self.lock()
            .insert(key.to_owned(), (body, content_type.map(str::to_owned)));
        Ok(())
    }

    async fn put_file(
        &self,
        key: &str,
        path: &Path,
        content_type: Option<&str>,
    ) -> Result<u64, StorageError> {
        let body = tokio::fs::read(path)
            .await
            .map_err(|source| StorageError::Io {
                key: key.to_owned(),
                source,
            })?;
        let size = body.len() as u64;
        self.put_bytes(key, Bytes::from(body), content_type).await?;
        Ok(size)
    }

    async fn get_bytes(&self, key: &str) -> Result<Bytes, StorageError> {
        validate_key(key)?;
        self.lock()
            .get(key)
            .map(|(b, _)| b.clone())
            .ok_or_else(|| StorageError::NotFound {
                key: key.to_owned(),
            })
    }

    async fn get_to_file(&self, key: &str, path: &Path) -> Result<u64, StorageError> {
        let body = self.get_bytes(key).await?;
        tokio::fs::write(path, &body)
            .await
            .map_err(|source| StorageError::Io {
                key: key.to_owned(),
                source,
            })?;
        Ok(body.len() as u64)
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StorageError> {
        validate_key(key)?;
        Ok(self.lock().get(key).map(|(b, ct)| ObjectMeta {
            key: key.to_owned(),
            size: b.len() as u64,
            content_type: ct.clone(),
        }))
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        validate_key(key)?;
        self.lock().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StorageError> {
        Ok(self
            .lock()
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, (b, ct))| ObjectMeta {
                key: k.clone(),
                size: b.len() as u64,
                content_type: ct.clone(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn memory_store_passes_the_contract() {
        let store = super::MemoryStore::new();
        crate::storage::contract::run(&store, "contract").await;
    }
}
