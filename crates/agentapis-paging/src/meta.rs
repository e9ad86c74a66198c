//! The paging facts a page body carries, and which body fields carry them.
//!
//! The generator reads [`BODY_FIELDS`] to decide which fields of a page body it copies into a
//! [`PageMeta`], and emits one typed assignment per field (`meta.total_items =
//! MetaValue::into_meta(page.total_count)`): a field renamed on either side is a compile error in
//! the generated crate, not a silently empty value.

/// Paging facts a response body carried (all optional: each API sends a different subset).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageMeta {
    /// Cursor for the page after this one.
    pub after_cursor: Option<String>,
    /// Cursor for the page before this one.
    pub before_cursor: Option<String>,
    /// Whether more entries follow (cursor style).
    pub has_more: Option<bool>,
    /// Whether a next page exists (page style).
    pub has_next: Option<bool>,
    /// The page number the server says it returned.
    pub page: Option<u64>,
    /// Total pages.
    pub total_pages: Option<u64>,
    /// Total entries.
    pub total_items: Option<u64>,
}

/// A field of [`PageMeta`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetaField {
    /// [`PageMeta::after_cursor`].
    AfterCursor,
    /// [`PageMeta::before_cursor`].
    BeforeCursor,
    /// [`PageMeta::has_more`].
    HasMore,
    /// [`PageMeta::has_next`].
    HasNext,
    /// [`PageMeta::page`].
    Page,
    /// [`PageMeta::total_pages`].
    TotalPages,
    /// [`PageMeta::total_items`].
    TotalItems,
}

impl MetaField {
    /// The field's name in [`PageMeta`] (what generated code assigns to).
    pub fn name(self) -> &'static str {
        match self {
            MetaField::AfterCursor => "after_cursor",
            MetaField::BeforeCursor => "before_cursor",
            MetaField::HasMore => "has_more",
            MetaField::HasNext => "has_next",
            MetaField::Page => "page",
            MetaField::TotalPages => "total_pages",
            MetaField::TotalItems => "total_items",
        }
    }
}

/// Page-body field names (as the generated Rust struct names them) and the fact each carries.
pub const BODY_FIELDS: &[(&str, MetaField)] = &[
    ("after_cursor", MetaField::AfterCursor),
    ("before_cursor", MetaField::BeforeCursor),
    ("has_more", MetaField::HasMore),
    ("has_next", MetaField::HasNext),
    ("page", MetaField::Page),
    ("total_pages", MetaField::TotalPages),
    ("total_entries", MetaField::TotalItems),
    ("total_count", MetaField::TotalItems),
];

/// A generated body field's value as a paging fact: the generated types vary (`String` or
/// `Option<String>`, `i64`, `u64` or `f64`), and a value that cannot be one (a negative count,
/// an empty cursor) is no fact at all.
pub trait MetaValue<T> {
    /// The fact, if the value is one.
    fn into_meta(self) -> Option<T>;
}

impl MetaValue<String> for String {
    fn into_meta(self) -> Option<String> {
        (!self.is_empty()).then_some(self)
    }
}

impl MetaValue<bool> for bool {
    fn into_meta(self) -> Option<bool> {
        Some(self)
    }
}

macro_rules! counts {
    ($($int:ty),*) => {$(
        impl MetaValue<u64> for $int {
            fn into_meta(self) -> Option<u64> {
                u64::try_from(self).ok()
            }
        }
    )*};
}

counts!(u64, u32, i64, i32);

impl MetaValue<u64> for f64 {
    fn into_meta(self) -> Option<u64> {
        // Only whole, non-negative numbers a u64 holds exactly are counts.
        const LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53
        (self.fract() == 0.0 && (0.0..=LIMIT).contains(&self)).then_some(self as u64)
    }
}

impl<T, V: MetaValue<T>> MetaValue<T> for Option<V> {
    fn into_meta(self) -> Option<T> {
        self?.into_meta()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fact<T, V: MetaValue<T>>(value: V) -> Option<T> {
        value.into_meta()
    }

    #[test]
    fn values_of_every_generated_type_become_facts() {
        assert_eq!(fact::<String, _>(Some("c2".to_owned())), Some("c2".to_owned()));
        assert_eq!(fact::<String, _>(String::new()), None);
        assert_eq!(fact::<String, _>(None::<String>), None);
        assert_eq!(fact::<bool, _>(Some(true)), Some(true));
        assert_eq!(fact::<u64, _>(3i64), Some(3));
        assert_eq!(fact::<u64, _>(-1i64), None);
        assert_eq!(fact::<u64, _>(Some(41.0f64)), Some(41));
        assert_eq!(fact::<u64, _>(41.5f64), None);
        assert_eq!(fact::<u64, _>(f64::NAN), None);
        assert_eq!(fact::<u64, _>(-0.0f64), Some(0));
    }

    #[test]
    fn every_body_field_names_a_meta_field() {
        for (body, field) in BODY_FIELDS {
            assert!(!body.is_empty() && !field.name().is_empty());
        }
        let names: Vec<&str> = BODY_FIELDS.iter().map(|(body, _)| *body).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(names.len(), unique.len(), "a body field is listed twice");
    }

    proptest! {
        #[test]
        fn any_float_is_a_count_or_nothing(value in proptest::num::f64::ANY) {
            if let Some(n) = fact::<u64, _>(value) {
                prop_assert_eq!(n as f64, value);
            }
        }
    }
}
