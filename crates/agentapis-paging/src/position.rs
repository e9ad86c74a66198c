//! Where a page starts, as a value a caller can persist and parse back.

/// Where a page starts. Persist it (it is `Display`/`FromStr`) to resume a walk later.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Position {
    /// The first page (no page number or cursor sent).
    First,
    /// A 1-based page number.
    Page(u64),
    /// The page after this cursor (newer entries, for ArchAstro feeds).
    After(String),
    /// The page before this cursor (older entries).
    Before(String),
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Position::First => f.write_str("first"),
            Position::Page(n) => write!(f, "page:{n}"),
            Position::After(c) => write!(f, "after:{c}"),
            Position::Before(c) => write!(f, "before:{c}"),
        }
    }
}

/// A string that is not a [`Position`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPosition(pub String);

impl std::fmt::Display for BadPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "not a page position: {:?} (expected first, page:N, after:C or before:C)",
            self.0
        )
    }
}

impl std::error::Error for BadPosition {}

impl std::str::FromStr for Position {
    type Err = BadPosition;

    fn from_str(s: &str) -> Result<Self, BadPosition> {
        let bad = || BadPosition(s.chars().take(100).collect());
        match s.split_once(':') {
            None if s == "first" => Ok(Position::First),
            Some(("page", n)) => n.parse().ok().filter(|n| *n >= 1).map(Position::Page).ok_or_else(bad),
            Some(("after", c)) if !c.is_empty() => Ok(Position::After(c.to_owned())),
            Some(("before", c)) if !c.is_empty() => Ok(Position::Before(c.to_owned())),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn positions_round_trip_through_text() {
        for p in [
            Position::First,
            Position::Page(7),
            Position::After("g3QAAAAB:x".into()),
            Position::Before("abc".into()),
        ] {
            assert_eq!(p.to_string().parse::<Position>(), Ok(p.clone()));
        }
        for bad in ["", "page:0", "page:x", "after:", "sideways:1", "firstish"] {
            assert!(bad.parse::<Position>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_without_panicking(text in ".{0,300}") {
            match text.parse::<Position>() {
                Ok(p) => prop_assert_eq!(p.to_string().parse::<Position>(), Ok(p)),
                Err(e) => prop_assert!(e.0.chars().count() <= 100),
            }
        }
    }
}
