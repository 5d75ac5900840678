//! The bulkhead: a cap on how many checkouts may wait on payment at once.
//!
//! A ship's bulkheads keep one flooded compartment from sinking the whole
//! hull. Here the front tier's workers are the hull: without a cap, a
//! payment service that hangs soaks up every worker, one waiting checkout
//! at a time. With a cap of N, the (N + 1)th checkout is refused at once —
//! it does not even try — so at most N workers can ever be stuck, and the
//! rest stay free for calls that do not need payment. Unlike a circuit
//! breaker it needs nothing to learn: it limits from the first moment, and
//! it never stops checkouts that payment *could* serve, only the excess.
//!
//! The same counter is the gauge "front workers waiting on payment now",
//! with or without a cap, so the lesson can plot it in every step.

use std::sync::atomic::{AtomicU32, Ordering};

/// Checkouts waiting on payment now, and at most how many may.
#[derive(Debug, Default)]
pub struct Bulkhead {
    waiting: AtomicU32,
}

/// One checkout's place in the bulkhead; leaving it (dropping the guard,
/// whether the call answered, failed or was abandoned) frees the place.
#[derive(Debug)]
#[must_use = "the place is freed when the guard is dropped"]
pub struct Waiting<'a>(&'a Bulkhead);

impl Bulkhead {
    /// A place for one more checkout, if fewer than `cap` wait (`None`: no
    /// cap, always a place).
    pub fn try_enter(&self, cap: Option<u32>) -> Option<Waiting<'_>> {
        let admitted = self
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |waiting| match cap {
                Some(cap) if waiting >= cap => None,
                _ => Some(waiting + 1),
            });
        // `then`, not `then_some`: a guard built for a refusal would be
        // dropped at once, and give back a place it never took.
        admitted.is_ok().then(|| Waiting(self))
    }

    /// Checkouts waiting on payment now.
    pub fn waiting(&self) -> u32 {
        self.waiting.load(Ordering::Acquire)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cap_refuses_the_one_too_many_and_a_leaver_makes_room() {
        let bulkhead = Bulkhead::default();
        let first = bulkhead.try_enter(Some(2)).expect("room for two");
        let _second = bulkhead.try_enter(Some(2)).expect("room for two");
        assert!(bulkhead.try_enter(Some(2)).is_none(), "a third is refused");
        assert_eq!(bulkhead.waiting(), 2, "the refused one is not counted");
        drop(first);
        assert_eq!(bulkhead.waiting(), 1);
        assert!(bulkhead.try_enter(Some(2)).is_some(), "a place came free");
    }

    #[test]
    fn without_a_cap_it_only_counts() {
        let bulkhead = Bulkhead::default();
        let places: Vec<_> = (0..100).map(|_| bulkhead.try_enter(None)).collect();
        assert!(places.iter().all(Option::is_some));
        assert_eq!(bulkhead.waiting(), 100);
        drop(places);
        assert_eq!(bulkhead.waiting(), 0);
    }

    #[test]
    fn a_cap_of_zero_refuses_every_checkout() {
        assert!(Bulkhead::default().try_enter(Some(0)).is_none());
    }
}
