//! Agentiv schedules, checked before they are sent: a five-field cron expression and an IANA
//! time zone.

use serde::Serialize;

use super::generated::types::{Schedule, ScheduleRequest};
use super::runs::to_object;
use super::Client;
use crate::{ArgumentError, Error, Response};

/// A schedule to create or replace for one agent.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSchedule {
    request: ScheduleRequest,
}

impl NewSchedule {
    /// Runs at `cron` (five fields: minute hour day-of-month month day-of-week, e.g.
    /// `0 6 * * 1-5`) in `timezone` (IANA, e.g. `Asia/Kolkata`), enabled, with empty input.
    /// Both are checked here, so a typo fails before anything is sent.
    pub fn new(cron: &str, timezone: &str) -> Result<Self, Error> {
        check_cron(cron)?;
        check_timezone(timezone)?;
        Ok(Self {
            request: ScheduleRequest {
                cron_expr: cron.trim().to_owned(),
                enabled: true,
                input_payload: serde_json::Map::new(),
                timezone: timezone.trim().to_owned(),
            },
        })
    }

    /// Whether the schedule is active (default true).
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.request.enabled = enabled;
        self
    }

    /// The input each scheduled run gets (a JSON object).
    pub fn input(mut self, input: impl Serialize) -> Result<Self, Error> {
        self.request.input_payload = to_object(input)?;
        Ok(self)
    }
}

/// Checks a standard five-field cron expression.
pub fn check_cron(cron: &str) -> Result<(), Error> {
    let fields = cron.split_whitespace().count();
    if fields != 5 {
        return Err(ArgumentError::Cron {
            expression: cron.to_owned(),
            reason: format!("{fields} fields; Agentiv takes five (minute hour day month weekday)"),
        }
        .into());
    }
    croner::Cron::new(cron).parse().map(|_| ()).map_err(|e| {
        ArgumentError::Cron {
            expression: cron.to_owned(),
            reason: e.to_string(),
        }
        .into()
    })
}

/// Checks an IANA time zone name.
pub fn check_timezone(timezone: &str) -> Result<(), Error> {
    timezone
        .trim()
        .parse::<chrono_tz::Tz>()
        .map(|_| ())
        .map_err(|_| ArgumentError::TimeZone(timezone.to_owned()).into())
}

impl Client {
    /// Every schedule of the account.
    pub async fn schedules(&self) -> Result<Response<Vec<Schedule>>, Error> {
        self.call(|api| api.list_schedules().send()).await
    }

    /// Creates or replaces the schedule of agent `slug`. Replacing is idempotent (a `PUT`-like
    /// upsert keyed by slug), but Agentiv exposes it as a POST, so it is not retried after it
    /// may have reached the server.
    pub async fn set_schedule(
        &self,
        slug: impl AsRef<str>,
        schedule: NewSchedule,
    ) -> Result<Response<Schedule>, Error> {
        let body = schedule.request;
        let slug = slug.as_ref();
        self.call(|api| api.upsert_schedule().agent_slug(slug).body(body).send())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_schedules_pass() {
        for cron in ["0 6 * * 1-5", "*/15 * * * *", "30 2 1 * 0", "0 0 * * 7"] {
            assert!(check_cron(cron).is_ok(), "{cron}");
        }
        for tz in ["Asia/Kolkata", "UTC", "America/Argentina/Buenos_Aires"] {
            assert!(check_timezone(tz).is_ok(), "{tz}");
        }
    }

    #[test]
    fn invalid_schedules_fail_with_a_clear_message() {
        for cron in [
            "",
            "0 6 * *",
            "0 0 6 * * 1-5",
            "61 * * * *",
            "0 25 * * *",
            "* * * * mon-xyz",
            "every day",
        ] {
            let Err(Error::InvalidArgument(ArgumentError::Cron { expression, .. })) = check_cron(cron) else {
                panic!("accepted {cron:?}")
            };
            assert_eq!(expression, cron);
        }
        for tz in ["", "Mars/Olympus", "IST+5:30", "asia/kolkata_x"] {
            assert!(
                matches!(
                    check_timezone(tz),
                    Err(Error::InvalidArgument(ArgumentError::TimeZone(_)))
                ),
                "{tz}"
            );
        }
        assert!(NewSchedule::new("0 6 * * 1-5", "Asia/Kolkata").is_ok());
        assert!(NewSchedule::new("0 6 * * 1-5", "Asia/Kolkata")
            .and_then(|s| s.input([1]))
            .is_err());
    }
}
