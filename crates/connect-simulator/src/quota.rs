//! The real service's request quota, for the simulator to enforce: a plain token bucket.
//!
//! Unlike a client's budget it never waits and never adapts: a request either finds a token
//! now or is throttled, as Connect does.

use std::sync::{Mutex, PoisonError};

use tokio::time::Instant;

/// A quota: requests per second and burst size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    /// Sustained requests per second.
    pub rate: f64,
    /// Tokens the bucket holds when idle.
    pub burst: f64,
}

#[derive(Debug)]
struct BucketState {
    tokens: f64,
    updated: Instant,
}

/// A token bucket enforcing one [`Quota`], full at the start.
#[derive(Debug)]
pub(crate) struct QuotaBucket {
    quota: Quota,
    state: Mutex<BucketState>,
}

impl QuotaBucket {
    /// A full bucket.
    pub(crate) fn new(quota: Quota) -> Self {
        Self {
            quota,
            state: Mutex::new(BucketState {
                tokens: quota.burst,
                updated: Instant::now(),
            }),
        }
    }

    /// Takes a token if one is there now, without waiting.
    pub(crate) fn try_acquire(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(state.updated).as_secs_f64();
        state.tokens = (state.tokens + elapsed * self.quota.rate).min(self.quota.burst);
        state.updated = now;
        if state.tokens >= 1.0 {
            state.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn tokens_come_back_at_the_rate_up_to_the_burst() {
        let bucket = QuotaBucket::new(Quota {
            rate: 2.0,
            burst: 3.0,
        });
        let taken = (0..5).filter(|_| bucket.try_acquire()).count();
        assert_eq!(taken, 3);
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(bucket.try_acquire());
        assert!(!bucket.try_acquire());
        tokio::time::advance(Duration::from_secs(60)).await;
        let taken = (0..5).filter(|_| bucket.try_acquire()).count();
        assert_eq!(taken, 3);
    }
}
