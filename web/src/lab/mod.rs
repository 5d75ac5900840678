//! The resilience lab's orchestration: everything between the controls and
//! the server, with no drawing in it.
//!
//! - [`bench`]: the requests to the server — reset the session, deposit, read
//!   the counters and the state, run a batch of logical calls.
//! - [`settings`]: what the controls set.
//! - [`state`]: what the lab has found out while calls run, and the pure
//!   reducer that changes it (tested natively).

pub mod bench;
pub mod settings;
pub mod state;

pub use bench::{Bench, Finished, changes_state, describe_failure, fault_rng};
pub use settings::Settings;
pub use state::{LabAction, LabState, LastCall, LessonPhase, Progress, RenderStats};
