//! Turns the raw YAML shapes into the typed configuration, collecting every problem with its
//! key path instead of stopping at the first.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use super::agent_events::{check_shared_streams, validate_agent_events};
use super::bounds::{
    check_duration_range, check_range, parse_bounded_duration, parse_duration_key,
};
use super::ids::{self, ResourceKind};
use super::intraday::{
    check_intraday_keys, check_target, merge_intraday, parse_thresholds, IntradayKeys, RawIntraday,
};
use super::rate_limits::{self, RateLimit};
use super::raw::{RawConfig, RawDefaults, RawInstance, RawQueueSet, RawQueues, RawRateLimit};
use super::wallboard::validate_wallboard;
use super::*;

pub(super) fn validate(raw: RawConfig, problems: &mut Vec<Problem>) -> Config {
    let mut report = |key: String, message: String| problems.push(Problem { key, message });

    if raw.instances.is_empty() {
        report(
            "instances".into(),
            "at least one instance is required".into(),
        );
    }

    let defaults = validate_defaults(raw.defaults, &mut report);
    let mut names_seen: HashMap<String, usize> = HashMap::new();
    let mut ids_seen: HashMap<String, usize> = HashMap::new();
    let mut instances = Vec::with_capacity(raw.instances.len());
    for (index, raw_instance) in raw.instances.into_iter().enumerate() {
        let instance = validate_instance(index, raw_instance, &defaults, &mut report);
        if let Some(first) = names_seen.insert(instance.name.clone(), index) {
            report(
                format!("instances[{index}].name"),
                format!(
                    "duplicate instance name {:?} (already used by instances[{first}]); names must be unique because they become the connect_instance label",
                    instance.name
                ),
            );
        }
        if let Some(first) = ids_seen.insert(instance.instance_id.clone(), index) {
            report(
                format!("instances[{index}].instance_id"),
                format!("instance {} is already configured as instances[{first}]; put all its queue sets under one entry so they share one client", instance.instance_id),
            );
        }
        instances.push(instance);
    }
    check_shared_streams(&instances, &mut report);
    let api_rate_limits = validate_rate_limits(raw.api_rate_limits, &mut report);
    let directory_budget_share = match raw.directory_budget_share {
        Some(share) => check_range(
            share,
            "directory_budget_share",
            &DIRECTORY_BUDGET_SHARE_RANGE,
            "(the share of each List* and Search* budget)",
            &mut report,
        )
        .unwrap_or(DEFAULT_DIRECTORY_BUDGET_SHARE),
        None => DEFAULT_DIRECTORY_BUDGET_SHARE,
    };
    let counter_ttl = parse_bounded_duration(
        raw.counter_ttl.as_deref(),
        "counter_ttl",
        &COUNTER_TTL_RANGE,
        &mut report,
    )
    .unwrap_or(DEFAULT_COUNTER_TTL);
    let wallboard = validate_wallboard(raw.wallboard, &mut report);
    Config {
        instances,
        api_rate_limits,
        directory_budget_share,
        counter_ttl,
        wallboard,
    }
}

fn validate_rate_limits(
    raw: BTreeMap<String, RawRateLimit>,
    report: &mut impl FnMut(String, String),
) -> BTreeMap<String, RateLimit> {
    let known = rate_limits::known_operations();
    let mut limits = BTreeMap::new();
    for (operation, limit) in raw {
        let key = format!("api_rate_limits.{operation}");
        if !known.contains(&operation) {
            report(
                key,
                format!("unknown operation; known are {}", known.join(", ")),
            );
            continue;
        }
        // Both checked, so that one run names every problem of the entry.
        let rate = check_range(
            limit.rate,
            &format!("{key}.rate"),
            &API_RATE_RANGE,
            "requests per second",
            report,
        );
        let burst = check_range(
            limit.burst,
            &format!("{key}.burst"),
            &API_BURST_RANGE,
            "requests at once",
            report,
        );
        if let (Some(rate), Some(burst)) = (rate, burst) {
            limits.insert(
                operation,
                RateLimit {
                    rate,
                    burst: f64::from(burst),
                },
            );
        }
    }
    limits
}

/// The values of `defaults:` that instances inherit, each checked here, where it is written:
/// a bad default is reported once, under its own key, not once per instance that inherits it.
fn validate_defaults(defaults: RawDefaults, report: &mut impl FnMut(String, String)) -> Defaults {
    let default_region = defaults.region.and_then(|region| {
        check_region(&region)
            .map(|()| region)
            .map_err(|message| report("defaults.region".into(), message))
            .ok()
    });
    let default_interval = parse_bounded_duration(
        defaults.poll_interval.as_deref(),
        "defaults.poll_interval",
        &POLL_INTERVAL_RANGE,
        report,
    );
    let default_timeout = parse_bounded_duration(
        defaults.poll_timeout.as_deref(),
        "defaults.poll_timeout",
        &POLL_TIMEOUT_RANGE,
        report,
    );
    let default_refresh = parse_refresh_interval(
        defaults.directory_refresh_interval.as_deref(),
        "defaults.directory_refresh_interval",
        report,
    );
    let default_directory_timeout = parse_bounded_duration(
        defaults.directory_timeout.as_deref(),
        "defaults.directory_timeout",
        &DIRECTORY_TIMEOUT_RANGE,
        report,
    );

    Defaults {
        region: default_region,
        poll_interval: default_interval,
        poll_timeout: default_timeout,
        request_planner: defaults.request_planner,
        label_values: defaults.label_values,
        directory_refresh_interval: default_refresh,
        directory_timeout: default_directory_timeout,
        queue_metrics: defaults.queue_metrics,
        oldest_contact_age_unit: defaults.oldest_contact_age_unit,
        agent_series: defaults.agent_series,
        series_limit: check_series_limit(defaults.series_limit, "defaults.series_limit", report),
        hierarchy_labels: defaults.hierarchy_labels,
        intraday: check_intraday_keys(
            "defaults",
            RawIntraday {
                enabled: defaults.intraday,
                interval: defaults.intraday_interval,
                time_zone: defaults.time_zone,
                windows: defaults.intraday_windows,
                comparison: defaults.service_level_comparison,
            },
            report,
        ),
    }
}

/// Values from `defaults:` that instances inherit.
struct Defaults {
    region: Option<String>,
    poll_interval: Option<Duration>,
    poll_timeout: Option<Duration>,
    request_planner: Option<PlannerMode>,
    label_values: Option<LabelValues>,
    directory_refresh_interval: Option<Duration>,
    directory_timeout: Option<Duration>,
    queue_metrics: Option<bool>,
    oldest_contact_age_unit: Option<AgeUnit>,
    agent_series: Option<bool>,
    series_limit: Option<usize>,
    hierarchy_labels: Option<bool>,
    intraday: IntradayKeys,
}

/// Validates one instance entry; problems that need other instances are checked by the caller.
fn validate_instance(
    index: usize,
    raw_instance: RawInstance,
    defaults: &Defaults,
    report: &mut impl FnMut(String, String),
) -> Instance {
    let key = format!("instances[{index}]");
    check_name(&raw_instance.name, &format!("{key}.name"), report);
    let Location {
        instance_id,
        instance_arn,
        region,
        account_id,
        endpoint_url,
        role_arn,
    } = instance_location(
        &key,
        &raw_instance.instance_id,
        raw_instance.region.as_deref(),
        raw_instance.endpoint_url,
        raw_instance.role_arn,
        defaults,
        report,
    );
    let (poll_interval, poll_timeout) = poll_timing(
        &key,
        raw_instance.poll_interval.as_deref(),
        raw_instance.poll_timeout.as_deref(),
        defaults,
        report,
    );
    let (directory_refresh_interval, directory_timeout) = directory_timing(
        &key,
        raw_instance.directory_refresh_interval.as_deref(),
        raw_instance.directory_timeout.as_deref(),
        defaults,
        report,
    );

    let queue_sets = validate_queue_sets(&key, raw_instance.queue_sets, &instance_id, report);

    let own = RawIntraday {
        enabled: raw_instance.intraday,
        interval: raw_instance.intraday_interval,
        time_zone: raw_instance.time_zone,
        windows: raw_instance.intraday_windows,
        comparison: raw_instance.service_level_comparison,
    };
    let intraday = merge_intraday(check_intraday_keys(&key, own, report), &defaults.intraday);
    let instance_access = (region.as_deref(), role_arn.as_deref());
    let agent_events =
        validate_agent_events(&key, raw_instance.agent_events, instance_access, report);
    Instance {
        name: raw_instance.name,
        instance_id,
        instance_arn,
        region,
        account_id,
        endpoint_url,
        role_arn,
        poll_interval,
        poll_timeout,
        request_planner: raw_instance
            .request_planner
            .or(defaults.request_planner)
            .unwrap_or_default(),
        label_values: raw_instance
            .label_values
            .or(defaults.label_values)
            .unwrap_or_default(),
        directory_refresh_interval,
        directory_timeout,
        queue_metrics: raw_instance
            .queue_metrics
            .or(defaults.queue_metrics)
            .unwrap_or(true),
        oldest_contact_age_unit: raw_instance
            .oldest_contact_age_unit
            .or(defaults.oldest_contact_age_unit)
            .unwrap_or_default(),
        agent_series: raw_instance
            .agent_series
            .or(defaults.agent_series)
            .unwrap_or(false),
        series_limit: check_series_limit(
            raw_instance.series_limit,
            &format!("{key}.series_limit"),
            report,
        )
        .or(defaults.series_limit)
        .unwrap_or(DEFAULT_SERIES_LIMIT),
        hierarchy_labels: raw_instance
            .hierarchy_labels
            .or(defaults.hierarchy_labels)
            .unwrap_or(false),
        intraday,
        agent_events,
        queue_sets,
    }
}

/// Validates the queue sets of the instance at `key`: at least one, names unique within it.
fn validate_queue_sets(
    key: &str,
    raw_sets: Vec<RawQueueSet>,
    instance_id: &str,
    report: &mut impl FnMut(String, String),
) -> Vec<QueueSet> {
    if raw_sets.is_empty() {
        report(
            format!("{key}.queue_sets"),
            "at least one queue set is required".into(),
        );
    }
    let mut set_names: HashMap<String, usize> = HashMap::new();
    let mut queue_sets = Vec::with_capacity(raw_sets.len());
    for (set_index, raw_set) in raw_sets.into_iter().enumerate() {
        let set_key = format!("{key}.queue_sets[{set_index}]");
        check_name(&raw_set.name, &format!("{set_key}.name"), report);
        if let Some(first) = set_names.insert(raw_set.name.clone(), set_index) {
            report(
                format!("{set_key}.name"),
                format!(
                    "duplicate queue set name {:?} in this instance (already used by {key}.queue_sets[{first}])",
                    raw_set.name
                ),
            );
        }
        queue_sets.push(validate_queue_set(&set_key, raw_set, instance_id, report));
    }
    queue_sets
}

/// Where an instance is and how it is reached, as validated.
struct Location {
    instance_id: String,
    instance_arn: Option<String>,
    region: Option<String>,
    account_id: Option<String>,
    endpoint_url: Option<String>,
    role_arn: Option<String>,
}

/// The instance's ID, region (given, from its ARN or from `defaults`), account (from its ARN
/// or role), endpoint and role.
fn instance_location(
    key: &str,
    instance_id: &str,
    region: Option<&str>,
    endpoint_url: Option<String>,
    role_arn: Option<String>,
    defaults: &Defaults,
    report: &mut impl FnMut(String, String),
) -> Location {
    let given = instance_id;
    let (instance_id, arn_region, arn_account) = match ids::parse_instance(given) {
        Ok(parsed) => (parsed.id, parsed.region, parsed.account),
        Err(message) => {
            report(format!("{key}.instance_id"), message);
            (given.to_string(), None, None)
        }
    };
    let instance_arn = arn_account.is_some().then(|| given.to_string());
    let region = match region {
        Some(region) => match check_region(region) {
            Ok(()) => Some(region.to_string()),
            Err(message) => {
                report(format!("{key}.region"), message);
                None
            }
        },
        None => arn_region.clone().or_else(|| defaults.region.clone()),
    };
    if let (Some(arn_region), Some(region)) = (&arn_region, &region) {
        if arn_region != region {
            report(
                format!("{key}.region"),
                format!("region {region} contradicts the instance ARN, which is in {arn_region}"),
            );
        }
    }

    let endpoint_url = endpoint_url.and_then(|url| {
        check_endpoint_url(&url)
            .map(|()| url)
            .map_err(|message| report(format!("{key}.endpoint_url"), message))
            .ok()
    });
    let role_arn = role_arn.and_then(|arn| {
        ids::check_role_arn(&arn)
            .map(|()| arn)
            .map_err(|message| report(format!("{key}.role_arn"), message))
            .ok()
    });
    let account_id = arn_account.or_else(|| role_arn.as_deref().and_then(ids::role_account));
    Location {
        instance_id,
        instance_arn,
        region,
        account_id,
        endpoint_url,
        role_arn,
    }
}

/// An instance's directory refresh interval and read deadline, each from the instance,
/// `defaults` or the built-in default, within their bounds.
fn directory_timing(
    key: &str,
    refresh: Option<&str>,
    timeout: Option<&str>,
    defaults: &Defaults,
    report: &mut impl FnMut(String, String),
) -> (Duration, Duration) {
    let refresh = parse_refresh_interval(
        refresh,
        &format!("{key}.directory_refresh_interval"),
        report,
    )
    .or(defaults.directory_refresh_interval)
    .unwrap_or(DEFAULT_DIRECTORY_REFRESH);
    let timeout = parse_bounded_duration(
        timeout,
        &format!("{key}.directory_timeout"),
        &DIRECTORY_TIMEOUT_RANGE,
        report,
    )
    .or(defaults.directory_timeout)
    .unwrap_or(DEFAULT_DIRECTORY_TIMEOUT);
    (refresh, timeout)
}

/// An instance's poll interval and timeout, each from the instance, `defaults` or the built-in
/// default, within their bounds.
fn poll_timing(
    key: &str,
    interval: Option<&str>,
    timeout: Option<&str>,
    defaults: &Defaults,
    report: &mut impl FnMut(String, String),
) -> (Duration, Duration) {
    let poll_interval = parse_bounded_duration(
        interval,
        &format!("{key}.poll_interval"),
        &POLL_INTERVAL_RANGE,
        report,
    )
    .or(defaults.poll_interval)
    .unwrap_or(DEFAULT_POLL_INTERVAL);
    // Without a timeout of its own a poll may take its interval, at least a minute (the budget
    // may make it wait) and at most the longest timeout: always within the range.
    let poll_timeout = parse_bounded_duration(
        timeout,
        &format!("{key}.poll_timeout"),
        &POLL_TIMEOUT_RANGE,
        report,
    )
    .or(defaults.poll_timeout)
    .unwrap_or(
        poll_interval
            .max(MIN_DEFAULT_POLL_TIMEOUT)
            .min(*POLL_TIMEOUT_RANGE.end()),
    );
    (poll_interval, poll_timeout)
}

/// Validates one queue set; its name's uniqueness is checked by the caller.
fn validate_queue_set(
    set_key: &str,
    raw_set: RawQueueSet,
    instance_id: &str,
    report: &mut impl FnMut(String, String),
) -> QueueSet {
    let selector = set_selector(
        set_key,
        &raw_set.queues,
        raw_set.routing_profiles,
        raw_set.hierarchy_group,
        instance_id,
        report,
    );
    let discovers = matches!(&raw_set.queues, Some(RawQueues::Keyword(word)) if word == "all");
    if !discovers {
        for (which, given) in [("include", &raw_set.include), ("exclude", &raw_set.exclude)] {
            if given.is_some() {
                report(
                    format!("{set_key}.{which}"),
                    "only goes with `queues: all` (a list, routing profiles or a hierarchy group name the agents already)".into(),
                );
            }
        }
    }
    let (queue_ids, queue_names, discovery) = set_queues(
        set_key,
        raw_set.queues,
        (raw_set.include, raw_set.exclude),
        instance_id,
        report,
    );
    let service_level_thresholds = raw_set
        .service_level_thresholds
        .map(|entries| {
            parse_thresholds(
                &entries,
                &format!("{set_key}.service_level_thresholds"),
                report,
            )
        })
        .unwrap_or_default();
    let service_level_target = check_target(
        raw_set.service_level_target,
        &format!("{set_key}.service_level_target"),
        report,
    );
    QueueSet {
        name: raw_set.name,
        queue_ids,
        queue_names,
        discovery,
        selector,
        service_level_thresholds,
        service_level_target,
    }
}

/// How a set picks its agents: exactly one of `queues`, `routing_profiles` and
/// `hierarchy_group`.
fn set_selector(
    set_key: &str,
    queues: &Option<RawQueues>,
    routing_profiles: Option<Vec<String>>,
    hierarchy_group: Option<String>,
    instance_id: &str,
    report: &mut impl FnMut(String, String),
) -> AgentSelector {
    match (queues, routing_profiles, hierarchy_group) {
        (None, Some(profiles), None) => {
            let (ids, names) = validate_references(
                &profiles,
                instance_id,
                &format!("{set_key}.routing_profiles"),
                ResourceKind::RoutingProfile,
                report,
            );
            AgentSelector::RoutingProfiles { ids, names }
        }
        (None, None, Some(group)) => {
            match parse_reference(&group, instance_id, ResourceKind::HierarchyGroup) {
                Ok(group) => AgentSelector::HierarchyGroup(group),
                Err(message) => {
                    report(format!("{set_key}.hierarchy_group"), message);
                    AgentSelector::Queues
                }
            }
        }
        (Some(_), None, None) => AgentSelector::Queues,
        (None, None, None) => {
            report(
                set_key.to_string(),
                "give the set's agents with one of `queues`, `routing_profiles` or `hierarchy_group`".into(),
            );
            AgentSelector::Queues
        }
        _ => {
            report(
                set_key.to_string(),
                "give only one of `queues`, `routing_profiles` and `hierarchy_group`; a set picks its agents one way".into(),
            );
            AgentSelector::Queues
        }
    }
}

/// The queues of a set: IDs and names from a list, or the patterns of `queues: all`; nothing
/// for a set that picks its agents another way.
fn set_queues(
    set_key: &str,
    queues: Option<RawQueues>,
    (include, exclude): (Option<String>, Option<String>),
    instance_id: &str,
    report: &mut impl FnMut(String, String),
) -> (Vec<String>, Vec<String>, Option<QueueDiscovery>) {
    match queues {
        None => (Vec::new(), Vec::new(), None),
        Some(RawQueues::Keyword(word)) if word == "all" => {
            let mut pattern = |raw: Option<String>, which: &str| {
                raw.and_then(|raw| match regex::Regex::new(&raw) {
                    Ok(re) => Some(re),
                    Err(error) => {
                        report(
                            format!("{set_key}.{which}"),
                            format!("{raw:?} is not a regular expression: {error}"),
                        );
                        None
                    }
                })
            };
            let include = pattern(include, "include");
            let exclude = pattern(exclude, "exclude");
            (
                Vec::new(),
                Vec::new(),
                Some(QueueDiscovery { include, exclude }),
            )
        }
        Some(queues) => {
            let (ids, names) =
                validate_queues(queues, instance_id, &format!("{set_key}.queues"), report);
            (ids, names, None)
        }
    }
}

/// A `series_limit`, within [`SERIES_LIMIT_RANGE`].
fn check_series_limit(
    value: Option<usize>,
    key: &str,
    report: &mut impl FnMut(String, String),
) -> Option<usize> {
    check_range(
        value?,
        key,
        &SERIES_LIMIT_RANGE,
        "data series one queue set publishes",
        report,
    )
}

/// The IDs and the names of a `queues:` list: a UUID or an ARN is an ID, anything else a name.
fn validate_queues(
    raw: RawQueues,
    instance_id: &str,
    key: &str,
    report: &mut impl FnMut(String, String),
) -> (Vec<String>, Vec<String>) {
    match raw {
        RawQueues::List(entries) => {
            validate_references(&entries, instance_id, key, ResourceKind::Queue, report)
        }
        RawQueues::Keyword(word) => {
            report(
                key.to_string(),
                format!("expected a list of queue IDs or ARNs or the word `all`, found {word:?}"),
            );
            (Vec::new(), Vec::new())
        }
    }
}

/// Whether `entry` looks like an ID or ARN rather than a name. A mistyped ID stays an ID
/// error rather than becoming a name that never resolves (hex digits and dashes, such as a
/// truncated UUID, or the length and dashes of one).
fn id_shaped(entry: &str) -> bool {
    entry.starts_with("arn:")
        || (entry.contains('-') && entry.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
        || (entry.len() == 36
            && [8, 13, 18, 23]
                .iter()
                .all(|&at| entry.as_bytes().get(at) == Some(&b'-')))
}

/// One reference to a resource of `kind`: its bare ID, or its name (resolved later through
/// the routing directory). `Err` says what is wrong with it.
fn parse_reference(entry: &str, instance_id: &str, kind: ResourceKind) -> Result<IdOrName, String> {
    if id_shaped(entry) {
        return ids::parse_resource(entry, instance_id, kind).map(IdOrName::Id);
    }
    if entry.trim().is_empty() || entry.chars().any(char::is_control) {
        let noun = kind.noun();
        return Err(format!(
            "{entry:?} is neither a {noun} ID, a {noun} ARN nor a {noun} name"
        ));
    }
    Ok(IdOrName::Name(entry.to_string()))
}

/// The IDs and the names of a list of references to resources of `kind`, each at most once.
fn validate_references(
    entries: &[String],
    instance_id: &str,
    key: &str,
    kind: ResourceKind,
    report: &mut impl FnMut(String, String),
) -> (Vec<String>, Vec<String>) {
    let noun = kind.noun();
    if entries.is_empty() {
        report(
            key.to_string(),
            format!("the list is empty; give at least one {noun} ID, ARN or name"),
        );
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut found_ids = Vec::with_capacity(entries.len());
    let mut found_names = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let entry_key = format!("{key}[{index}]");
        let (seen_key, shown) = match parse_reference(entry, instance_id, kind) {
            Ok(IdOrName::Id(id)) => (id.clone(), IdOrName::Id(id)),
            Ok(IdOrName::Name(name)) => (format!("name:{name}"), IdOrName::Name(name)),
            Err(message) => {
                report(entry_key, message);
                continue;
            }
        };
        if let Some(first) = seen.insert(seen_key, index) {
            let what = match &shown {
                IdOrName::Id(id) => id.clone(),
                IdOrName::Name(name) => format!("{name:?}"),
            };
            report(
                entry_key,
                format!("{noun} {what} is listed twice (first at {key}[{first}])"),
            );
            continue;
        }
        match shown {
            IdOrName::Id(id) => found_ids.push(id),
            IdOrName::Name(name) => found_names.push(name),
        }
    }
    (found_ids, found_names)
}

/// A `directory_refresh_interval`, within [`DIRECTORY_REFRESH_RANGE`].
fn parse_refresh_interval(
    value: Option<&str>,
    key: &str,
    report: &mut impl FnMut(String, String),
) -> Option<Duration> {
    let interval = parse_duration_key(value, key, report)?;
    check_duration_range(
        interval,
        value?,
        key,
        &DIRECTORY_REFRESH_RANGE,
        " (each read costs one ListQueues per 1,000 queues and one SearchRoutingProfiles per 500 routing profiles)",
        report,
    )
}

fn check_name(name: &str, key: &str, report: &mut impl FnMut(String, String)) {
    let problem = if name.trim().is_empty() {
        Some("must not be empty".to_string())
    } else if name.trim() != name {
        Some(format!("{name:?} has leading or trailing white space"))
    } else if name.chars().count() > MAX_NAME_LEN {
        Some(format!("is longer than {MAX_NAME_LEN} characters"))
    } else if name.chars().any(char::is_control) {
        Some(format!("{name:?} contains control characters"))
    } else {
        None
    };
    if let Some(message) = problem {
        report(key.to_string(), message);
    }
}

/// Accepts region codes such as `eu-west-2`, `us-gov-west-1`, `ap-southeast-5`.
pub(super) fn check_region(region: &str) -> Result<(), String> {
    let parts: Vec<&str> = region.split('-').collect();
    let well_formed = parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "{region:?} is not an AWS region code (expected something like eu-west-2)"
        ))
    }
}

pub(super) fn check_endpoint_url(url: &str) -> Result<(), String> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|error| format!("{url:?} is not a URL: {error}"))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http" | "https"), Some(_)) => Ok(()),
        _ => Err(format!(
            "{url:?} must be an absolute http:// or https:// URL such as http://127.0.0.1:8808"
        )),
    }
}
