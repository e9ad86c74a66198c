//! Scripted faults: a status, a 429, a dropped connection or a delay, played before routing on.

use super::{error, Reply, State};
use crate::spec::Operation;
use crate::{normalize, Fault};

/// Connection drops surface as a service error: hyper closes the connection without answering.
#[derive(Debug)]
pub(crate) struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by a scripted fault")
    }
}

impl std::error::Error for Dropped {}

/// Plays the fault scripted for `op`, if any (counting down the ones limited in number).
pub(crate) async fn play_fault(state: &State, op: &Operation) -> Result<Option<Reply>, Dropped> {
    let keys = [normalize(&op.id), normalize(&format!("{} {}", op.method, op.template))];
    let fault = {
        let Ok(mut faults) = state.faults.lock() else {
            return Ok(None);
        };
        let Some(key) = keys.iter().find(|k| faults.contains_key(*k)).cloned() else {
            return Ok(None);
        };
        let fault = faults.get(&key).copied();
        // Count down the faults that apply a limited number of times.
        if let Some(Fault::Status { times, .. } | Fault::RateLimited { times, .. } | Fault::Drop { times }) =
            faults.get_mut(&key)
        {
            *times = times.saturating_sub(1);
            if *times == 0 {
                faults.remove(&key);
            }
        }
        fault
    };
    match fault {
        Some(Fault::Status { status, .. }) => Ok(Some(error(
            state.api,
            status,
            "SCRIPTED_FAULT",
            "scripted failure",
            &[],
        ))),
        Some(Fault::RateLimited { retry_after_secs, .. }) => Ok(Some(error(
            state.api,
            429,
            "RATE_LIMITED",
            "rate limited (scripted)",
            &[("retry-after", retry_after_secs.to_string())],
        ))),
        Some(Fault::Drop { .. }) => Err(Dropped),
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            Ok(None)
        }
        None => Ok(None),
    }
}
