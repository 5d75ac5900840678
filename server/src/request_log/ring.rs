//! A bounded, numbered log: the last N entries, each with its sequence
//! number, and a count of the older ones it let go.
//!
//! Why numbered: a watcher that receives 41, 42, 45 knows, without being
//! told, that it missed two — and which. Why bounded: a student's client in
//! a loop sends thousands of requests a second, and a server that kept all
//! of them would run out of memory in an afternoon. The bound is a number of
//! entries, so the memory a log can hold is that number times the largest
//! entry (see [`super::Record`]).
//!
//! Pure: no clock, no lock, no I/O; [`super::RequestLog`] puts it behind a
//! lock.

use std::collections::VecDeque;

/// The last `capacity` entries pushed, oldest first, numbered from 1.
#[derive(Debug)]
pub struct Ring<T> {
    entries: VecDeque<T>,
    capacity: usize,
    /// The number the next entry gets.
    next: u64,
    /// Entries let go to stay within the bound.
    dropped: u64,
}

impl<T> Ring<T> {
    /// An empty ring. Capacity 0 keeps nothing: every entry is numbered and
    /// counted as dropped at once (its watchers still see it go by).
    pub fn new(capacity: usize) -> Self {
        Ring {
            // Grows as entries come: a session that sends ten requests never
            // pays for ten thousand slots.
            entries: VecDeque::new(),
            capacity,
            next: 1,
            dropped: 0,
        }
    }

    /// The sequence number the next entry will get.
    pub fn next_sequence(&self) -> u64 {
        self.next
    }

    /// Numbers an entry and keeps it, letting the oldest go if full; returns
    /// (a clone of) the entry. `make` receives the entry's sequence number.
    pub fn push_with(&mut self, make: impl FnOnce(u64) -> T) -> T
    where
        T: Clone,
    {
        let entry = make(self.next);
        self.next += 1;
        if self.capacity == 0 {
            self.dropped += 1;
            return entry;
        }
        if self.entries.len() >= self.capacity {
            self.entries.pop_front();
            self.dropped += 1;
        }
        self.entries.push_back(entry.clone());
        entry
    }

    /// Entries let go so far to stay within the bound.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The entries held, oldest first.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &T> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(ring: &Ring<u64>) -> Vec<u64> {
        ring.iter().copied().collect()
    }

    #[test]
    fn entries_are_numbered_from_one_without_gaps() {
        let mut ring = Ring::new(10);
        assert_eq!(ring.next_sequence(), 1);
        for expected in 1..=3 {
            assert_eq!(ring.push_with(|sequence| sequence), expected);
        }
        assert_eq!(held(&ring), [1, 2, 3]);
        assert_eq!(
            (ring.len(), ring.dropped(), ring.next_sequence()),
            (3, 0, 4)
        );
    }

    #[test]
    fn the_oldest_go_first_and_are_counted() {
        let mut ring = Ring::new(3);
        for _ in 0..1_000 {
            ring.push_with(|sequence| sequence);
            assert!(ring.len() <= 3, "never above the bound");
        }
        assert_eq!(held(&ring), [998, 999, 1000]);
        // Held + dropped = everything ever pushed.
        assert_eq!(ring.dropped(), 997);
        assert_eq!(ring.dropped() + ring.len() as u64, 1_000);
    }

    #[test]
    fn capacity_zero_keeps_nothing_but_still_numbers() {
        let mut ring = Ring::new(0);
        assert_eq!(ring.push_with(|sequence| sequence * 10), 10);
        assert_eq!(ring.push_with(|sequence| sequence * 10), 20);
        assert!(ring.is_empty());
        assert_eq!((ring.dropped(), ring.next_sequence()), (2, 3));
    }
}
