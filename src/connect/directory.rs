//! The routing directory: one read of an instance's look-ups (queues, routing profiles and the
//! queues each serves, users, hierarchy groups), which every name and queue-set resolution
//! uses.

use std::collections::BTreeMap;

use super::pages::{ListEntry, Listing, Listings};
use super::paging::{list_all, SweepBudget};
use super::request::SourceError;
use crate::model::RoutingDirectory;

/// The budgets of the look-ups: each operation has its own quota.
#[derive(Debug, Clone, Copy)]
pub struct ListingBudgets<'a> {
    /// ListQueues.
    pub queues: SweepBudget<'a>,
    /// ListRoutingProfiles.
    pub routing_profiles: SweepBudget<'a>,
    /// ListRoutingProfileQueues.
    pub routing_profile_queues: SweepBudget<'a>,
    /// ListUsers.
    pub users: SweepBudget<'a>,
    /// ListUserHierarchyGroups.
    pub hierarchy_groups: SweepBudget<'a>,
}

/// Which optional look-ups a routing-directory read makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DirectoryReads {
    /// ListRoutingProfileQueues for every routing profile (the sweep needs them).
    pub profile_queues: bool,
    /// ListUsers (login names for per-agent series).
    pub users: bool,
    /// ListUserHierarchyGroups (queue sets that name their hierarchy group).
    pub hierarchy_groups: bool,
}

/// The queues of an instance and of each of its routing profiles: one ListQueues, one
/// ListRoutingProfiles and, as `reads` asks, one ListRoutingProfileQueues per profile and
/// ListUsers (all paged), each attempt drawing from its operation's budget (not
/// GetCurrentUserData's). Without the per-profile look-ups (no routing-profile sweep planned)
/// every profile is listed with no queues: names and `queues: all` need only the first two.
pub async fn fetch_routing_directory(
    listings: &dyn Listings,
    budgets: &ListingBudgets<'_>,
    reads: DirectoryReads,
) -> Result<RoutingDirectory, SourceError> {
    let queues = list_all(listings, Listing::Queues, &budgets.queues).await?;
    let profiles = list_all(
        listings,
        Listing::RoutingProfiles,
        &budgets.routing_profiles,
    )
    .await?;
    let mut directory = RoutingDirectory::default();
    for queue in queues {
        if let Some(name) = queue.name {
            directory.queue_names.insert(queue.id.clone(), name);
        }
        if queue.queue_type.as_deref() == Some("STANDARD") {
            directory.standard_queues.insert(queue.id.clone());
        }
        directory.queues.insert(queue.id);
    }
    for profile in profiles {
        let served = if reads.profile_queues {
            list_all(
                listings,
                Listing::RoutingProfileQueues(&profile.id),
                &budgets.routing_profile_queues,
            )
            .await?
        } else {
            Vec::new()
        };
        if let Some(name) = profile.name {
            directory.profile_names.insert(profile.id.clone(), name);
        }
        directory.profile_queues.insert(
            profile.id,
            served.into_iter().map(|queue| queue.id).collect(),
        );
    }
    // The last two are optional: without them labels carry IDs (and a set that names its
    // hierarchy group says why it cannot be resolved), the rest of the directory stands.
    if reads.users {
        match list_all(listings, Listing::Users, &budgets.users).await {
            Ok(users) => {
                directory.user_names = names_by_id(users);
                directory.users_read = true;
            }
            Err(error) => directory.users_error = Some(error.to_string()),
        }
    }
    if reads.hierarchy_groups {
        let groups = list_all(
            listings,
            Listing::HierarchyGroups,
            &budgets.hierarchy_groups,
        );
        match groups.await {
            Ok(groups) => directory.hierarchy_group_names = names_by_id(groups),
            Err(error) => directory.hierarchy_groups_error = Some(error.to_string()),
        }
    }
    Ok(directory)
}

/// The names of `entries` by ID, for those that have one: what name resolution looks names
/// up in.
pub fn names_by_id(entries: Vec<ListEntry>) -> BTreeMap<String, String> {
    entries
        .into_iter()
        .filter_map(|entry| Some((entry.id, entry.name?)))
        .collect()
}
