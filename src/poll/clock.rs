//! Where a round reads the time it started.

use std::time::{SystemTime, UNIX_EPOCH};

/// Where a round reads the time it started (the `fetched_at` of its data, the base of every
/// age): the system clock, or a fixed instant for tests that compare whole expositions.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum WallClock {
    /// The system clock.
    #[default]
    System,
    /// Always this instant, epoch seconds.
    Fixed(f64),
}

impl WallClock {
    /// Now, epoch seconds.
    pub fn now(self) -> f64 {
        match self {
            Self::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |since| since.as_secs_f64()),
            Self::Fixed(at) => at,
        }
    }
}
