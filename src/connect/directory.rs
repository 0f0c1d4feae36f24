//! The routing directory: one read of an instance's look-ups (queues, routing profiles and the
//! queues each serves, users, hierarchy groups), which every name and queue-set resolution
//! uses.

use std::collections::BTreeMap;

use super::pages::{ListEntry, Listing, Listings};
use super::paging::{collect_pages, list_all, SweepBudget};
use super::request::SourceError;
use crate::model::RoutingDirectory;

/// The budgets of the look-ups: each operation has its own quota.
#[derive(Debug, Clone, Copy)]
pub struct ListingBudgets<'a> {
    /// ListQueues.
    pub queues: SweepBudget<'a>,
    /// ListRoutingProfiles.
    pub routing_profiles: SweepBudget<'a>,
    /// SearchRoutingProfiles.
    pub search_routing_profiles: SweepBudget<'a>,
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
    /// The queues every routing profile serves (the sweep needs them).
    pub profile_queues: bool,
    /// ListUsers (login names for per-agent series).
    pub users: bool,
    /// ListUserHierarchyGroups (queue sets that name their hierarchy group).
    pub hierarchy_groups: bool,
}

/// A routing profile as a read knows it: its name, and the queues it serves once known.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KnownProfile {
    id: String,
    name: Option<String>,
    /// `None` until read: SearchRoutingProfiles left them out, or only ListRoutingProfiles
    /// was read.
    queues: Option<Vec<String>>,
}

/// A directory read in progress: what its look-ups have returned so far. It outlives one
/// attempt, so that a read that runs out of time or budget continues where it stopped (each
/// finished look-up, and each routing profile's queues, are kept) instead of starting again
/// and spending the same requests for ever on a large instance.
#[derive(Debug, Default)]
pub struct DirectoryProgress {
    queues: Option<Vec<ListEntry>>,
    profiles: Option<Vec<KnownProfile>>,
    /// Why SearchRoutingProfiles was refused, once it was: profiles are then listed.
    search_refused: Option<String>,
    users: Option<Result<Vec<ListEntry>, String>>,
    hierarchy_groups: Option<Result<Vec<ListEntry>, String>>,
}

impl DirectoryProgress {
    /// Why SearchRoutingProfiles was refused, if it was (to log the fallback's cost once).
    pub fn search_refused(&self) -> Option<&str> {
        self.search_refused.as_deref()
    }

    /// Routing profiles whose queues are still to be listed one by one.
    pub fn profiles_to_list(&self) -> usize {
        self.profiles
            .iter()
            .flatten()
            .filter(|profile| profile.queues.is_none())
            .count()
    }
}

/// The queues of an instance and of each of its routing profiles, names, and as `reads` asks,
/// users and hierarchy groups: ListQueues, then SearchRoutingProfiles (each profile with the
/// queues it serves, 500 a page), with one ListRoutingProfileQueues for each profile the
/// search gives without its queues, and ListRoutingProfiles plus one ListRoutingProfileQueues
/// per profile where the search is refused (IAM). Without the per-profile queues (no sweep
/// planned) ListRoutingProfiles alone names the profiles. Every attempt draws from its
/// operation's budget.
///
/// Continues the read `progress` holds; on success the progress is used up and the whole
/// directory returned, so a directory is only ever published complete.
pub async fn fetch_routing_directory(
    listings: &dyn Listings,
    budgets: &ListingBudgets<'_>,
    reads: DirectoryReads,
    progress: &mut DirectoryProgress,
) -> Result<RoutingDirectory, SourceError> {
    if progress.queues.is_none() {
        progress.queues = Some(list_all(listings, Listing::Queues, &budgets.queues).await?);
    }
    if progress.profiles.is_none() {
        progress.profiles = Some(read_profiles(listings, budgets, reads, progress).await?);
    }
    if reads.profile_queues {
        for index in 0..progress.profiles.as_ref().map_or(0, Vec::len) {
            let Some(profile) = progress.profiles.as_ref().and_then(|all| all.get(index)) else {
                continue;
            };
            if profile.queues.is_some() {
                continue;
            }
            let id = profile.id.clone();
            let served = list_all(
                listings,
                Listing::RoutingProfileQueues(&id),
                &budgets.routing_profile_queues,
            )
            .await?;
            if let Some(profile) = progress
                .profiles
                .as_mut()
                .and_then(|all| all.get_mut(index))
            {
                profile.queues = Some(served.into_iter().map(|queue| queue.id).collect());
            }
        }
    }
    // The last two are optional: without them labels carry IDs (and a set that names its
    // hierarchy group says why it cannot be resolved), the rest of the directory stands.
    if reads.users && progress.users.is_none() {
        let users = list_all(listings, Listing::Users, &budgets.users).await;
        progress.users = Some(users.map_err(|error| error.to_string()));
    }
    if reads.hierarchy_groups && progress.hierarchy_groups.is_none() {
        let groups = list_all(
            listings,
            Listing::HierarchyGroups,
            &budgets.hierarchy_groups,
        )
        .await;
        progress.hierarchy_groups = Some(groups.map_err(|error| error.to_string()));
    }
    Ok(assemble(std::mem::take(progress)))
}

/// The routing profiles: by SearchRoutingProfiles where the queues they serve are wanted
/// (and it is allowed), else by ListRoutingProfiles.
async fn read_profiles(
    listings: &dyn Listings,
    budgets: &ListingBudgets<'_>,
    reads: DirectoryReads,
    progress: &mut DirectoryProgress,
) -> Result<Vec<KnownProfile>, SourceError> {
    if reads.profile_queues && progress.search_refused.is_none() {
        match search_all(listings, &budgets.search_routing_profiles).await {
            Ok(profiles) => return Ok(profiles),
            Err(SourceError::Listing { source, .. }) if source.is_refused() => {
                progress.search_refused = Some(source.to_string());
            }
            Err(error) => return Err(error),
        }
    }
    let listed = list_all(
        listings,
        Listing::RoutingProfiles,
        &budgets.routing_profiles,
    )
    .await?;
    Ok(listed
        .into_iter()
        .map(|entry| KnownProfile {
            id: entry.id,
            name: entry.name,
            queues: None,
        })
        .collect())
}

/// Every routing profile by SearchRoutingProfiles, each ID once.
async fn search_all(
    listings: &dyn Listings,
    budget: &SweepBudget<'_>,
) -> Result<Vec<KnownProfile>, SourceError> {
    let profiles = collect_pages(
        budget,
        "SearchRoutingProfiles",
        None,
        |token| listings.search_routing_profiles_page(token),
        |page| (page.profiles, page.next_token),
        |profile| &profile.id,
    )
    .await?;
    Ok(profiles
        .into_iter()
        .map(|profile| KnownProfile {
            queues: profile.complete_queue_ids().map(<[String]>::to_vec),
            id: profile.id,
            name: profile.name,
        })
        .collect())
}

/// The directory a finished read gives.
fn assemble(progress: DirectoryProgress) -> RoutingDirectory {
    let mut directory = RoutingDirectory::default();
    for queue in progress.queues.unwrap_or_default() {
        if let Some(name) = queue.name {
            directory.queue_names.insert(queue.id.clone(), name);
        }
        if queue.queue_type.as_deref() == Some("STANDARD") {
            directory.standard_queues.insert(queue.id.clone());
        }
        directory.queues.insert(queue.id);
    }
    for profile in progress.profiles.unwrap_or_default() {
        if let Some(name) = profile.name {
            directory.profile_names.insert(profile.id.clone(), name);
        }
        directory.profile_queues.insert(
            profile.id,
            profile.queues.unwrap_or_default().into_iter().collect(),
        );
    }
    match progress.users {
        Some(Ok(users)) => {
            directory.user_names = names_by_id(users);
            directory.users_read = true;
        }
        Some(Err(error)) => directory.users_error = Some(error),
        None => {}
    }
    match progress.hierarchy_groups {
        Some(Ok(groups)) => directory.hierarchy_group_names = names_by_id(groups),
        Some(Err(error)) => directory.hierarchy_groups_error = Some(error),
        None => {}
    }
    directory.search_refused = progress.search_refused;
    directory
}

/// The names of `entries` by ID, for those that have one: what name resolution looks names
/// up in.
pub fn names_by_id(entries: Vec<ListEntry>) -> BTreeMap<String, String> {
    entries
        .into_iter()
        .filter_map(|entry| Some((entry.id, entry.name?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RateLimit;
    use crate::connect::budget::RateLimiter;
    use crate::connect::pages::{ListPage, SearchPage, SearchedProfile};
    use crate::connect::paging::RetryPolicy;
    use crate::connect::request::{RequestError, RequestOutcome};
    use futures_util::future::BoxFuture;
    use std::sync::Mutex;

    /// Three queues; profile `full` serves `q1` (on two channels), `bare` serves `q2` but the
    /// search leaves its queues out, `idle` serves none.
    struct FakeDirectory {
        search: Result<(), &'static str>,
        /// ListRoutingProfileQueues of these profiles fail once.
        fail_once: Mutex<Vec<&'static str>>,
        calls: Mutex<Vec<String>>,
    }

    impl FakeDirectory {
        fn new(search: Result<(), &'static str>) -> Self {
            Self {
                search,
                fail_once: Mutex::new(Vec::new()),
                calls: Mutex::new(Vec::new()),
            }
        }

        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }
    }

    fn entries(pairs: &[(&str, &str)]) -> Vec<ListEntry> {
        pairs
            .iter()
            .map(|(id, name)| ListEntry::named(*id, *name))
            .collect()
    }

    impl Listings for FakeDirectory {
        fn list_page<'a>(
            &'a self,
            listing: Listing<'a>,
            _next_token: Option<String>,
        ) -> BoxFuture<'a, Result<ListPage, RequestError>> {
            Box::pin(async move {
                let call = match listing {
                    Listing::RoutingProfileQueues(profile) => {
                        format!("ListRoutingProfileQueues {profile}")
                    }
                    other => other.operation().to_string(),
                };
                self.calls.lock().unwrap().push(call);
                let entries = match listing {
                    Listing::Queues => entries(&[("q1", "One"), ("q2", "Two"), ("q3", "Three")]),
                    Listing::RoutingProfiles => {
                        entries(&[("full", "Full"), ("bare", "Bare"), ("idle", "Idle")])
                    }
                    Listing::RoutingProfileQueues(profile) => {
                        let mut failing = self.fail_once.lock().unwrap();
                        if let Some(at) = failing.iter().position(|p| *p == profile) {
                            failing.remove(at);
                            return Err(RequestError {
                                outcome: RequestOutcome::ClientError,
                                code: Some("InvalidRequestException".into()),
                                message: "not now".into(),
                            });
                        }
                        match profile {
                            "full" => entries(&[("q1", "One"), ("q1", "One")]),
                            "bare" => entries(&[("q2", "Two")]),
                            _ => Vec::new(),
                        }
                    }
                    Listing::Users | Listing::HierarchyGroups => Vec::new(),
                };
                Ok(ListPage {
                    entries,
                    next_token: None,
                })
            })
        }

        fn search_routing_profiles_page(
            &self,
            next_token: Option<String>,
        ) -> BoxFuture<'_, Result<SearchPage, RequestError>> {
            Box::pin(async move {
                self.calls
                    .lock()
                    .unwrap()
                    .push("SearchRoutingProfiles".into());
                if let Err(code) = self.search {
                    return Err(RequestError {
                        outcome: RequestOutcome::ClientError,
                        code: Some(code.into()),
                        message: "no".into(),
                    });
                }
                let profile = |id: &str, queues: Option<&[&str]>, count: i64| SearchedProfile {
                    id: id.into(),
                    name: Some(id.to_uppercase()),
                    queue_ids: queues.map(|q| q.iter().map(|q| q.to_string()).collect()),
                    associated_queues: Some(count),
                };
                // Two pages: a multichannel profile whose count is of (queue, channel) pairs
                // passes; one without its list falls back; an idle one has an empty list.
                Ok(match next_token.as_deref() {
                    None => SearchPage {
                        profiles: vec![profile("full", Some(&["q1"]), 2), profile("bare", None, 1)],
                        next_token: Some("2".into()),
                    },
                    _ => SearchPage {
                        profiles: vec![profile("idle", Some(&[]), 0)],
                        next_token: None,
                    },
                })
            })
        }
    }

    async fn read(
        fake: &FakeDirectory,
        progress: &mut DirectoryProgress,
    ) -> Result<RoutingDirectory, SourceError> {
        let limiter = RateLimiter::new(RateLimit {
            rate: 1000.0,
            burst: 1000.0,
        });
        let budget = SweepBudget {
            limiter: &limiter,
            retry: RetryPolicy::default(),
            deadline: tokio::time::Instant::now() + std::time::Duration::from_secs(10),
        };
        let budgets = ListingBudgets {
            queues: budget,
            routing_profiles: budget,
            search_routing_profiles: budget,
            routing_profile_queues: budget,
            users: budget,
            hierarchy_groups: budget,
        };
        let reads = DirectoryReads {
            profile_queues: true,
            ..DirectoryReads::default()
        };
        fetch_routing_directory(fake, &budgets, reads, progress).await
    }

    fn served(directory: &RoutingDirectory, profile: &str) -> Vec<String> {
        directory.profile_queues[profile].iter().cloned().collect()
    }

    #[tokio::test]
    async fn the_search_reads_profiles_with_their_queues_and_lists_only_those_it_left_out() {
        let fake = FakeDirectory::new(Ok(()));
        let directory = read(&fake, &mut DirectoryProgress::default())
            .await
            .unwrap();
        assert_eq!(
            fake.calls(),
            [
                "ListQueues",
                "SearchRoutingProfiles",
                "SearchRoutingProfiles",
                "ListRoutingProfileQueues bare"
            ]
        );
        assert_eq!(served(&directory, "full"), ["q1"]);
        assert_eq!(served(&directory, "bare"), ["q2"]);
        assert!(served(&directory, "idle").is_empty());
        assert_eq!(directory.profile_names["full"], "FULL");
    }

    #[tokio::test]
    async fn a_refused_search_falls_back_to_one_listing_per_profile() {
        let fake = FakeDirectory::new(Err("AccessDeniedException"));
        let mut progress = DirectoryProgress::default();
        let directory = read(&fake, &mut progress).await.unwrap();
        assert_eq!(
            fake.calls(),
            [
                "ListQueues",
                "SearchRoutingProfiles",
                "ListRoutingProfiles",
                "ListRoutingProfileQueues full",
                "ListRoutingProfileQueues bare",
                "ListRoutingProfileQueues idle"
            ]
        );
        assert_eq!(served(&directory, "full"), ["q1"]);
        assert_eq!(directory.profile_names["bare"], "Bare");
        // The finished read says why it fell back (the log and check-config --online say
        // which action to allow), and the next read tries the search again.
        assert!(directory.search_refused.is_some());
        assert_eq!(progress.search_refused(), None);
    }

    #[tokio::test]
    async fn a_search_that_fails_otherwise_fails_the_read() {
        let fake = FakeDirectory::new(Err("InternalServiceException"));
        let failed = read(&fake, &mut DirectoryProgress::default()).await;
        assert!(failed.is_err());
        assert!(!fake.calls().contains(&"ListRoutingProfiles".to_string()));
    }

    #[tokio::test]
    async fn an_unfinished_read_continues_where_it_stopped_and_publishes_only_when_whole() {
        let fake = FakeDirectory::new(Err("AccessDeniedException"));
        fake.fail_once.lock().unwrap().push("bare");
        let mut progress = DirectoryProgress::default();
        assert!(
            read(&fake, &mut progress).await.is_err(),
            "no half directory"
        );
        assert_eq!(progress.profiles_to_list(), 2, "bare and idle are left");
        let directory = read(&fake, &mut progress).await.unwrap();
        assert_eq!(
            fake.calls(),
            [
                "ListQueues",
                "SearchRoutingProfiles",
                "ListRoutingProfiles",
                "ListRoutingProfileQueues full",
                "ListRoutingProfileQueues bare",
                // The second attempt: only what was left.
                "ListRoutingProfileQueues bare",
                "ListRoutingProfileQueues idle"
            ]
        );
        assert_eq!(served(&directory, "bare"), ["q2"]);
        assert_eq!(progress.profiles_to_list(), 0, "used up");
    }
}
