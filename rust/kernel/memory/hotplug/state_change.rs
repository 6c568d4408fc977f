// SPDX-License-Identifier: GPL-2.0

//! A failed online or offline of a memory block (a change of its state, as C's
//! `memory_block_change_state()` calls both), with why it failed.

use crate::{error::Error, memory::notifier::veto::Veto, str::CStr};

/// A failed online or offline of a memory block: the error returned to the caller, and why, as
/// far as known.
#[derive(Clone, Copy, Debug)]
pub struct StateChangeFailure {
    /// The error.
    pub error: Error,
    /// The memory notifier callback that vetoed an event of the operation.
    pub veto: Option<Veto>,
    /// Core mm's reason for failing `offline_pages()`, e.g. `failure to isolate range`
    /// (`notifier failure` for a veto).
    pub core_mm: Option<&'static CStr>,
}

impl From<Error> for StateChangeFailure {
    fn from(error: Error) -> Self {
        Self {
            error,
            veto: None,
            core_mm: None,
        }
    }
}

impl From<StateChangeFailure> for Error {
    fn from(failure: StateChangeFailure) -> Self {
        failure.error
    }
}
