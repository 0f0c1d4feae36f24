//! Queue sets as configured, resolved against the instance's routing directory: names to
//! IDs, `queues: all` to the queues it selects, routing-profile sets to the queues whose
//! backlog they carry. Resolved once per directory read.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tracing::{info, warn};

use crate::config::ids::ResourceKind;
use crate::config::{AgentSelector, IdOrName, QueueDiscovery};
use crate::model::{RoutingDirectory, TargetKey};
use crate::sources::user_data::planner::SetFilter;

/// One queue set of an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSetTarget {
    /// Labels of the target.
    pub key: TargetKey,
    /// Queue IDs of the set; any number (the source chunks them). Empty when discovered.
    pub queue_ids: Vec<String>,
    /// Queues given by name: resolved at each round against the routing directory.
    pub queue_names: Vec<String>,
    /// `queues: all`: the set's queues are taken from each routing-directory read instead.
    pub discovery: Option<QueueDiscovery>,
    /// Whether the agents are those of the queues, or of routing profiles or a hierarchy group.
    pub selector: AgentSelector,
    /// Whether the set reads the intraday KPIs.
    pub intraday: bool,
    /// Its service-level thresholds, whole seconds, ascending.
    pub service_level_thresholds: Vec<u32>,
    /// Its service-level target, a ratio.
    pub service_level_target: Option<f64>,
}

/// One queue set as a round asks for it: its agents' filter and the queues whose backlog
/// it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedSet {
    /// What the set's agents are filtered by; no queues when it could not be resolved.
    pub filter: SetFilter,
    /// The queues whose backlog the set carries.
    pub backlog_queues: Vec<String>,
    /// Why the set could not be resolved (a name that does not resolve, no directory yet).
    pub error: Option<String>,
}

impl QueueSetTarget {
    /// The set resolved against `directory`: IDs for every name, the queues of `queues: all`,
    /// and the queues whose backlog the set carries (for routing-profile sets, the queues
    /// their profiles serve; a hierarchy group has none).
    fn resolve(&self, directory: Option<&RoutingDirectory>) -> Result<ResolvedSet, String> {
        let unread = |what: &str| {
            format!("this queue set names its {what}, and the instance's directory has not been read yet (see the routing directory in the log)")
        };
        match &self.selector {
            AgentSelector::Queues => {
                let queues = self.queue_ids(directory)?;
                Ok(ResolvedSet {
                    filter: SetFilter::Queues(queues.clone()),
                    backlog_queues: queues,
                    error: None,
                })
            }
            AgentSelector::RoutingProfiles { ids, names } => {
                let mut profiles = ids.clone();
                if !names.is_empty() {
                    let directory = directory.ok_or_else(|| unread("routing profiles"))?;
                    let resolved = resolve_names(
                        ResourceKind::RoutingProfile,
                        names,
                        &directory.profile_names,
                    )?;
                    profiles = given_then_resolved(ids, resolved);
                }
                // Without the directory the set's backlog queues are unknown, and a set served
                // without its backlog would look complete.
                let directory = directory.ok_or_else(|| unread("routing profiles"))?;
                let served: BTreeSet<&String> = profiles
                    .iter()
                    .filter_map(|profile| directory.profile_queues.get(profile))
                    .flatten()
                    .collect();
                let backlog_queues = served.into_iter().cloned().collect();
                Ok(ResolvedSet {
                    filter: SetFilter::RoutingProfiles(profiles),
                    backlog_queues,
                    error: None,
                })
            }
            AgentSelector::HierarchyGroup(group) => {
                let id = match group {
                    IdOrName::Id(id) => id.clone(),
                    IdOrName::Name(name) => {
                        let directory = directory.ok_or_else(|| unread("hierarchy group"))?;
                        if let Some(error) = &directory.hierarchy_groups_error {
                            return Err(format!(
                                "hierarchy group name {name:?} cannot be looked up: {error}"
                            ));
                        }
                        let found = resolve_names(
                            ResourceKind::HierarchyGroup,
                            std::slice::from_ref(name),
                            &directory.hierarchy_group_names,
                        )?;
                        found.into_iter().next().ok_or_else(|| {
                            format!("internal: hierarchy group name {name:?} resolved to nothing")
                        })?
                    }
                };
                Ok(ResolvedSet {
                    filter: SetFilter::HierarchyGroup(id),
                    backlog_queues: Vec::new(),
                    error: None,
                })
            }
        }
    }

    /// The set's queue IDs for a round: the configured ones and those its names resolve to,
    /// or those `directory` lists that discovery selects. `Err` says why there are none: no
    /// directory to look names up in yet, or a name that does not resolve.
    fn queue_ids(&self, directory: Option<&RoutingDirectory>) -> Result<Vec<String>, String> {
        let unread = || {
            "this queue set names its queues (`queues: all` or queue names), and the instance's queue list has not been read yet (ListQueues; see the routing directory in the log)".to_string()
        };
        let Some(discovery) = &self.discovery else {
            if self.queue_names.is_empty() {
                return Ok(self.queue_ids.clone());
            }
            let directory = directory.ok_or_else(unread)?;
            let resolved = resolve_queue_names(&self.queue_names, &directory.queue_names)?;
            return Ok(given_then_resolved(&self.queue_ids, resolved));
        };
        let directory = directory.ok_or_else(unread)?;
        Ok(directory
            .standard_queues
            .iter()
            .filter(|id| {
                let name = directory
                    .queue_names
                    .get(*id)
                    .map_or(id.as_str(), String::as_str);
                discovery.selects(name)
            })
            .cloned()
            .collect())
    }
}

/// The IDs a set gives, then those its names resolve to that it does not give already (a
/// name and the ID of the same resource count once).
fn given_then_resolved(given: &[String], resolved: Vec<String>) -> Vec<String> {
    let mut ids = given.to_vec();
    for id in resolved {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// The queue sets of an instance as resolved against one directory read, in set order. Kept
/// until the directory changes, so that queue names and `queues: all` patterns are resolved
/// once per read, not once per round.
pub struct ResolvedSets {
    /// The read they were resolved against; `None` before the first.
    directory: Option<Arc<RoutingDirectory>>,
    /// Each set, in the order of the instance's sets.
    sets: Vec<ResolvedSet>,
}

impl ResolvedSets {
    /// Resolves every one of `sets` against `directory`.
    pub fn resolve(sets: &[QueueSetTarget], directory: Option<Arc<RoutingDirectory>>) -> Self {
        let resolved = sets
            .iter()
            .map(|set| {
                set.resolve(directory.as_deref())
                    .unwrap_or_else(|reason| ResolvedSet {
                        filter: SetFilter::Queues(Vec::new()),
                        backlog_queues: Vec::new(),
                        error: Some(reason),
                    })
            })
            .collect();
        Self {
            directory,
            sets: resolved,
        }
    }

    /// Whether these were resolved against `directory`, the very same read.
    pub fn is_for(&self, directory: Option<&Arc<RoutingDirectory>>) -> bool {
        match (&self.directory, directory) {
            (None, None) => true,
            (Some(ours), Some(theirs)) => Arc::ptr_eq(ours, theirs),
            _ => false,
        }
    }

    /// The sets, in set order.
    pub fn sets(&self) -> &[ResolvedSet] {
        &self.sets
    }

    /// Each set's agent filter, in set order (what the planner plans from).
    pub fn filters(&self) -> Vec<&SetFilter> {
        self.sets.iter().map(|set| &set.filter).collect()
    }

    /// Each set's backlog queues, in set order.
    pub fn backlog_queues(&self) -> Vec<&[String]> {
        self.sets
            .iter()
            .map(|set| set.backlog_queues.as_slice())
            .collect()
    }
}

/// The IDs of the queues called `names` in `queue_names` (ID → name), in order. A name no
/// queue has, or that two queues share, is an error that says which.
pub fn resolve_queue_names(
    names: &[String],
    queue_names: &BTreeMap<String, String>,
) -> Result<Vec<String>, String> {
    resolve_names(ResourceKind::Queue, names, queue_names)
}

/// The IDs of the resources of `kind` called `names` in `known` (ID → name, from the
/// look-up of that kind), in order. A name none has, or that two share, is an error that
/// says which.
pub fn resolve_names(
    kind: ResourceKind,
    names: &[String],
    known: &BTreeMap<String, String>,
) -> Result<Vec<String>, String> {
    let (noun, listing) = match kind {
        ResourceKind::Queue => ("queue", "ListQueues"),
        ResourceKind::RoutingProfile => ("routing profile", "ListRoutingProfiles"),
        ResourceKind::HierarchyGroup => ("hierarchy group", "ListUserHierarchyGroups"),
    };
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        let matching: Vec<&String> = known
            .iter()
            .filter(|(_, known_name)| *known_name == name)
            .map(|(id, _)| id)
            .collect();
        match matching.as_slice() {
            [id] => ids.push((*id).clone()),
            [] => {
                return Err(format!(
                    "{noun} name {name:?}: {listing} lists no {noun} of that name in this instance (names are case-sensitive)"
                ))
            }
            several => {
                return Err(format!(
                    "{noun} name {name:?} is shared by {} {noun}s ({}); give it by ID instead",
                    several.len(),
                    several.iter().map(|id| id.as_str()).collect::<Vec<_>>().join(", ")
                ))
            }
        }
    }
    Ok(ids)
}

/// Logs how many queues each `queues: all` set found, when that changes; a set that finds
/// none is a warning (a pattern that matches no queue name).
pub fn log_discovery(sets: &[QueueSetTarget], resolved: &ResolvedSets, last: &mut [Option<usize>]) {
    for ((set, resolved), last) in sets.iter().zip(resolved.sets()).zip(last.iter_mut()) {
        let SetFilter::Queues(queues) = &resolved.filter else {
            continue;
        };
        if set.discovery.is_none() || resolved.error.is_some() {
            continue;
        }
        if *last == Some(queues.len()) {
            continue;
        }
        *last = Some(queues.len());
        if queues.is_empty() {
            warn!(queue_set = %set.key.queue_set, "`queues: all` finds no STANDARD queue whose name passes include/exclude; the set has no agents");
        } else {
            info!(queue_set = %set.key.queue_set, queues = queues.len(), "`queues: all` found the set's queues");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_resolve_to_ids_and_say_what_is_wrong() {
        let listed: BTreeMap<String, String> = [("q1", "Sales"), ("q2", "Twin"), ("q3", "Twin")]
            .iter()
            .map(|(id, name)| (id.to_string(), name.to_string()))
            .collect();
        let names = |list: &[&str]| list.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(
            resolve_queue_names(&names(&["Sales"]), &listed),
            Ok(vec!["q1".to_string()])
        );
        let unknown = resolve_queue_names(&names(&["sales"]), &listed).unwrap_err();
        assert!(unknown.contains("\"sales\"") && unknown.contains("no queue of that name"));
        let shared = resolve_queue_names(&names(&["Twin"]), &listed).unwrap_err();
        assert!(shared.contains("shared by 2 queues (q2, q3)"), "{shared}");
    }
}
