//! The resilience lab's orchestration: everything between the lab's
//! controls and the server, with no drawing in it.
//!
//! The lab's component ([`crate::components::ResilienceLab`]) renders and
//! forwards each button to a [`Runtime`] method; the plots read the run log
//! and the [`LabState`]. In the order a click travels:
//!
//! - [`settings`]: what the controls set.
//! - [`runtime`]: the lab while it runs — the bench, the run log, the state,
//!   the stop flag — shared by the page and the async tasks that run calls.
//! - [`free_play`]: "Call once" and "Run many", on a caller kept across clicks.
//! - [`lesson`]: the lesson runner, every step from a clean, reseeded session.
//! - [`batch`]: one batch of calls, with the server's truth read before and after.
//! - [`caller`]: the resilient caller built from the policy form, its events
//!   going into the run log.
//! - [`bench`](mod@bench): the requests to the server — reset the session, deposit, read
//!   the counters and the state, run the logical calls.
//! - [`state`]: what the lab has found out while calls run, and the pure
//!   reducer that changes it (tested natively).
//! - [`redraw`]: when the page redraws: the plots at most every 50 ms, the
//!   controls when a run starts or ends.

pub mod batch;
pub mod bench;
pub mod caller;
pub mod free_play;
pub mod lesson;
pub mod redraw;
pub mod runtime;
pub mod settings;
pub mod state;

pub use bench::{Bench, fault_rng};
pub use runtime::Runtime;
pub use settings::Settings;
pub use state::{LabAction, LabState, LastCall, LessonPhase, Progress};
