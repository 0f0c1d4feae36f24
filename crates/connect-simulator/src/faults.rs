//! Faults the simulator injects on purpose, to test how the exporter copes: throttling (at a
//! random rate or by a real quota, as Connect does), 5xx, latency, truncated JSON, connection
//! resets, and enum values no SDK knows yet.

use std::time::Duration;

use rand::Rng;
use serde_json::Value;

use crate::quota::{Quota, QuotaBucket};

/// What to inject. Rates are probabilities per request, from 0 to 1.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Answer `429 ThrottlingException`.
    pub throttle_rate: f64,
    /// Answer `500 InternalServiceException`.
    pub server_error_rate: f64,
    /// Wait this long before answering.
    pub latency: Duration,
    /// Answer 200 with the JSON cut in half.
    pub malformed_rate: f64,
    /// Close the connection without answering.
    pub reset_rate: f64,
    /// Replace contacts' initiation methods with a value no SDK knows.
    pub unknown_enum_rate: f64,
    /// Throttle GetCurrentUserData beyond this quota, like the real service.
    pub rate_limit: Option<Quota>,
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Answer,
    Reset,
    Throttle,
    ServerError,
    Malformed,
}

impl Faults {
    /// Checks that every rate is a probability.
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("throttle rate", self.throttle_rate),
            ("server error rate", self.server_error_rate),
            ("malformed rate", self.malformed_rate),
            ("reset rate", self.reset_rate),
            ("unknown enum rate", self.unknown_enum_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} {rate} is not between 0 and 1"));
            }
        }
        match self.rate_limit {
            Some(limit) if !(limit.rate > 0.0 && limit.burst >= 1.0) => {
                Err("the rate limit needs a rate above 0 and a burst of at least 1".into())
            }
            _ => Ok(()),
        }
    }

    /// Draws the fault for one request; `quota` is the real quota's bucket, if any.
    pub(crate) fn verdict(&self, quota: Option<&QuotaBucket>) -> Verdict {
        let mut rng = rand::rng();
        if rng.random_bool(self.reset_rate) {
            Verdict::Reset
        } else if quota.is_some_and(|bucket| !bucket.try_acquire())
            || rng.random_bool(self.throttle_rate)
        {
            Verdict::Throttle
        } else if rng.random_bool(self.server_error_rate) {
            Verdict::ServerError
        } else if rng.random_bool(self.malformed_rate) {
            Verdict::Malformed
        } else {
            Verdict::Answer
        }
    }

    /// Gives some contacts of a GetCurrentUserData body an initiation method from the future.
    pub(crate) fn scramble_enums(&self, body: &mut Value) {
        if self.unknown_enum_rate <= 0.0 {
            return;
        }
        let mut rng = rand::rng();
        let users = body.get_mut("UserDataList").and_then(Value::as_array_mut);
        for user in users.into_iter().flatten() {
            let contacts = user.get_mut("Contacts").and_then(Value::as_array_mut);
            for contact in contacts.into_iter().flatten() {
                if rng.random_bool(self.unknown_enum_rate) {
                    contact["InitiationMethod"] = Value::from("TELEPATHY");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_must_be_probabilities() {
        assert!(Faults::default().validate().is_ok());
        let bad = Faults {
            throttle_rate: 1.5,
            ..Faults::default()
        };
        assert!(bad.validate().unwrap_err().contains("throttle rate"));
    }

    #[test]
    fn certain_faults_always_happen() {
        let reset = Faults {
            reset_rate: 1.0,
            ..Faults::default()
        };
        assert_eq!(reset.verdict(None), Verdict::Reset);
        let none = Faults::default();
        assert_eq!(none.verdict(None), Verdict::Answer);
    }

    #[tokio::test(start_paused = true)]
    async fn the_quota_throttles_beyond_its_burst() {
        let faults = Faults::default();
        let quota = QuotaBucket::new(Quota {
            rate: 1.0,
            burst: 2.0,
        });
        let verdicts: Vec<Verdict> = (0..3).map(|_| faults.verdict(Some(&quota))).collect();
        assert_eq!(
            verdicts,
            vec![Verdict::Answer, Verdict::Answer, Verdict::Throttle]
        );
    }

    #[test]
    fn scrambling_replaces_initiation_methods() {
        let faults = Faults {
            unknown_enum_rate: 1.0,
            ..Faults::default()
        };
        let mut body =
            serde_json::json!({"UserDataList": [{"Contacts": [{"InitiationMethod": "INBOUND"}]}]});
        faults.scramble_enums(&mut body);
        assert_eq!(
            body["UserDataList"][0]["Contacts"][0]["InitiationMethod"],
            "TELEPATHY"
        );
    }
}
