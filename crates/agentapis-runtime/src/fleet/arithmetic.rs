//! The arithmetic of the limits, shared by the stores: the client-side rate's schedule (GCRA)
//! and the server-stated budget's fold, count-down and probe. Pure functions of the stored
//! state and the time in nanoseconds; the in-memory store calls them, the Redis scripts do the
//! same in Lua (`redis.rs`), and the conformance suite checks both agree.

use std::time::Duration;

use super::Quota;

/// One step of the generic cell rate algorithm with reservation: when the next place is at most
/// `max_wait` away, the new arrival time and the wait until the place; else the wait alone.
/// The Redis script does the same in Lua.
pub(crate) fn gcra(tat: u64, now: u64, quota: Quota, max_wait: Duration) -> Result<(u64, Duration), Duration> {
    let tat = tat.max(now);
    let allowed_from = tat.saturating_sub(quota.tolerance_nanos());
    let wait = Duration::from_nanos(allowed_from.saturating_sub(now));
    if wait > max_wait {
        return Err(wait);
    }
    Ok((tat.saturating_add(quota.interval_nanos()), wait))
}

/// Resets this close are one window seen through whole-second headers.
const ROUNDING: u64 = 1_000_000_000;

/// Folds a response's `remaining`/`reset` into a stored budget: a later reset is a new window
/// (its count replaces the old one); within one window the smaller count wins, since responses
/// arrive out of order and each request already taken is counted.
pub(crate) fn note(budget: &mut (u64, u64, u64), now: u64, remaining: u64, reset: u64) {
    let (left, at, probe) = *budget;
    // A spent window the server now contradicts: requests remain until a reset that is still
    // ahead and earlier than ours (a probe's answer after a wrong or distant reset). The
    // server's word replaces ours, or a wrong reset would hold the client to one probe per
    // interval until it passed.
    if left == 0 && at > now && remaining > 0 && reset > now && reset.saturating_add(ROUNDING) < at {
        *budget = (remaining, reset, probe);
        return;
    }
    // A late answer from a window that has passed says nothing about the current one.
    if at > now && (reset <= now || reset.saturating_add(ROUNDING) < at) {
        return;
    }
    // Resets a second apart are one window seen through rounding (whole-second headers).
    if at <= now || reset > at.saturating_add(ROUNDING) {
        *budget = (remaining, reset, probe);
    } else {
        *budget = (left.min(remaining), at.max(reset), probe);
    }
}

/// A budget just noted as spent until a reset more than `probe_interval` away, with no probe
/// pending: the first probe goes an interval from now, not at once (the Redis script does the
/// same). Requests sent at once would only be refused; a wrong reset still cannot lock anyone
/// out for longer than the interval.
pub(crate) fn hold_first_probe(budget: &mut (u64, u64, u64), now: u64, probe_interval: u64) {
    let (left, at, probe) = *budget;
    if left == 0 && at > now.saturating_add(probe_interval) && probe <= now {
        budget.2 = now.saturating_add(probe_interval);
    }
}

/// After a spent window passes, how long the others wait for the probe's answer at most (the
/// runtime wakes them as soon as it lands).
pub(crate) const PROBE_GAP: u64 = 1_000_000_000;

/// Takes one request from a stored budget: `None` when it may go. A spent budget whose reset is
/// further than `probe_interval` away lets one request through per interval, for every holder
/// of the budget together (its answer states the budget afresh; a wrong or hostile reset time
/// cannot lock a fleet out). When a spent window passes, one request goes first and the others
/// wait (up to [`PROBE_GAP`]) for its answer to state the new window, so the reset instant does
/// not release every waiter at once into a budget nobody knows yet.
pub(crate) fn take(budget: &mut (u64, u64, u64), now: u64, probe_interval: u64) -> Option<Duration> {
    let (left, at, _) = *budget;
    if at <= now {
        if left > 0 {
            return None; // the window passed unspent: nothing to fear
        }
        return self_probe(budget, now, PROBE_GAP);
    }
    if left > 0 {
        budget.0 = left - 1;
        return None;
    }
    let wait = at - now;
    if wait <= probe_interval {
        return Some(Duration::from_nanos(wait));
    }
    self_probe(budget, now, probe_interval)
}

/// Lets this request go as the probe when none went within `gap`; else the wait for the next.
fn self_probe(budget: &mut (u64, u64, u64), now: u64, gap: u64) -> Option<Duration> {
    let probe = budget.2;
    if probe <= now {
        budget.2 = now.saturating_add(gap);
        return None;
    }
    Some(Duration::from_nanos(probe - now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcra_spaces_requests_after_the_burst() {
        let q = Quota::new(60, 2); // one a second, two at once
        let none = Duration::ZERO;
        let (tat, wait) = gcra(0, 0, q, none).expect("first");
        assert_eq!(wait, none);
        let (tat, _) = gcra(tat, 0, q, none).expect("second, from the burst");
        assert_eq!(gcra(tat, 0, q, none), Err(Duration::from_secs(1)), "third must wait");
        // Willing to wait: the third reserves the place a second away, the fourth the next.
        let (tat, wait) = gcra(tat, 0, q, Duration::from_secs(5)).expect("reserved");
        assert_eq!(wait, Duration::from_secs(1));
        let (_, wait) = gcra(tat, 0, q, Duration::from_secs(5)).expect("reserved");
        assert_eq!(wait, Duration::from_secs(2));
        // A long quiet spell earns no more than the burst.
        let (tat, _) = gcra(0, 100_000_000_000, q, none).expect("after quiet");
        let (tat, _) = gcra(tat, 100_000_000_000, q, none).expect("burst");
        assert!(gcra(tat, 100_000_000_000, q, none).is_err());
    }

    const MINUTE: u64 = 60_000_000_000;

    #[test]
    fn budgets_count_down_within_a_window_and_forget_it_after() {
        let mut b = (2, 10_000_000_000, 0);
        assert_eq!(take(&mut b, 0, MINUTE), None);
        assert_eq!(take(&mut b, 0, MINUTE), None);
        assert_eq!(take(&mut b, 1_000_000_000, MINUTE), Some(Duration::from_secs(9)));
        // A late response from the same window cannot raise the count.
        note(&mut b, 1, 5, 10_000_000_000);
        assert_eq!(b.0, 0);
        // The next window replaces it.
        note(&mut b, 1, 5, 20_000_000_000);
        assert_eq!((b.0, b.1), (5, 20_000_000_000));
        assert_eq!(take(&mut b, 25_000_000_000, MINUTE), None, "passed unspent: go");
    }

    #[test]
    fn after_a_spent_window_one_probe_goes_first() {
        let mut b = (0, 10_000_000_000, 0);
        let after = 10_000_000_001;
        assert_eq!(take(&mut b, after, MINUTE), None, "the probe");
        assert_eq!(
            take(&mut b, after, MINUTE),
            Some(Duration::from_nanos(PROBE_GAP)),
            "the others wait for its answer"
        );
        // Its answer states the new window, which replaces the passed one at once.
        note(&mut b, after + 1, 9, 11_000_000_000);
        assert_eq!((b.0, b.1), (9, 11_000_000_000));
        assert_eq!(take(&mut b, after + 2, MINUTE), None);
        assert_eq!(b.0, 8);
        // A late answer from the passed window cannot spend the new one.
        note(&mut b, after + 3, 0, 10_000_000_000);
        assert_eq!((b.0, b.1), (8, 11_000_000_000));
    }

    #[test]
    fn a_spent_distant_window_holds_the_first_probe_an_interval_and_a_contradiction_replaces_it() {
        let day = 24 * 3600 * 1_000_000_000;
        let mut b = (5, day, 0);
        note(&mut b, 0, 0, day);
        hold_first_probe(&mut b, 0, MINUTE);
        assert_eq!(
            take(&mut b, 1, MINUTE),
            Some(Duration::from_nanos(MINUTE - 1)),
            "no probe at once"
        );
        assert_eq!(take(&mut b, MINUTE, MINUTE), None, "the probe, an interval later");
        // Its answer: 3 remain until a reset in 30 s. The spent day is the server's no longer.
        note(&mut b, MINUTE + 1, 3, MINUTE + 30_000_000_000);
        assert_eq!((b.0, b.1), (3, MINUTE + 30_000_000_000));
        assert_eq!(take(&mut b, MINUTE + 2, MINUTE), None);
        // A late answer from the same (now current) window still cannot raise the count.
        note(&mut b, MINUTE + 3, 9, MINUTE + 30_000_000_000);
        assert_eq!(b.0, 2);
    }

    #[test]
    fn a_distant_reset_lets_one_probe_through_per_interval() {
        let day = 24 * 3600 * 1_000_000_000;
        let mut b = (0, day, 0);
        assert_eq!(take(&mut b, 0, MINUTE), None, "the probe");
        assert_eq!(
            take(&mut b, 1, MINUTE),
            Some(Duration::from_nanos(MINUTE - 1)),
            "the others wait"
        );
        assert_eq!(take(&mut b, MINUTE, MINUTE), None, "the next probe, an interval later");
        assert!(take(&mut b, MINUTE, MINUTE).is_some());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    const MINUTE: u64 = 60_000_000_000;

    proptest! {
        /// Whatever the quota and clock, one instant admits at most `burst` requests, and no
        /// input panics or overflows.
        #[test]
        fn gcra_admits_at_most_the_burst_at_once(per_minute in any::<u32>(), burst in 0u32..50, now in any::<u64>(), tat in any::<u64>()) {
            let quota = Quota::new(per_minute, burst);
            let mut tat = tat;
            let mut admitted = 0u32;
            for _ in 0..60 {
                match gcra(tat, now, quota, Duration::ZERO) {
                    Ok((next, wait)) => { prop_assert_eq!(wait, Duration::ZERO); tat = next; admitted += 1; }
                    Err(wait) => { prop_assert!(wait > Duration::ZERO); break; }
                }
            }
            prop_assert!(admitted <= quota.burst);
        }

        /// Budgets fed any remaining/reset values never go up within a window and never panic.
        #[test]
        fn budgets_never_panic(steps in proptest::collection::vec((any::<u64>(), any::<u64>(), any::<u64>(), any::<bool>()), 1..40)) {
            let mut budget = (0u64, 0u64, 0u64);
            for (now, remaining, reset, taking) in steps {
                if taking {
                    let before = budget;
                    if take(&mut budget, now, MINUTE).is_none() && before.1 > now && before.0 > 0 {
                        prop_assert_eq!(budget.0, before.0 - 1);
                    }
                } else {
                    note(&mut budget, now, remaining, reset);
                }
            }
        }
    }
}
