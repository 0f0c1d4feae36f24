//! Worlds the scenario's unit tests share.

use super::{Size, World};

/// More queues than queue names, and more profiles than the demo has.
pub(super) fn world(seed: u64) -> World {
    World::new(
        "4a1f6c3e-9b2d-4e8f-a5c7-1d3b5e7f9a20",
        "eu-west-2",
        "123456789012",
        Size {
            agents: 300,
            queues: 40,
            routing_profiles: 12,
        },
        seed,
        1_700_000_000.0,
        1.0,
    )
}

/// The demo's size (see `SimulatorOptions::default`).
pub(super) fn demo_world(seed: u64) -> World {
    World::new(
        "4a1f6c3e-9b2d-4e8f-a5c7-1d3b5e7f9a20",
        "eu-west-2",
        "123456789012",
        Size {
            agents: 200,
            queues: 12,
            routing_profiles: 10,
        },
        seed,
        1_700_000_000.0,
        1.0,
    )
}
