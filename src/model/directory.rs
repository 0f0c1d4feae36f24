//! What an instance's look-ups said (the routing directory: queues, routing profiles and the
//! queues each serves, users, hierarchy groups), and the label values it gives resource IDs:
//! names where they are unique, the ID elsewhere. Plain data, no I/O.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What ListQueues, ListRoutingProfiles, ListRoutingProfileQueues and ListUsers said about an
/// instance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoutingDirectory {
    /// Every queue ID of the instance.
    pub queues: BTreeSet<String>,
    /// The queue IDs each routing profile serves, by routing profile ID.
    pub profile_queues: BTreeMap<String, BTreeSet<String>>,
    /// Queue names by ID, where ListQueues gave one.
    pub queue_names: BTreeMap<String, String>,
    /// The IDs of the STANDARD queues (`queues: all` takes these; agent queues are left out).
    pub standard_queues: BTreeSet<String>,
    /// Routing profile names by ID.
    pub profile_names: BTreeMap<String, String>,
    /// Login names by user ID, when ListUsers was read (per-agent series).
    pub user_names: BTreeMap<String, String>,
    /// Whether ListUsers was read successfully (every user is in `user_names`).
    pub users_read: bool,
    /// Why ListUsers failed, when it was asked for and failed: login names are optional, the
    /// rest of the directory stands.
    pub users_error: Option<String>,
    /// Hierarchy group names by ID, when ListUserHierarchyGroups was read.
    pub hierarchy_group_names: BTreeMap<String, String>,
    /// Why ListUserHierarchyGroups failed, when it was asked for and failed.
    pub hierarchy_groups_error: Option<String>,
    /// Why SearchRoutingProfiles was refused, when this read listed each profile's queues
    /// instead.
    pub search_refused: Option<String>,
}

impl RoutingDirectory {
    /// The routing profiles serving any of `queue_ids`.
    pub fn profiles_serving(&self, queue_ids: &[String]) -> BTreeSet<String> {
        // A profile serves a handful of queues while a set may list a thousand: look the
        // profile's queues up in the set, not the other way round.
        let wanted: rustc_hash::FxHashSet<&str> = queue_ids.iter().map(String::as_str).collect();
        self.profile_queues
            .iter()
            .filter(|(_, queues)| queues.iter().any(|queue| wanted.contains(queue.as_str())))
            .map(|(profile, _)| profile.clone())
            .collect()
    }

    /// The first of `queue_ids` the instance does not have, if any.
    pub fn unknown_queue<'a>(&self, queue_ids: &'a [String]) -> Option<&'a String> {
        queue_ids.iter().find(|queue| !self.queues.contains(*queue))
    }
}

/// Label values by ID for one instance, built from one read of its routing directory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelNames {
    queues: HashMap<String, String>,
    routing_profiles: HashMap<String, String>,
    users: HashMap<String, String>,
    hierarchy_groups: HashMap<String, String>,
}

impl LabelNames {
    /// Names of the directory's queues and routing profiles. A name that two resources share
    /// is left out for both, so that their series stay apart (under their IDs) instead of
    /// overwriting each other.
    pub fn from_directory(directory: &RoutingDirectory) -> Self {
        Self {
            queues: label_names(&directory.queue_names, |id| directory.queues.contains(id)),
            routing_profiles: label_names(&directory.profile_names, |id| {
                directory.profile_queues.contains_key(id)
            }),
            // Login names are unique per instance; the check costs nothing and keeps the rule one.
            users: label_names(&directory.user_names, |id| {
                directory.user_names.contains_key(id)
            }),
            hierarchy_groups: label_names(&directory.hierarchy_group_names, |id| {
                directory.hierarchy_group_names.contains_key(id)
            }),
        }
    }

    /// The `hierarchy_group` label of group `id`: its name, or the ID itself.
    pub fn hierarchy_group<'a>(&'a self, id: &'a str) -> &'a str {
        self.hierarchy_groups.get(id).map_or(id, String::as_str)
    }

    /// The `agent` label of user `id`: its login name, or the ID itself.
    pub fn user<'a>(&'a self, id: &'a str) -> &'a str {
        self.users.get(id).map_or(id, String::as_str)
    }

    /// The label value of queue `id`: its name, or the ID itself.
    pub fn queue<'a>(&'a self, id: &'a str) -> &'a str {
        self.queues.get(id).map_or(id, String::as_str)
    }

    /// The label value of routing profile `id`: its name, or the ID itself.
    pub fn routing_profile<'a>(&'a self, id: &'a str) -> &'a str {
        self.routing_profiles.get(id).map_or(id, String::as_str)
    }

    /// Whether queue `id` has a name here.
    pub fn knows_queue(&self, id: &str) -> bool {
        self.queues.contains_key(id)
    }

    /// Names shared by more than one resource, for the log: (kind, name, how many).
    pub fn ambiguous(directory: &RoutingDirectory) -> Vec<(&'static str, String, usize)> {
        let mut shared = Vec::new();
        for (kind, names) in [
            ("queue", &directory.queue_names),
            ("routing profile", &directory.profile_names),
            ("user", &directory.user_names),
            ("hierarchy group", &directory.hierarchy_group_names),
        ] {
            for (name, count) in name_counts(names) {
                if count > 1 {
                    shared.push((kind, name.to_string(), count));
                }
            }
        }
        shared
    }
}

fn name_counts(names: &BTreeMap<String, String>) -> BTreeMap<&str, usize> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for name in names.values() {
        *counts.entry(name.as_str()).or_default() += 1;
    }
    counts
}

/// The names of `names` (ID → name) usable as label values: unique, not empty, and not equal
/// to an ID `is_id` knows (which would collide with that resource's fallback label).
fn label_names(
    names: &BTreeMap<String, String>,
    is_id: impl Fn(&str) -> bool,
) -> HashMap<String, String> {
    let mut usable = unique_names(names);
    usable.retain(|_, name| !is_id(name.as_str()));
    usable
}

fn unique_names(names: &BTreeMap<String, String>) -> HashMap<String, String> {
    let counts = name_counts(names);
    names
        .iter()
        .filter(|(_, name)| !name.is_empty() && counts[name.as_str()] == 1)
        .map(|(id, name)| (id.clone(), name.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory(queues: &[(&str, &str)], profiles: &[(&str, &str)]) -> RoutingDirectory {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(id, name)| (id.to_string(), name.to_string()))
                .collect()
        };
        RoutingDirectory {
            queue_names: map(queues),
            profile_names: map(profiles),
            ..RoutingDirectory::default()
        }
    }

    #[test]
    fn names_replace_ids_and_unknown_ids_stay() {
        let names = LabelNames::from_directory(&directory(
            &[("q1", "Sales"), ("q2", "Support")],
            &[("p1", "Tier 1")],
        ));
        assert_eq!(names.queue("q1"), "Sales");
        assert_eq!(names.queue("q2"), "Support");
        assert_eq!(names.queue("q9"), "q9");
        assert_eq!(names.queue(""), "");
        assert_eq!(names.routing_profile("p1"), "Tier 1");
        assert_eq!(names.routing_profile("p2"), "p2");
        assert!(names.knows_queue("q1") && !names.knows_queue("q9"));
    }

    #[test]
    fn a_shared_or_empty_name_falls_back_to_the_ids() {
        let shared = directory(&[("q1", "Sales"), ("q2", "Sales"), ("q3", "")], &[]);
        let names = LabelNames::from_directory(&shared);
        assert_eq!(names.queue("q1"), "q1");
        assert_eq!(names.queue("q2"), "q2");
        assert_eq!(names.queue("q3"), "q3");
        assert_eq!(
            LabelNames::ambiguous(&shared),
            vec![("queue", "Sales".to_string(), 2)]
        );
    }

    #[test]
    fn a_name_that_is_another_resources_id_is_not_used() {
        let mut listed = directory(&[("q1", "q2"), ("q2", "Support")], &[]);
        listed.queues = ["q1".to_string(), "q2".to_string()].into();
        let names = LabelNames::from_directory(&listed);
        assert_eq!(names.queue("q1"), "q1");
        assert_eq!(names.queue("q2"), "Support");
    }
}
