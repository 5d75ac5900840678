//! The Scale view's pure parts: what a run asks the load engine for, and
//! what its snapshots become on the page.
//!
//! A browser tab keeps about six requests in flight, so it cannot overload a
//! server; the load engine (`Lab/RunLoad`, `server/src/load/`) runs the
//! virtual clients beside the server and streams what happens. The page
//! describes the run ([`scenario`]: the controls → `LoadScenario`) and folds
//! the stream into plots and a summary ([`series`]: a reducer); its lessons
//! ([`lessons`]) are steps of those controls, judged by the runs' numbers. No I/O and
//! no drawing here; both are tested natively. The view is
//! `components/scale_view.rs`.

pub mod jitter;
pub mod lessons;
pub mod scenario;
pub mod series;
