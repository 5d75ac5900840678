//! What the lab's controls set: the operation and its inputs, the server's
//! faults, the client's policy, the run's size and the seed.
//!
//! Settings change only when the student moves a control or a lesson sets
//! itself up, never while calls run, so they are plain Yew state in the
//! component; the run's own state, which changes with every event, is
//! [`super::state::LabState`].

use crate::faults::FaultSettings;
use crate::lessons::{RunSpec, Step};
use crate::operations::{LabOperation, OperationForm};
use crate::policy_form::PolicyForm;

/// Everything the controls set.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub operation: LabOperation,
    pub form: OperationForm,
    pub faults: FaultSettings,
    pub policy: PolicyForm,
    pub run: RunSpec,
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            operation: LabOperation::Deposit,
            form: OperationForm::default(),
            faults: FaultSettings::default(),
            policy: PolicyForm::default(),
            run: RunSpec::default(),
            seed: 42,
        }
    }
}

impl Settings {
    /// The controls as a lesson's step sets them, with the lesson's seed.
    pub fn of_step(step: &Step, seed: u64) -> Settings {
        Settings {
            operation: step.operation,
            form: step.form.clone(),
            faults: step.faults.clone(),
            policy: step.policy.clone(),
            run: step.run.clone(),
            seed,
        }
    }
}
