//! The time an invocation may still spend. Every AWS call and the webhook run inside it, so that
//! the answer always gets out before Lambda's deadline.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::failure::Failure;

#[derive(Clone, Copy, Debug)]
pub struct Budget {
    deadline: Instant,
}

impl Budget {
    /// A budget ending `reserve` before `deadline`.
    pub fn until(deadline: SystemTime, reserve: Duration) -> Self {
        let left = deadline.duration_since(SystemTime::now()).unwrap_or_default();
        Self { deadline: Instant::now() + left.saturating_sub(reserve) }
    }

    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// A budget that ends `reserve` earlier than this one.
    pub fn shortened(&self, reserve: Duration) -> Self {
        let now = Instant::now();
        Self { deadline: (self.deadline - reserve).max(now) }
    }

    /// Runs `fut`, or gives up when the budget is spent.
    pub async fn run<T>(&self, fut: impl Future<Output = T>) -> Result<T, Failure> {
        tokio::time::timeout_at(self.deadline, fut).await.map_err(|_| Failure::deadline())
    }
}
