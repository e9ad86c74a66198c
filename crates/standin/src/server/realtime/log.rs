//! What the realtime side observed, kept for tests to read back: bounded, since clients feed it.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde_json::Value;

/// Each log keeps at most this many recent entries...
const LOG_CAP: usize = 10_000;
/// ...and at most this much JSON (as [`json_size`] counts it).
const LOG_BYTES: usize = 64 << 20;

/// A log that forgets its oldest entries past [`LOG_CAP`] entries or [`LOG_BYTES`].
pub(crate) struct Log<T> {
    entries: VecDeque<(T, usize)>,
    bytes: usize,
}

impl<T> Default for Log<T> {
    fn default() -> Self {
        Self {
            entries: VecDeque::new(),
            bytes: 0,
        }
    }
}

impl<T: Clone> Log<T> {
    pub(crate) fn push(&mut self, entry: T, size: usize) {
        self.entries.push_back((entry, size));
        self.bytes += size;
        while self.entries.len() > LOG_CAP || (self.bytes > LOG_BYTES && self.entries.len() > 1) {
            if let Some((_, size)) = self.entries.pop_front() {
                self.bytes -= size;
            }
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().map(|(entry, _)| entry)
    }

    pub(crate) fn snapshot(log: &Mutex<Self>) -> Vec<T> {
        log.lock().map(|l| l.iter().cloned().collect()).unwrap_or_default()
    }
}

/// The size of `value` as JSON text, near enough for a memory budget.
pub(crate) fn json_size(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len() + 2,
        Value::Array(items) => 2 + items.iter().map(json_size).sum::<usize>(),
        Value::Object(map) => 2 + map.iter().map(|(k, v)| k.len() + 4 + json_size(v)).sum::<usize>(),
        _ => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_forget_the_oldest_past_their_bounds() {
        let mut log = Log::default();
        for n in 0..LOG_CAP + 5 {
            log.push(n, 1);
        }
        assert_eq!((log.entries.len(), log.iter().next()), (LOG_CAP, Some(&5)));
        log.push(usize::MAX, LOG_BYTES);
        assert_eq!(log.iter().collect::<Vec<_>>(), vec![&usize::MAX], "the newest stays");
        assert_eq!(json_size(&serde_json::json!({"a": ["bc"]})), 2 + 1 + 4 + 2 + 4);
    }
}
