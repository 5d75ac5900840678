//! One shared copy of the texts that repeat from record to record.
//!
//! Ten thousand records of one session name perhaps five operations and two
//! user agents. Each record pointing at a shared copy (`Arc<str>`) costs
//! 16 bytes, where its own copy of a 50-byte user agent would cost the
//! allocation as well. The interner is bounded too: a client that invents a
//! new user agent on every request gets its own copy each time, not an
//! ever-growing table.

use std::sync::Arc;

/// At most `limit` distinct texts, each kept once.
#[derive(Debug)]
pub struct Interner {
    texts: Vec<Arc<str>>,
    limit: usize,
}

impl Interner {
    pub fn new(limit: usize) -> Self {
        Interner {
            texts: Vec::new(),
            limit,
        }
    }

    /// The shared copy of `text`: the one kept if there is one, else a new
    /// one (kept, while there is room). A linear search: the table is small,
    /// and the most recently added texts are looked at first.
    pub fn get(&mut self, text: &str) -> Arc<str> {
        if let Some(kept) = self.texts.iter().rev().find(|kept| ***kept == *text) {
            return kept.clone();
        }
        let text: Arc<str> = Arc::from(text);
        if self.texts.len() < self.limit {
            self.texts.push(text.clone());
        }
        text
    }

    pub fn len(&self) -> usize {
        self.texts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_is_the_same_copy() {
        let mut interner = Interner::new(4);
        let first = interner.get("grpc-python/1.66");
        let again = interner.get("grpc-python/1.66");
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(&*interner.get("tonic/0.14"), "tonic/0.14");
        assert_eq!(interner.len(), 2);
    }

    #[test]
    fn a_full_table_still_answers_but_keeps_no_more() {
        let mut interner = Interner::new(2);
        for n in 0..100 {
            assert_eq!(&*interner.get(&format!("agent-{n}")), format!("agent-{n}"));
        }
        assert_eq!(interner.len(), 2, "bounded whatever clients send");
        assert!(Arc::ptr_eq(
            &interner.get("agent-0"),
            &interner.get("agent-0")
        ));
    }
}
