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

use std::collections::HashMap;

use tonic::Status;

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

#[derive(Debug, Default)]
pub struct KeyValueStore {
    values: HashMap<String, f64>,
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
        self.values.insert(key.to_owned(), value);
        Ok(value)
    }

    /// `GetValue`: read-only.
    pub fn get(&self, key: &str) -> Result<f64, Status> {
        names::check("key", key)?;
        self.values
            .get(key)
            .copied()
            .ok_or_else(|| Status::not_found(format!("key {key:?} holds no value")))
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
        let current = self.values.get(key).copied();
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
        self.values.insert(key.to_owned(), next);
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
