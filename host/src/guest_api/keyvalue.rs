//! `wasi:keyvalue/{store,atomics,batch}@0.2.0-draft2` for guests, backed by
//! the configured [`KvStore`]s, held to the platform's key-value quotas
//! (`--platform`) before anything reaches a store. Spin itself limits
//! neither keys nor values, so a refusal is the platform's: `other` with a
//! message that says "quota", naming the quota and never the key.

use wasmtime::component::Resource;

use super::bindings::wasi::keyvalue::{atomics, batch, store};
use super::resources::{KvBucket, KvCas};
use crate::kv::{KvError, KvStore};
use crate::platform::{KvAccess, QuotaExceeded};
use crate::state::WwsState;

fn other(error: KvError) -> store::Error {
    tracing::warn!("key-value store error: {error}");
    store::Error::Other(error.to_string())
}

fn refused(exceeded: QuotaExceeded) -> store::Error {
    store::Error::Other(exceeded.to_string())
}

/// One item of an operation, as the quotas see it: its key and the value
/// it writes, if any.
type Item<'a> = (&'a str, Option<&'a [u8]>);

impl WwsState {
    /// Holds `count` operations on `items` to the platform's quotas: every
    /// key and value within its size, then all of them within this second's
    /// rate, or none is done.
    fn within_quotas<'a>(
        &self,
        access: KvAccess,
        count: usize,
        items: impl IntoIterator<Item = Item<'a>>,
    ) -> Result<(), store::Error> {
        let Some(meter) = &self.quotas else {
            return Ok(());
        };
        for (key, value) in items {
            meter.check_sizes(key, value).map_err(refused)?;
        }
        let count = u64::try_from(count).unwrap_or(u64::MAX);
        meter.admit(access, count).map_err(refused)
    }

    fn bucket(&self, bucket: &Resource<KvBucket>) -> wasmtime::Result<KvStore> {
        Ok(self.table.get(bucket)?.store.clone())
    }

    /// Runs one store read, counted in the request's tally and passed
    /// through the test-mode fault switch if set. The future owns what it
    /// needs so it stays `Send` without `self`.
    fn read<T, F: Future<Output = Result<T, KvError>>>(
        &mut self,
        operation: F,
    ) -> impl Future<Output = Result<T, store::Error>> + use<T, F> {
        self.calls.kv_read();
        self.guarded(false, operation)
    }

    /// As [`Self::read`], for a write.
    fn write<T, F: Future<Output = Result<T, KvError>>>(
        &mut self,
        operation: F,
    ) -> impl Future<Output = Result<T, store::Error>> + use<T, F> {
        self.calls.kv_write();
        self.guarded(false, operation)
    }

    /// As [`Self::write`], for increments and swaps, which the fault switch
    /// can break on their own.
    fn write_atomic<T, F: Future<Output = Result<T, KvError>>>(
        &mut self,
        operation: F,
    ) -> impl Future<Output = Result<T, store::Error>> + use<T, F> {
        self.calls.kv_write();
        self.guarded(true, operation)
    }

    fn guarded<T, F: Future<Output = Result<T, KvError>>>(
        &self,
        atomic: bool,
        operation: F,
    ) -> impl Future<Output = Result<T, store::Error>> + use<T, F> {
        #[cfg(feature = "fault-injection")]
        let faults = self.kv.faults.clone();
        async move {
            #[cfg(feature = "fault-injection")]
            if let Some(faults) = faults {
                let injected = if atomic {
                    faults.inject_atomic().await
                } else {
                    faults.inject().await
                };
                injected.map_err(other)?;
            }
            #[cfg(not(feature = "fault-injection"))]
            let _ = atomic;
            operation.await.map_err(other)
        }
    }
}

impl store::Host for WwsState {
    async fn open(
        &mut self,
        identifier: String,
    ) -> wasmtime::Result<Result<Resource<KvBucket>, store::Error>> {
        self.calls.kv_open();
        if let Some(costs) = &self.spin_costs {
            costs.store_opened();
        }
        if !self.kv.allowed_labels.contains(&identifier) {
            return Ok(Err(store::Error::AccessDenied));
        }
        let Some(store) = self.kv.stores.get(&identifier).cloned() else {
            return Ok(Err(store::Error::NoSuchStore));
        };
        Ok(Ok(self.table.push(KvBucket { store })?))
    }
}

impl store::HostBucket for WwsState {
    async fn get(
        &mut self,
        bucket: Resource<KvBucket>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, store::Error>> {
        if let Err(refusal) = self.within_quotas(KvAccess::Read, 1, [(key.as_str(), None)]) {
            return Ok(Err(refusal));
        }
        let store = self.bucket(&bucket)?;
        Ok(self.read(store.get(&key)).await)
    }

    async fn set(
        &mut self,
        bucket: Resource<KvBucket>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        let item = (key.as_str(), Some(value.as_slice()));
        if let Err(refusal) = self.within_quotas(KvAccess::Write, 1, [item]) {
            return Ok(Err(refusal));
        }
        let store = self.bucket(&bucket)?;
        Ok(self.write(store.set(&key, &value)).await)
    }

    async fn delete(
        &mut self,
        bucket: Resource<KvBucket>,
        key: String,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        if let Err(refusal) = self.within_quotas(KvAccess::Write, 1, [(key.as_str(), None)]) {
            return Ok(Err(refusal));
        }
        let store = self.bucket(&bucket)?;
        Ok(self.write(store.delete(&key)).await)
    }

    async fn exists(
        &mut self,
        bucket: Resource<KvBucket>,
        key: String,
    ) -> wasmtime::Result<Result<bool, store::Error>> {
        if let Err(refusal) = self.within_quotas(KvAccess::Read, 1, [(key.as_str(), None)]) {
            return Ok(Err(refusal));
        }
        let store = self.bucket(&bucket)?;
        Ok(self.read(store.exists(&key)).await)
    }

    /// All keys in one page, as Spin's stores answer; like Spin 4.0.2, a
    /// cursor is refused rather than ignored.
    async fn list_keys(
        &mut self,
        bucket: Resource<KvBucket>,
        cursor: Option<String>,
    ) -> wasmtime::Result<Result<store::KeyResponse, store::Error>> {
        if cursor.is_some() {
            return Ok(Err(store::Error::Other(
                "list_keys: cursor not supported".into(),
            )));
        }
        if let Err(refusal) = self.within_quotas(KvAccess::Read, 1, []) {
            return Ok(Err(refusal));
        }
        let store = self.bucket(&bucket)?;
        Ok(self
            .read(store.keys())
            .await
            .map(|keys| store::KeyResponse { keys, cursor: None }))
    }

    async fn drop(&mut self, bucket: Resource<KvBucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for WwsState {
    async fn increment(
        &mut self,
        bucket: Resource<KvBucket>,
        key: String,
        delta: i64,
    ) -> wasmtime::Result<Result<i64, store::Error>> {
        if let Err(refusal) = self.within_quotas(KvAccess::Write, 1, [(key.as_str(), None)]) {
            return Ok(Err(refusal));
        }
        let store = self.bucket(&bucket)?;
        Ok(self.write_atomic(store.increment(&key, delta)).await)
    }

    async fn swap(
        &mut self,
        cas: Resource<KvCas>,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), atomics::CasError>> {
        let pending = self.table.get(&cas)?;
        let (store, key, expected) = (
            pending.store.clone(),
            pending.key.clone(),
            pending.current.clone(),
        );
        let item = (key.as_str(), Some(value.as_slice()));
        if let Err(refusal) = self.within_quotas(KvAccess::Write, 1, [item]) {
            self.table.delete(cas)?;
            return Ok(Err(atomics::CasError::StoreError(refusal)));
        }
        match self
            .write_atomic(store.swap(&key, expected.as_deref(), &value))
            .await
        {
            Ok(true) => {
                self.table.delete(cas)?;
                Ok(Ok(()))
            }
            // The guest gets its CAS back so it can re-read and retry.
            Ok(false) => Ok(Err(atomics::CasError::CasFailed(cas))),
            Err(error) => {
                self.table.delete(cas)?;
                Ok(Err(atomics::CasError::StoreError(error)))
            }
        }
    }
}

impl atomics::HostCas for WwsState {
    async fn new(
        &mut self,
        bucket: Resource<KvBucket>,
        key: String,
    ) -> wasmtime::Result<Result<Resource<KvCas>, store::Error>> {
        // Reading the value to compare against is a read.
        if let Err(refusal) = self.within_quotas(KvAccess::Read, 1, [(key.as_str(), None)]) {
            return Ok(Err(refusal));
        }
        let store = self.bucket(&bucket)?;
        let current = match self.read(store.get(&key)).await {
            Ok(current) => current,
            Err(error) => return Ok(Err(error)),
        };
        Ok(Ok(self.table.push(KvCas {
            store,
            key,
            current,
        })?))
    }

    async fn current(
        &mut self,
        cas: Resource<KvCas>,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, store::Error>> {
        Ok(Ok(self.table.get(&cas)?.current.clone()))
    }

    async fn drop(&mut self, cas: Resource<KvCas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl batch::Host for WwsState {
    /// Only the keys found, as Spin 4.0.2's SQLite store answers (`SELECT
    /// ... WHERE key IN ...`), so a guest that counted on missing keys being
    /// listed fails here as it would there.
    async fn get_many(
        &mut self,
        bucket: Resource<KvBucket>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<(String, Option<Vec<u8>>)>, store::Error>> {
        let items = keys.iter().map(|key| (key.as_str(), None));
        if let Err(refusal) = self.within_quotas(KvAccess::Read, keys.len(), items) {
            return Ok(Err(refusal));
        }
        let store = self.bucket(&bucket)?;
        let read = self.read(async move { store.get_many(&keys).await }).await;
        Ok(read.map(|found| {
            found
                .into_iter()
                .map(|(key, value)| (key, Some(value)))
                .collect()
        }))
    }

    async fn set_many(
        &mut self,
        bucket: Resource<KvBucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        let items = key_values
            .iter()
            .map(|(key, value)| (key.as_str(), Some(value.as_slice())));
        if let Err(refusal) = self.within_quotas(KvAccess::Write, key_values.len(), items) {
            return Ok(Err(refusal));
        }
        let store = self.bucket(&bucket)?;
        for (key, value) in key_values {
            if let Err(error) = self.write(store.set(&key, &value)).await {
                return Ok(Err(error));
            }
        }
        Ok(Ok(()))
    }

    async fn delete_many(
        &mut self,
        bucket: Resource<KvBucket>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<(), store::Error>> {
        let items = keys.iter().map(|key| (key.as_str(), None));
        if let Err(refusal) = self.within_quotas(KvAccess::Write, keys.len(), items) {
            return Ok(Err(refusal));
        }
        let store = self.bucket(&bucket)?;
        for key in keys {
            if let Err(error) = self.write(store.delete(&key)).await {
                return Ok(Err(error));
            }
        }
        Ok(Ok(()))
    }
}
