//! Amazon Connect identifiers: instance and queue IDs (UUIDs) and their ARNs.
//!
//! Errors are plain strings meant to be wrapped by the caller with the key path.

/// An instance reference reduced to its ID, with the region its ARN names (if it was an ARN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRef {
    /// The bare instance ID.
    pub id: String,
    /// The region from the ARN; `None` for a bare ID.
    pub region: Option<String>,
    /// The account from the ARN; `None` for a bare ID.
    pub account: Option<String>,
}

/// True for the canonical 8-4-4-4-12 hexadecimal form Connect uses for IDs.
pub fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

/// The parts of `arn:partition:service:region:account:resource`.
struct Arn<'a> {
    service: &'a str,
    region: &'a str,
    account: &'a str,
    resource: &'a str,
}

fn split_arn(text: &str) -> Option<Arn<'_>> {
    let mut parts = text.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let partition = parts.next()?;
    let arn = Arn {
        service: parts.next()?,
        region: parts.next()?,
        account: parts.next()?,
        resource: parts.next()?,
    };
    (!partition.is_empty()).then_some(arn)
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Parses an instance ID or `arn:aws:connect:REGION:ACCOUNT:instance/ID`.
pub fn parse_instance(text: &str) -> Result<InstanceRef, String> {
    if is_uuid(text) {
        return Ok(InstanceRef {
            id: text.to_string(),
            region: None,
            account: None,
        });
    }
    let expected = "expected an instance ID such as 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d or an ARN such as arn:aws:connect:eu-west-2:123456789012:instance/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    let arn = split_arn(text).ok_or_else(|| format!("{text:?} is malformed; {expected}"))?;
    match arn.resource.strip_prefix("instance/") {
        Some(id)
            if arn.service == "connect"
                && is_uuid(id)
                && is_account_id(arn.account)
                && !arn.region.is_empty() =>
        {
            Ok(InstanceRef {
                id: id.to_string(),
                region: Some(arn.region.to_string()),
                account: Some(arn.account.to_string()),
            })
        }
        _ => Err(format!(
            "{text:?} is not a Connect instance ARN; {expected}"
        )),
    }
}

/// A resource of an instance that the configuration may name by ID or ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// A queue (`.../queue/ID`).
    Queue,
    /// A routing profile (`.../routing-profile/ID`).
    RoutingProfile,
    /// A user hierarchy group (`.../agent-group/ID`).
    HierarchyGroup,
}

impl ResourceKind {
    /// The resource type in its ARN.
    fn arn_segment(self) -> &'static str {
        match self {
            Self::Queue => "queue",
            Self::RoutingProfile => "routing-profile",
            Self::HierarchyGroup => "agent-group",
        }
    }

    /// What it is called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Queue => "queue",
            Self::RoutingProfile => "routing profile",
            Self::HierarchyGroup => "hierarchy group",
        }
    }
}

/// Parses a queue ID or queue ARN and returns the bare queue ID. A queue ARN must belong to
/// `instance_id`.
pub fn parse_queue(text: &str, instance_id: &str) -> Result<String, String> {
    parse_resource(text, instance_id, ResourceKind::Queue)
}

/// Parses the ID or ARN of a resource of `kind` and returns the bare ID. An ARN must belong to
/// `instance_id`.
pub fn parse_resource(text: &str, instance_id: &str, kind: ResourceKind) -> Result<String, String> {
    let noun = kind.noun();
    let segment = kind.arn_segment();
    if is_uuid(text) {
        return Ok(text.to_string());
    }
    if let Some(arn) = split_arn(text) {
        let mut resource = arn.resource.split('/');
        return match (
            arn.service,
            resource.next(),
            resource.next(),
            resource.next(),
            resource.next(),
            resource.next(),
        ) {
            ("connect", Some("instance"), Some(owner), Some(found), Some(id), None)
                if found == segment && is_uuid(id) =>
            {
                if owner == instance_id {
                    Ok(id.to_string())
                } else {
                    Err(format!(
                        "{noun} ARN {text:?} belongs to instance {owner}, not to this instance ({instance_id})"
                    ))
                }
            }
            _ => Err(format!(
                "{text:?} is not a Connect {noun} ARN (arn:aws:connect:REGION:ACCOUNT:instance/INSTANCE_ID/{segment}/ID)"
            )),
        };
    }
    Err(format!(
        "{text:?} is not a {noun} ID (a UUID such as 7e2f1c44-1b2a-4c3d-9e8f-0a1b2c3d4e5f) or a {noun} ARN"
    ))
}

/// A Kinesis data stream as the configuration names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRef {
    /// The stream's name.
    pub name: String,
    /// The region of its ARN; `None` for a bare name.
    pub region: Option<String>,
    /// The ARN, when given as one.
    pub arn: Option<String>,
}

/// Parses a Kinesis stream name (1 to 128 of `a-z A-Z 0-9 _ . -`) or
/// `arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`.
pub fn parse_stream(text: &str) -> Result<StreamRef, String> {
    let is_name = |name: &str| {
        (1..=128).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    };
    if let Some(arn) = split_arn(text) {
        return match arn.resource.strip_prefix("stream/") {
            Some(name)
                if arn.service == "kinesis"
                    && is_account_id(arn.account)
                    && is_name(name)
                    && !arn.region.is_empty() =>
            {
                Ok(StreamRef {
                    name: name.to_string(),
                    region: Some(arn.region.to_string()),
                    arn: Some(text.to_string()),
                })
            }
            _ => Err(format!(
                "{text:?} is not a Kinesis stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)"
            )),
        };
    }
    if is_name(text) {
        return Ok(StreamRef {
            name: text.to_string(),
            region: None,
            arn: None,
        });
    }
    Err(format!(
        "{text:?} is not a Kinesis stream name (1 to 128 letters, digits, `_`, `.` and `-`) or a stream ARN"
    ))
}

/// The account of a role ARN that [`check_role_arn`] accepted.
pub fn role_account(role_arn: &str) -> Option<String> {
    split_arn(role_arn).map(|arn| arn.account.to_string())
}

/// Checks `arn:aws:iam::ACCOUNT:role/NAME`.
pub fn check_role_arn(text: &str) -> Result<(), String> {
    match split_arn(text) {
        Some(arn)
            if arn.service == "iam"
                && arn.region.is_empty()
                && is_account_id(arn.account)
                && arn
                    .resource
                    .strip_prefix("role/")
                    .is_some_and(|name| !name.is_empty()) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "{text:?} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

    #[test]
    fn streams_by_name_or_arn() {
        let by_name = parse_stream("connect-agent-events").expect("a name");
        assert_eq!(
            (by_name.name.as_str(), by_name.region, by_name.arn),
            ("connect-agent-events", None, None)
        );
        let arn = "arn:aws:kinesis:eu-west-2:123456789012:stream/agents.v2";
        let by_arn = parse_stream(arn).expect("an ARN");
        assert_eq!(by_arn.name, "agents.v2");
        assert_eq!(by_arn.region.as_deref(), Some("eu-west-2"));
        assert_eq!(by_arn.arn.as_deref(), Some(arn));
        for bad in [
            "",
            "has space",
            "arn:aws:kinesis:eu-west-2:123:stream/x",
            "arn:aws:firehose:eu-west-2:123456789012:deliverystream/x",
        ] {
            assert!(parse_stream(bad).is_err(), "{bad:?}");
        }
        assert!(parse_stream(&"x".repeat(129)).is_err());
    }

    #[test]
    fn uuid_shape() {
        assert!(is_uuid(ID));
        assert!(is_uuid(&ID.to_uppercase()));
        assert!(!is_uuid("0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d"));
        assert!(!is_uuid("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4g"));
        assert!(!is_uuid(""));
    }

    #[test]
    fn instance_from_id_and_arn() {
        assert_eq!(parse_instance(ID).unwrap().region, None);
        let parsed = parse_instance(&format!(
            "arn:aws:connect:eu-west-2:123456789012:instance/{ID}"
        ))
        .unwrap();
        assert_eq!(parsed.id, ID);
        assert_eq!(parsed.region.as_deref(), Some("eu-west-2"));
        assert_eq!(parsed.account.as_deref(), Some("123456789012"));
        assert!(
            parse_instance(&format!("arn:aws:s3:eu-west-2:123456789012:instance/{ID}")).is_err()
        );
        assert!(parse_instance("prod").unwrap_err().contains("malformed"));
    }

    #[test]
    fn queue_from_id_and_arn() {
        let queue = "7e2f1c44-1b2a-4c3d-9e8f-0a1b2c3d4e5f";
        assert_eq!(parse_queue(queue, ID).unwrap(), queue);
        let arn = format!("arn:aws:connect:eu-west-2:123456789012:instance/{ID}/queue/{queue}");
        assert_eq!(parse_queue(&arn, ID).unwrap(), queue);
        let other = "arn:aws:connect:eu-west-2:123456789012:instance/1a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/queue/7e2f1c44-1b2a-4c3d-9e8f-0a1b2c3d4e5f";
        assert!(parse_queue(other, ID)
            .unwrap_err()
            .contains("not to this instance"));
        assert!(parse_queue("Support", ID)
            .unwrap_err()
            .contains("is not a queue ID"));
        let profile =
            format!("arn:aws:connect:eu-west-2:123456789012:instance/{ID}/routing-profile/{queue}");
        assert_eq!(
            parse_resource(&profile, ID, ResourceKind::RoutingProfile).unwrap(),
            queue
        );
        assert!(parse_resource(&profile, ID, ResourceKind::HierarchyGroup)
            .unwrap_err()
            .contains("/agent-group/ID"));
    }

    #[test]
    fn role_arn() {
        assert!(check_role_arn("arn:aws:iam::123456789012:role/connect-exporter").is_ok());
        assert_eq!(
            role_account("arn:aws:iam::123456789012:role/connect-exporter").as_deref(),
            Some("123456789012")
        );
        assert!(check_role_arn("arn:aws:iam::123456789012:role/").is_err());
        assert!(check_role_arn("arn:aws:iam:eu-west-2:123456789012:role/x").is_err());
    }
}
