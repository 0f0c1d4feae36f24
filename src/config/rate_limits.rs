//! The request budgets' defaults: the published Connect quotas per operation, which
//! `api_rate_limits` in the configuration overrides.

use std::collections::BTreeMap;

/// A configured rate: requests per second and burst size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub rate: f64,
    /// Tokens the bucket holds when idle.
    pub burst: f64,
}

/// The published default quotas (Service Quotas; raisable, so configurable).
pub fn default_limits() -> BTreeMap<String, RateLimit> {
    let mut limits = BTreeMap::new();
    limits.insert(
        "GetCurrentUserData".to_string(),
        RateLimit {
            rate: 2.0,
            burst: 5.0,
        },
    );
    limits.insert(
        "GetCurrentMetricData".to_string(),
        RateLimit {
            rate: 5.0,
            burst: 8.0,
        },
    );
    // Service Quotas' default; the burst is not published, so no more than a second's worth.
    limits.insert(
        "GetMetricDataV2".to_string(),
        RateLimit {
            rate: 10.0,
            burst: 10.0,
        },
    );
    // Asked once per instance (the ARN GetMetricDataV2 takes); not published, kept low.
    limits.insert(
        "DescribeInstance".to_string(),
        RateLimit {
            rate: 2.0,
            burst: 2.0,
        },
    );
    for list in [
        "ListQueues",
        "ListRoutingProfiles",
        "ListRoutingProfileQueues",
        "ListAgentStatuses",
        "ListUsers",
        "ListUserHierarchyGroups",
    ] {
        limits.insert(
            list.to_string(),
            RateLimit {
                rate: 10.0,
                burst: 10.0,
            },
        );
    }
    // Not published for every Search* operation (SearchUsers: 2/s): assume 2/s.
    limits.insert(
        "SearchRoutingProfiles".to_string(),
        RateLimit {
            rate: 2.0,
            burst: 2.0,
        },
    );
    limits
}

/// The look-ups of the routing directory, which spend only a share of their budgets.
pub const DIRECTORY_OPERATIONS: [&str; 6] = [
    "ListQueues",
    "ListRoutingProfiles",
    "SearchRoutingProfiles",
    "ListRoutingProfileQueues",
    "ListUsers",
    "ListUserHierarchyGroups",
];

/// The operations the budget knows (for configuration checks).
pub fn known_operations() -> Vec<String> {
    default_limits().into_keys().collect()
}
