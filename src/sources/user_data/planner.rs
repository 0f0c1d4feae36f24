//! Plans one poll round of an instance: which queue sets are served by a single sweep of
//! GetCurrentUserData filtered by routing profiles (every agent once), and which keep their own
//! queue-filtered sweep because the shared sweep would cost more for them. Also assigns the
//! swept agents to queue sets. Pure: no I/O, no clock.
//!
//! Why this works: each agent has exactly one routing profile, and a queue filter returns the
//! agents whose routing profile serves any of the queues. So with the queues of every routing
//! profile (ListRoutingProfileQueues) the agents of any queue set can be picked locally from
//! one sweep of the profiles that serve any configured queue.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::config::PlannerMode;
pub use crate::model::SetFilter;
use crate::model::{AgentRecord, RoutingDirectory};

/// GetCurrentUserData returns at most this many agents per page.
pub const AGENTS_PER_PAGE: usize = 100;
/// A filter takes at most this many routing profiles (or queues).
pub const IDS_PER_FILTER: usize = 100;

/// One round's plan for an instance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Chunks of at most 100 routing profile IDs to sweep; empty when no set is swept.
    pub sweep_chunks: Vec<Vec<String>>,
    /// Indexes of the queue sets served by the sweep.
    pub swept_sets: Vec<usize>,
    /// Indexes of the queue sets polled with their own queue filter.
    pub queue_filter_sets: Vec<usize>,
    /// GetCurrentUserData requests this plan expects, from the last round's agent counts.
    pub expected_requests: usize,
}

/// Agents seen per routing profile in the last round: the planner's cost model.
pub type AgentsByProfile = BTreeMap<String, usize>;

/// Counts `agents` by routing profile.
pub fn agents_by_profile<'a>(agents: impl IntoIterator<Item = &'a AgentRecord>) -> AgentsByProfile {
    let mut counts = AgentsByProfile::new();
    for agent in agents {
        if let Some(profile) = &agent.routing_profile_id {
            *counts.entry(profile.clone()).or_default() += 1;
        }
    }
    counts
}

fn pages(agents: usize) -> usize {
    agents.div_ceil(AGENTS_PER_PAGE).max(1)
}

fn agents_of(profiles: &BTreeSet<String>, counts: &AgentsByProfile) -> usize {
    profiles
        .iter()
        .map(|profile| counts.get(profile).copied().unwrap_or(0))
        .sum()
}

/// Chunks of at most 100 profiles, packed so that the pages they need add up to as few as
/// possible (first fit, largest profile first); returns the chunks and their expected pages.
fn chunk_profiles(
    profiles: &BTreeSet<String>,
    counts: &AgentsByProfile,
) -> (Vec<Vec<String>>, usize) {
    if profiles.is_empty() {
        return (Vec::new(), 0);
    }
    let mut by_size: Vec<(&String, usize)> = profiles
        .iter()
        .map(|profile| (profile, counts.get(profile).copied().unwrap_or(0)))
        .collect();
    by_size.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut chunks: Vec<(Vec<String>, usize)> = Vec::new();
    for (profile, agents) in by_size {
        // A chunk's last page has room for this many agents without an extra request.
        let fits = |chunk: &(Vec<String>, usize)| {
            chunk.0.len() < IDS_PER_FILTER && pages(chunk.1 + agents) == pages(chunk.1)
        };
        match chunks.iter_mut().find(|chunk| fits(chunk)) {
            Some(chunk) => {
                chunk.0.push(profile.clone());
                chunk.1 += agents;
            }
            None => match chunks.last_mut() {
                Some(last) if last.0.len() < IDS_PER_FILTER => {
                    last.0.push(profile.clone());
                    last.1 += agents;
                }
                _ => chunks.push((vec![profile.clone()], agents)),
            },
        }
    }
    let expected = chunks.iter().map(|(_, agents)| pages(*agents)).sum();
    (
        chunks.into_iter().map(|(chunk, _)| chunk).collect(),
        expected,
    )
}

/// Requests a queue-filtered sweep of `queue_ids` costs: per chunk of 100 queues, the pages of
/// the agents whose profiles serve that chunk.
pub fn queue_filter_cost(
    queue_ids: &[String],
    directory: &RoutingDirectory,
    counts: &AgentsByProfile,
) -> usize {
    queue_ids
        .chunks(IDS_PER_FILTER)
        .map(|chunk| pages(agents_of(&directory.profiles_serving(chunk), counts)))
        .sum()
}

impl SetFilter {
    /// The routing profiles whose agents make up the set, when the directory can tell.
    fn profiles(&self, directory: &RoutingDirectory) -> Option<BTreeSet<String>> {
        match self {
            Self::Queues(queues) => Some(directory.profiles_serving(queues)),
            // A profile the directory does not list stays out of the shared sweep (the
            // service might refuse the whole chunk); the set reports it on its own.
            Self::RoutingProfiles(profiles) => Some(
                profiles
                    .iter()
                    .filter(|profile| directory.profile_queues.contains_key(*profile))
                    .cloned()
                    .collect(),
            ),
            Self::HierarchyGroup(_) => None,
        }
    }

    /// Requests the set's own filter costs; `directory` refines the estimate for queues.
    fn own_cost(&self, directory: Option<&RoutingDirectory>, counts: &AgentsByProfile) -> usize {
        match (self, directory) {
            (Self::Queues(queues), Some(directory)) => queue_filter_cost(queues, directory, counts),
            (Self::Queues(queues), None) => queues.len().div_ceil(IDS_PER_FILTER),
            (Self::RoutingProfiles(profiles), _) => profiles
                .chunks(IDS_PER_FILTER)
                .map(|chunk| {
                    pages(
                        chunk
                            .iter()
                            .map(|p| counts.get(p).copied().unwrap_or(0))
                            .sum(),
                    )
                })
                .sum(),
            // How many agents a group has is not known before asking: at least one page.
            (Self::HierarchyGroup(_), _) => 1,
        }
    }
}

/// Plans a round for queue sets with `sets` (what each asks for, in config order).
///
/// Without a directory (look-ups not done or failed) every set uses its own filter. With
/// one, `RoutingProfiles` sweeps every set it can (all but hierarchy-group sets), `Queues`
/// none, and `Auto` starts from sweeping all it can and moves a set to its own filter while
/// that lowers the total expected requests.
pub fn plan<S: Borrow<SetFilter>>(
    mode: PlannerMode,
    sets: &[S],
    directory: Option<&RoutingDirectory>,
    counts: &AgentsByProfile,
) -> Plan {
    let Some(directory) = directory.filter(|_| mode != PlannerMode::Queues) else {
        let all: Vec<usize> = (0..sets.len()).collect();
        return queue_filter_plan(all, sets, directory, counts);
    };
    let profiles_of: Vec<Option<BTreeSet<String>>> = sets
        .iter()
        .map(|set| set.borrow().profiles(directory))
        .collect();
    let all: Vec<usize> = (0..sets.len())
        .filter(|&set| profiles_of[set].is_some())
        .collect();
    let mut filtered: Vec<usize> = (0..sets.len())
        .filter(|&set| profiles_of[set].is_none())
        .collect();
    let sweep_cost = |swept: &[usize]| {
        let profiles: BTreeSet<String> = swept
            .iter()
            .flat_map(|&set| profiles_of[set].iter().flatten().cloned())
            .collect();
        chunk_profiles(&profiles, counts)
    };
    let mut swept = all;
    if mode == PlannerMode::Auto {
        loop {
            let (_, current) = sweep_cost(&swept);
            let best_move = swept
                .iter()
                .map(|&set| {
                    let rest: Vec<usize> = swept.iter().copied().filter(|&s| s != set).collect();
                    let saving = current - sweep_cost(&rest).1;
                    let own = sets[set].borrow().own_cost(Some(directory), counts);
                    (set, saving as i64 - own as i64)
                })
                .filter(|(_, gain)| *gain > 0)
                .max_by_key(|(set, gain)| (*gain, std::cmp::Reverse(*set)));
            let Some((set, _)) = best_move else { break };
            swept.retain(|&s| s != set);
            filtered.push(set);
        }
    }
    filtered.sort_unstable();
    let (sweep_chunks, sweep_requests) = sweep_cost(&swept);
    let filter_requests: usize = filtered
        .iter()
        .map(|&set| sets[set].borrow().own_cost(Some(directory), counts))
        .sum();
    Plan {
        sweep_chunks,
        swept_sets: swept,
        queue_filter_sets: filtered,
        expected_requests: sweep_requests + filter_requests,
    }
}

fn queue_filter_plan<S: Borrow<SetFilter>>(
    chosen: Vec<usize>,
    sets: &[S],
    directory: Option<&RoutingDirectory>,
    counts: &AgentsByProfile,
) -> Plan {
    let expected_requests = chosen
        .iter()
        .map(|&set| sets[set].borrow().own_cost(directory, counts))
        .sum();
    Plan {
        sweep_chunks: Vec::new(),
        swept_sets: Vec::new(),
        queue_filter_sets: chosen,
        expected_requests,
    }
}

/// The agents of a queue set among `swept` agents: those whose routing profile serves any of
/// `queue_ids`, with all their contacts, as a queue filter would return them.
pub fn agents_of_set(
    swept: &[Arc<AgentRecord>],
    queue_ids: &[String],
    directory: &RoutingDirectory,
) -> Vec<Arc<AgentRecord>> {
    agents_of_profiles(swept, &directory.profiles_serving(queue_ids))
}

/// The agents among `swept` whose routing profile is one of `serving`.
pub fn agents_of_profiles(
    swept: &[Arc<AgentRecord>],
    serving: &BTreeSet<String>,
) -> Vec<Arc<AgentRecord>> {
    let profiles: rustc_hash::FxHashSet<&str> = serving.iter().map(String::as_str).collect();
    swept
        .iter()
        .filter(|agent| {
            agent
                .routing_profile_id
                .as_deref()
                .is_some_and(|profile| profiles.contains(profile))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    /// Profiles p0..pN; profile pK serves the queues listed for it.
    fn directory(profiles: &[&[&str]]) -> RoutingDirectory {
        RoutingDirectory {
            queues: profiles
                .iter()
                .flat_map(|queues| queues.iter().map(|q| q.to_string()))
                .collect(),
            profile_queues: profiles
                .iter()
                .enumerate()
                .map(|(index, queues)| {
                    (
                        format!("p{index}"),
                        queues.iter().map(|q| q.to_string()).collect(),
                    )
                })
                .collect(),
            ..RoutingDirectory::default()
        }
    }

    fn queue_sets(sets: Vec<Vec<String>>) -> Vec<SetFilter> {
        sets.into_iter().map(SetFilter::Queues).collect()
    }

    fn counts(agents: &[usize]) -> AgentsByProfile {
        agents
            .iter()
            .enumerate()
            .map(|(index, n)| (format!("p{index}"), *n))
            .collect()
    }

    #[test]
    fn overlapping_sets_share_one_sweep_that_costs_the_minimum() {
        let directory = directory(&[&["a"], &["b"], &["a", "c"]]);
        let counts = counts(&[150, 120, 30]);
        let sets = queue_sets(vec![ids(&["a", "b", "c"]), ids(&["a"]), ids(&["b", "c"])]);
        let plan = plan(PlannerMode::Auto, &sets, Some(&directory), &counts);
        assert_eq!(plan.swept_sets, vec![0, 1, 2]);
        assert!(plan.queue_filter_sets.is_empty());
        // 300 agents: three pages, the minimum; three queue filters would cost 3 + 2 + 2.
        assert_eq!(plan.expected_requests, 3);
        let swept: BTreeSet<&String> = plan.sweep_chunks.iter().flatten().collect();
        assert_eq!(swept.len(), 3);
    }

    #[test]
    fn only_profiles_serving_configured_queues_are_swept() {
        // A 5-agent set in a 5,000-agent instance costs one request, not 50.
        let directory = directory(&[&["vip"], &["big"]]);
        let counts = counts(&[5, 5_000]);
        let sets = queue_sets(vec![ids(&["vip"])]);
        let plan = plan(PlannerMode::Auto, &sets, Some(&directory), &counts);
        assert_eq!(plan.swept_sets, vec![0]);
        assert_eq!(plan.sweep_chunks, vec![ids(&["p0"])]);
        assert_eq!(plan.expected_requests, 1);
    }

    #[test]
    fn a_set_leaves_the_sweep_only_when_that_saves_requests() {
        // Set 0 needs profiles p0 (5 agents) and p1 (5,000); set 1 only p0. Sweeping both
        // costs 51; set 1 on its own queue filter would cost 1 more and save nothing.
        let directory = directory(&[&["vip", "big"], &["big"]]);
        let sets = queue_sets(vec![ids(&["big"]), ids(&["vip"])]);
        let plan = plan(
            PlannerMode::Auto,
            &sets,
            Some(&directory),
            &counts(&[5, 5_000]),
        );
        assert_eq!(plan.swept_sets, vec![0, 1]);
        assert!(plan.queue_filter_sets.is_empty());
        assert_eq!(plan.expected_requests, 51);
    }

    #[test]
    fn a_set_served_by_many_quiet_profiles_keeps_its_queue_filter() {
        // 150 profiles serve queue "q" and have one agent between them: the sweep needs two
        // chunks of profiles (2 requests), the queue filter one request.
        let profiles: Vec<&[&str]> = (0..150).map(|_| &["q"][..]).collect();
        let directory = directory(&profiles);
        let mut counts = counts(&[0; 150]);
        counts.insert("p7".into(), 1);
        let sets = queue_sets(vec![ids(&["q"])]);
        let plan = plan(PlannerMode::Auto, &sets, Some(&directory), &counts);
        assert_eq!(plan.queue_filter_sets, vec![0]);
        assert!(plan.sweep_chunks.is_empty());
        assert_eq!(plan.expected_requests, 1);
        let forced = super::plan(
            PlannerMode::RoutingProfiles,
            &sets,
            Some(&directory),
            &counts,
        );
        assert_eq!(forced.swept_sets, vec![0]);
        assert_eq!(forced.sweep_chunks.len(), 2);
        assert!(forced.sweep_chunks.iter().all(|chunk| chunk.len() <= 100));
        assert_eq!(forced.expected_requests, 2);
    }

    #[test]
    fn queues_mode_and_a_missing_directory_use_queue_filters() {
        let directory = directory(&[&["a"]]);
        let sets = queue_sets(vec![ids(&["a"]), ids(&["a"])]);
        let plan_q = plan(
            PlannerMode::Queues,
            &sets,
            Some(&directory),
            &counts(&[250]),
        );
        assert_eq!(plan_q.queue_filter_sets, vec![0, 1]);
        assert_eq!(plan_q.expected_requests, 6);
        let plan_none = plan(PlannerMode::Auto, &sets, None, &AgentsByProfile::new());
        assert_eq!(plan_none.queue_filter_sets, vec![0, 1]);
        assert_eq!(
            plan_none.expected_requests, 2,
            "one chunk each, agents unknown"
        );
    }

    #[test]
    fn routing_profile_sets_join_the_sweep_and_hierarchy_groups_keep_their_filter() {
        let directory = directory(&[&["a"], &["b"], &["c"]]);
        let counts = counts(&[150, 120, 30]);
        let sets = vec![
            SetFilter::Queues(ids(&["a"])),
            SetFilter::RoutingProfiles(ids(&["p0", "p2"])),
            SetFilter::HierarchyGroup("north".into()),
        ];
        let plan = plan(PlannerMode::Auto, &sets, Some(&directory), &counts);
        assert_eq!(plan.swept_sets, vec![0, 1]);
        assert_eq!(plan.queue_filter_sets, vec![2]);
        let swept: BTreeSet<&String> = plan.sweep_chunks.iter().flatten().collect();
        assert_eq!(swept, ids(&["p0", "p2"]).iter().collect());
        // 180 agents in the sweep: 2 pages; the group: at least 1.
        assert_eq!(plan.expected_requests, 3);
        let without = plan_without_directory(&sets, &counts);
        assert_eq!(without.queue_filter_sets, vec![0, 1, 2]);
        assert_eq!(without.expected_requests, 1 + 2 + 1);
    }

    fn plan_without_directory(sets: &[SetFilter], counts: &AgentsByProfile) -> Plan {
        plan(PlannerMode::Auto, sets, None, counts)
    }

    #[test]
    fn packing_fills_pages_before_opening_chunks() {
        let profiles: BTreeSet<String> = (0..150).map(|n| format!("p{n}")).collect();
        let counts: AgentsByProfile = profiles.iter().map(|p| (p.clone(), 1)).collect();
        let (chunks, expected) = chunk_profiles(&profiles, &counts);
        assert_eq!(
            chunks.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![100, 50]
        );
        assert_eq!(expected, 2);
        let all: BTreeSet<&String> = chunks.iter().flatten().collect();
        assert_eq!(all.len(), 150, "every profile once");
    }

    #[test]
    fn agents_are_assigned_by_the_queues_their_profile_serves() {
        let directory = directory(&[&["a"], &["b"], &["a", "c"]]);
        let agent = |id: &str, profile: Option<&str>| AgentRecord {
            user_id: id.into(),
            routing_profile_id: profile.map(str::to_string),
            ..Default::default()
        };
        let swept: Vec<Arc<AgentRecord>> = [
            agent("u0", Some("p0")),
            agent("u1", Some("p1")),
            agent("u2", Some("p2")),
            agent("u3", None),
        ]
        .into_iter()
        .map(Arc::new)
        .collect();
        let users = |queues: &[&str]| -> Vec<String> {
            agents_of_set(&swept, &ids(queues), &directory)
                .into_iter()
                .map(|a| a.user_id.clone())
                .collect()
        };
        assert_eq!(users(&["a"]), vec!["u0", "u2"]);
        assert_eq!(users(&["c"]), vec!["u2"]);
        assert_eq!(users(&["b", "c"]), vec!["u1", "u2"]);
        assert!(users(&["zzz"]).is_empty());
        assert_eq!(
            agents_by_profile(swept.iter().map(Arc::as_ref)),
            BTreeMap::from([("p0".into(), 1), ("p1".into(), 1), ("p2".into(), 1)])
        );
    }
}
