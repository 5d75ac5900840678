//! The key-value store's rules: values and lists under string keys.
//!
//! Plain data and plain functions; the gRPC service (`services/store.rs`) only
//! adapts requests to these calls. Each operation either succeeds completely
//! or changes nothing: every check happens before the first write.
//!
//! Memory is bounded per lab session: at most `max_keys` keys (values and
//! lists together), `max_list_len` items per list and `max_list_items` list
//! items in all. The last one matters: keys × list length alone would let
//! one session hold 100 million items (800 MB). A real store would bound
//! bytes and spill to disk; counting is enough to keep a class's server from
//! being filled by one runaway loop.
//!
//! Every value carries a version, for optimistic concurrency
//! ([`KeyValueStore::compare_and_set`]): the store counts its writes, and a
//! value's version is the count at its last write (etcd calls it the
//! `mod_revision`). A per-key counter (1, 2, 3…) would restart after a
//! delete, and a client holding version 2 from before the delete could then
//! overwrite a newer value that happens to be at 2 again — the ABA problem.
//! The store-wide count never goes back, so a version seen twice means
//! nobody wrote in between.

use std::collections::HashMap;

use tonic::Status;
use tonic::metadata::MetadataValue;

use crate::rules::names;

/// Size limits of one session's store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreLimits {
    pub max_keys: usize,
    pub max_list_len: usize,
    /// List items in all lists of the session together.
    pub max_list_items: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            max_keys: 10_000,
            max_list_len: 10_000,
            max_list_items: 100_000,
        }
    }
}

/// The header (a trailer in gRPC) that carries a key's current version with
/// a `CompareAndSet` refused as stale, so a client can retry without
/// reading again.
pub const CURRENT_VERSION_HEADER: &str = "x-lab-current-version";

/// A value and the version it was written at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Versioned {
    pub value: f64,
    /// 0: the key holds no value.
    pub version: u64,
}

#[derive(Debug, Default)]
pub struct KeyValueStore {
    values: HashMap<String, Versioned>,
    /// Writes to values so far: the last version handed out.
    writes: u64,
    lists: HashMap<String, Vec<f64>>,
    /// Items in all lists together (kept, not recounted on every append).
    list_items: usize,
    limits: StoreLimits,
}

impl KeyValueStore {
    pub fn new(limits: StoreLimits) -> Self {
        KeyValueStore {
            limits,
            ..Default::default()
        }
    }

    /// `SetValue`: idempotent — the same call twice leaves the same state.
    pub fn set(&mut self, key: &str, value: f64) -> Result<f64, Status> {
        names::check("key", key)?;
        finite("value", value)?;
        if !self.values.contains_key(key) {
            self.make_room(key)?;
        }
        self.write(key, value);
        Ok(value)
    }

    /// `GetValue`: read-only.
    pub fn get(&self, key: &str) -> Result<f64, Status> {
        names::check("key", key)?;
        self.values
            .get(key)
            .map(|entry| entry.value)
            .ok_or_else(|| Status::not_found(format!("key {key:?} holds no value")))
    }

    /// `GetVersionedValue`: read-only. A key with no value is version 0
    /// (value 0), not an error: it is what a creating `CompareAndSet` expects.
    pub fn get_versioned(&self, key: &str) -> Result<Versioned, Status> {
        names::check("key", key)?;
        Ok(self.values.get(key).copied().unwrap_or(Versioned {
            value: 0.0,
            version: 0,
        }))
    }

    /// `CompareAndSet`: writes `value` only if the key is still at
    /// `expected` (0: holds no value). A stale version is `ABORTED` — a
    /// conflict a fresh read resolves — carrying the current version in
    /// [`CURRENT_VERSION_HEADER`]; nothing is written.
    ///
    /// Safe to retry: a refused call changed nothing, and a call that wrote
    /// moved the version on, so the same call again can only be refused.
    pub fn compare_and_set(
        &mut self,
        key: &str,
        expected: u64,
        value: f64,
    ) -> Result<Versioned, Status> {
        names::check("key", key)?;
        finite("value", value)?;
        let current = self.values.get(key).map_or(0, |entry| entry.version);
        if current != expected {
            return Err(stale(key, expected, current));
        }
        if current == 0 {
            self.make_room(key)?;
        }
        Ok(self.write(key, value))
    }

    /// `DeleteValue`: idempotent in effect; the reply says whether there was a value.
    pub fn delete(&mut self, key: &str) -> Result<bool, Status> {
        names::check("key", key)?;
        Ok(self.values.remove(key).is_some())
    }

    /// `Increment`: not idempotent — every call adds `delta` again.
    pub fn increment(&mut self, key: &str, delta: f64) -> Result<f64, Status> {
        names::check("key", key)?;
        finite("delta", delta)?;
        let current = self.values.get(key).map(|entry| entry.value);
        let next = current.unwrap_or(0.0) + delta;
        if !next.is_finite() {
            return Err(Status::out_of_range(format!(
                "{} + {delta} overflows: the result is larger than the largest double",
                current.unwrap_or(0.0)
            )));
        }
        if current.is_none() {
            self.make_room(key)?;
        }
        self.write(key, next);
        Ok(next)
    }

    /// `Append`: not idempotent — every call appends again. Returns the whole list.
    pub fn append(&mut self, key: &str, item: f64) -> Result<Vec<f64>, Status> {
        names::check("key", key)?;
        finite("item", item)?;
        match self.lists.get(key).map(Vec::len) {
            Some(len) if len >= self.limits.max_list_len => {
                return Err(Status::resource_exhausted(format!(
                    "the list under {key:?} already has {len} items, the most a list may hold"
                )));
            }
            Some(_) => {}
            None => self.make_room(key)?,
        }
        if self.list_items >= self.limits.max_list_items {
            return Err(Status::resource_exhausted(format!(
                "this session's lists hold {} items in all, the most they may; reset the session",
                self.list_items
            )));
        }
        let list = self.lists.entry(key.to_owned()).or_default();
        list.push(item);
        self.list_items += 1;
        Ok(list.clone())
    }

    /// How many keys hold a value or a list (a key holding both counts once).
    pub fn key_count(&self) -> usize {
        self.values.len()
            + self
                .lists
                .keys()
                .filter(|key| !self.values.contains_key(*key))
                .count()
    }

    /// Stores `value` under `key` at the next version. Every write to a
    /// value goes through here, so no write can leave a version unchanged.
    fn write(&mut self, key: &str, value: f64) -> Versioned {
        self.writes += 1;
        let entry = Versioned {
            value,
            version: self.writes,
        };
        self.values.insert(key.to_owned(), entry);
        entry
    }

    /// Refuses a new key when the store is full. Called only for keys not yet present.
    fn make_room(&self, key: &str) -> Result<(), Status> {
        let present = self.values.contains_key(key) || self.lists.contains_key(key);
        if !present && self.key_count() >= self.limits.max_keys {
            return Err(Status::resource_exhausted(format!(
                "this session's store is full ({} keys); delete values or reset the session",
                self.limits.max_keys
            )));
        }
        Ok(())
    }
}

/// The refusal of a stale `CompareAndSet`: ABORTED, the current version in
/// words and in [`CURRENT_VERSION_HEADER`].
fn stale(key: &str, expected: u64, current: u64) -> Status {
    let now = if current == 0 {
        "holds no value (version 0)".to_owned()
    } else {
        format!("is at version {current}")
    };
    let mut status = Status::aborted(format!(
        "key {key:?} {now}, not the expected {expected}: another write came first; \
         read again and retry (the current version is in {CURRENT_VERSION_HEADER})"
    ));
    status
        .metadata_mut()
        .insert(CURRENT_VERSION_HEADER, MetadataValue::from(current));
    status
}

fn finite(field: &str, value: f64) -> Result<(), Status> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Status::invalid_argument(format!(
            "{field} is {value}; it must be a finite number"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    fn store() -> KeyValueStore {
        KeyValueStore::new(StoreLimits::default())
    }

    #[test]
    fn set_get_delete() {
        let mut s = store();
        assert_eq!(s.get("x").unwrap_err().code(), Code::NotFound);
        assert_eq!(s.set("x", 10.0).unwrap(), 10.0);
        assert_eq!(
            s.set("x", 10.0).unwrap(),
            10.0,
            "setting twice is the same as once"
        );
        assert_eq!(s.get("x").unwrap(), 10.0);
        assert!(s.delete("x").unwrap());
        assert!(
            !s.delete("x").unwrap(),
            "deleting twice: same effect, different reply"
        );
        assert_eq!(s.get("x").unwrap_err().code(), Code::NotFound);
    }

    #[test]
    fn increment_is_not_idempotent() {
        let mut s = store();
        assert_eq!(s.increment("n", 5.0).unwrap(), 5.0, "absent counts as 0");
        assert_eq!(
            s.increment("n", 5.0).unwrap(),
            10.0,
            "calling twice increments twice"
        );
    }

    #[test]
    fn append_is_not_idempotent_and_lists_live_beside_values() {
        let mut s = store();
        s.set("k", 1.0).unwrap();
        assert_eq!(s.append("k", 5.0).unwrap(), vec![5.0]);
        assert_eq!(s.append("k", 5.0).unwrap(), vec![5.0, 5.0]);
        assert_eq!(
            s.get("k").unwrap(),
            1.0,
            "the value is untouched by the list"
        );
        assert_eq!(s.key_count(), 1);
    }

    #[test]
    fn bad_input_changes_nothing() {
        let mut s = store();
        s.set("k", 1.0).unwrap();
        for error in [
            s.set("k", f64::NAN).unwrap_err(),
            s.increment("k", f64::INFINITY).unwrap_err(),
            s.append("k", f64::NAN).unwrap_err(),
            s.set("", 1.0).unwrap_err(),
            s.set(&"x".repeat(257), 1.0).unwrap_err(),
        ] {
            assert_eq!(error.code(), Code::InvalidArgument, "{error:?}");
        }
        let overflow = s
            .increment("big", f64::MAX)
            .and_then(|_| s.increment("big", f64::MAX));
        assert_eq!(overflow.unwrap_err().code(), Code::OutOfRange);
        assert_eq!(
            s.get("big").unwrap(),
            f64::MAX,
            "the failed increment left the value alone"
        );
        assert_eq!(s.get("k").unwrap(), 1.0);
    }

    /// The version of a stale CompareAndSet's refusal, as a client reads it.
    fn current_version(error: &Status) -> u64 {
        error
            .metadata()
            .get(CURRENT_VERSION_HEADER)
            .expect("the refusal names the current version")
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    #[test]
    fn compare_and_set_writes_only_on_the_version_it_was_told() {
        let mut s = store();
        let absent = s.get_versioned("x").unwrap();
        assert_eq!(
            (absent.value, absent.version),
            (0.0, 0),
            "absent is version 0"
        );
        let first = s.compare_and_set("x", 0, 1.0).unwrap();
        assert_eq!(first.value, 1.0);
        assert!(first.version > 0);
        assert_eq!(s.get_versioned("x").unwrap(), first);

        // A second writer that read version 0 too has lost the race.
        let stale = s.compare_and_set("x", 0, 2.0).unwrap_err();
        assert_eq!(stale.code(), Code::Aborted);
        assert_eq!(current_version(&stale), first.version);
        assert!(
            stale
                .message()
                .contains(&format!("is at version {}", first.version)),
            "{}",
            stale.message()
        );
        assert_eq!(s.get("x").unwrap(), 1.0, "a refused write changes nothing");

        // Retrying with the version the refusal named succeeds.
        let second = s.compare_and_set("x", first.version, 2.0).unwrap();
        assert!(second.version > first.version);
        // The same request again cannot succeed twice: idempotent by its condition.
        let again = s.compare_and_set("x", first.version, 2.0).unwrap_err();
        assert_eq!(again.code(), Code::Aborted);
        assert_eq!(current_version(&again), second.version);
    }

    #[test]
    fn every_write_moves_the_version_on_and_a_delete_never_brings_one_back() {
        let mut s = store();
        let v1 = s.compare_and_set("x", 0, 1.0).unwrap().version;
        s.set("x", 1.0).unwrap();
        let v2 = s.get_versioned("x").unwrap().version;
        assert!(v2 > v1, "even a SetValue of the same value is a write");
        s.increment("x", 1.0).unwrap();
        let v3 = s.get_versioned("x").unwrap().version;
        assert!(v3 > v2);
        s.set("other", 5.0).unwrap();
        s.delete("x").unwrap();
        assert_eq!(s.get_versioned("x").unwrap().version, 0, "deleted: absent");
        let stale = s.compare_and_set("x", v3, 9.0).unwrap_err();
        assert_eq!(current_version(&stale), 0);
        // Recreated, the key gets a version it never had before (no ABA).
        let v4 = s.compare_and_set("x", 0, 7.0).unwrap().version;
        assert!(v4 > v3);
        for old in [v1, v2, v3] {
            assert_eq!(
                s.compare_and_set("x", old, 8.0).unwrap_err().code(),
                Code::Aborted
            );
        }
        assert_eq!(s.get("x").unwrap(), 7.0);
    }

    #[test]
    fn compare_and_set_refuses_bad_input_and_a_full_store() {
        let mut s = KeyValueStore::new(StoreLimits {
            max_keys: 1,
            ..StoreLimits::default()
        });
        assert_eq!(
            s.compare_and_set("x", 0, f64::NAN).unwrap_err().code(),
            Code::InvalidArgument
        );
        assert_eq!(
            s.compare_and_set("", 0, 1.0).unwrap_err().code(),
            Code::InvalidArgument
        );
        assert_eq!(
            s.get_versioned("").unwrap_err().code(),
            Code::InvalidArgument
        );
        let v = s.compare_and_set("a", 0, 1.0).unwrap().version;
        assert_eq!(
            s.compare_and_set("b", 0, 1.0).unwrap_err().code(),
            Code::ResourceExhausted
        );
        assert_eq!(s.compare_and_set("a", v, 2.0).unwrap().value, 2.0);
    }

    #[test]
    fn limits_keep_memory_bounded() {
        let mut s = KeyValueStore::new(StoreLimits {
            max_keys: 2,
            max_list_len: 2,
            max_list_items: 100,
        });
        s.set("a", 1.0).unwrap();
        s.append("b", 1.0).unwrap();
        assert_eq!(s.set("c", 1.0).unwrap_err().code(), Code::ResourceExhausted);
        assert_eq!(
            s.increment("c", 1.0).unwrap_err().code(),
            Code::ResourceExhausted
        );
        assert_eq!(
            s.set("a", 2.0).unwrap(),
            2.0,
            "existing keys can still change"
        );
        s.append("b", 2.0).unwrap();
        assert_eq!(
            s.append("b", 3.0).unwrap_err().code(),
            Code::ResourceExhausted
        );
        s.delete("a").unwrap();
        assert_eq!(s.set("c", 1.0).unwrap(), 1.0, "deleting makes room");
    }

    #[test]
    fn list_items_are_bounded_across_lists() {
        let mut s = KeyValueStore::new(StoreLimits {
            max_keys: 100,
            max_list_len: 10,
            max_list_items: 15,
        });
        for i in 0..15 {
            s.append(&format!("list-{}", i / 10), 1.0).unwrap();
        }
        let full = s.append("list-2", 1.0).unwrap_err();
        assert_eq!(full.code(), Code::ResourceExhausted);
        assert!(
            full.message().contains("15 items in all"),
            "{}",
            full.message()
        );
        assert_eq!(s.key_count(), 2, "the refused append created no list");
    }
}
