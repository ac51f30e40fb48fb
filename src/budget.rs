//! The time an invocation may still spend. Every AWS call and the webhook run inside it, so that
//! the answer always gets out before Lambda's deadline.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::failure::Failure;

/// The longest a Lambda invocation may run, with a minute to spare for clocks that differ.
const LONGEST: Duration = Duration::from_secs(16 * 60);

/// The deadline to work to: the runtime's, unless it has passed already when the invocation
/// arrives or lies implausibly far ahead (local emulators send such values), then `timeout`
/// from now. The second value says whether the runtime's deadline was set aside.
pub fn deadline(given: SystemTime, now: SystemTime, timeout: Duration) -> (SystemTime, bool) {
    match given.duration_since(now) {
        Ok(left) if !left.is_zero() && left <= LONGEST => (given, false),
        _ => (now + timeout, true),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_that_cannot_be_meant_gives_way_to_the_configured_timeout() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let timeout = Duration::from_secs(30);
        let in_ = |secs| now + Duration::from_secs(secs);
        for (label, given, want) in [
            ("in 3 s", in_(3), (in_(3), false)),
            ("in 15 minutes", in_(900), (in_(900), false)),
            ("now", now, (in_(30), true)),
            ("passed: 600000 ms after 1970", SystemTime::UNIX_EPOCH + Duration::from_millis(600_000), (in_(30), true)),
            ("a day ahead", in_(86_400), (in_(30), true)),
        ] {
            assert_eq!(deadline(given, now, timeout), want, "{label}");
        }
    }
}
