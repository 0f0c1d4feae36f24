//! `--shard N/M`: which configured instances this replica polls, so that M replicas sharing one
//! configuration file split its instances between them, each instance to exactly one replica.

use std::fmt;
use std::str::FromStr;

use super::Config;

/// Replica `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Shard {
    /// Whether this replica polls the instance named `instance_name`.
    ///
    /// The name's FNV-1a hash, not Rust's `DefaultHasher`, whose output may change between
    /// compiler versions: replicas of different builds must still agree.
    pub fn owns(&self, instance_name: &str) -> bool {
        let hash = instance_name
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
            });
        hash % u64::from(self.count) == u64::from(self.index - 1)
    }
}

/// Keeps the instances of `config` this replica owns, and says which in the log: a replica with
/// none is valid (it serves its own self-metrics) but probably a mistake, so it warns.
pub fn select(mut config: Config, shard: Shard) -> Config {
    let configured = config.instances.len();
    config
        .instances
        .retain(|instance| shard.owns(&instance.name));
    let names: Vec<&str> = config.instances.iter().map(|i| i.name.as_str()).collect();
    if names.is_empty() {
        tracing::warn!(%shard, configured, "this shard owns none of the configured instances; it polls nothing");
    } else {
        tracing::info!(%shard, configured, instances = ?names, "polling this shard's instances");
    }
    config
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("{text:?} is not N/M with 1 <= N <= M (e.g. 2/3)");
        let (index, count) = text.split_once('/').ok_or_else(invalid)?;
        let index: u32 = index.trim().parse().map_err(|_| invalid())?;
        let count: u32 = count.trim().parse().map_err(|_| invalid())?;
        if index == 0 || index > count {
            return Err(invalid());
        }
        Ok(Self { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_n_of_m_and_refuses_the_rest() {
        assert_eq!("2/3".parse::<Shard>().unwrap().to_string(), "2/3");
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_instance_belongs_to_exactly_one_shard_and_the_split_is_fair() {
        let shards: Vec<Shard> = (1..=3).map(|n| format!("{n}/3").parse().unwrap()).collect();
        let mut sizes = [0; 3];
        for n in 0..300 {
            let name = format!("instance-{n}");
            let owners: Vec<usize> = (0..3).filter(|&s| shards[s].owns(&name)).collect();
            assert_eq!(owners.len(), 1, "{name}");
            sizes[owners[0]] += 1;
        }
        assert!(sizes.iter().all(|&size| size > 70), "{sizes:?}");
        assert!("1/1".parse::<Shard>().unwrap().owns("anything"));
    }

    #[test]
    fn the_assignment_is_stable_across_builds() {
        // Owners computed independently (FNV-1a 64, "a" hashes to 0xaf63dc4c8601ec8c): a change
        // here would move instances between running replicas.
        for (name, owner) in [
            ("a", 2),
            ("prod", 1),
            ("staging", 3),
            ("eu-contact-centre", 1),
            ("us-contact-centre", 3),
        ] {
            let shard: Shard = format!("{owner}/3").parse().unwrap();
            assert!(shard.owns(name), "{name} belongs to {owner}/3");
        }
    }
}
