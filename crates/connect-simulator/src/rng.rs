//! The simulator's random sequences: `rand`'s `StdRng` (ChaCha12), so that every seed gives
//! the answers it always gave.
//!
//! The workspace's dev profile builds `rand_chacha` and `ppv-lite86` optimised (see the root
//! `Cargo.toml`): unoptimised, their SIMD intrinsics are calls, and the random draws were half
//! the time to build a world of 10,000 agents in a test build.

/// The generator every random draw of the simulator comes from.
pub(crate) type SimRng = rand::rngs::StdRng;
