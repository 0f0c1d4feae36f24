//! Label values for resource IDs: queue and routing profile names from the routing directory,
//! falling back to the ID where a name is unknown or not unique. No I/O here.

use std::collections::{BTreeMap, HashMap};

use crate::ids::ResourceKind;
use crate::planner::RoutingDirectory;

/// What the `queue` and `routing_profile` labels carry (`label_values` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelValues {
    /// Names from ListQueues and ListRoutingProfiles, the ID where there is none.
    #[default]
    Names,
    /// IDs always: stable across renames, no look-ups needed.
    Ids,
}

impl LabelValues {
    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Names => "names",
            Self::Ids => "ids",
        }
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

    #[test]
    fn label_values_parse_from_the_configuration_spelling() {
        let parsed: LabelValues = serde_yaml::from_str("ids").unwrap();
        assert_eq!(parsed, LabelValues::Ids);
        assert_eq!(LabelValues::default().as_str(), "names");
        assert!(serde_yaml::from_str::<LabelValues>("uuids").is_err());
    }
}
