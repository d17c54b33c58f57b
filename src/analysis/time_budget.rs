//! Time budgets for analyses whose cost depends on the graph's shape
//! (paths, neighbourhoods, sampled betweenness): past its deadline an
//! analysis stops and says so instead of running away.

use std::time::{Duration, Instant};
use thiserror::Error;

/// When an analysis must give up.
#[derive(Debug, Clone, Copy, Default)]
pub struct Budget {
    deadline: Option<Instant>,
    limit: Option<Duration>,
}

/// An analysis ran past its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the analysis took longer than its budget of {} ms; narrow it (fewer hops, a kind filter, fewer samples)", .0.as_millis())]
pub struct OverBudget(pub Duration);

impl Budget {
    /// No limit.
    pub fn unlimited() -> Self {
        Budget::default()
    }

    /// A budget of `limit` from now.
    pub fn of(limit: Duration) -> Self {
        Budget {
            deadline: Instant::now().checked_add(limit),
            limit: Some(limit),
        }
    }

    /// Fails once the deadline has passed.
    pub fn check(&self) -> Result<(), OverBudget> {
        match (self.deadline, self.limit) {
            (Some(deadline), Some(limit)) if Instant::now() > deadline => Err(OverBudget(limit)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires() {
        assert!(Budget::unlimited().check().is_ok());
        assert!(Budget::of(Duration::from_secs(60)).check().is_ok());
        let gone = Budget::of(Duration::ZERO);
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(gone.check(), Err(OverBudget(Duration::ZERO)));
    }
}
