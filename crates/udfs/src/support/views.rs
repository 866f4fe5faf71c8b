//! String views as keys: a `Utf8View` row is a 16-byte view whose low 4 bytes are the
//! length; a string of at most 12 bytes is stored in the view itself. Such a view, with the
//! bytes past the length zeroed, is the string: equal strings have equal keys, so a short
//! string is looked up by one 16-byte integer instead of hashing and comparing its bytes.

/// The longest string a view holds inline.
pub(crate) const INLINE_LEN: u32 = 12;

/// The key of an inline view (`len ≤ 12`): the view with the bytes past its length zeroed.
pub(crate) fn inline_key(view: u128) -> u128 {
    let len = view as u32;
    if len >= INLINE_LEN {
        view
    } else {
        view & ((1u128 << (32 + 8 * len)) - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::builder::make_view;

    #[test]
    fn keys_ignore_bytes_past_the_length() {
        let clean = make_view(b"cart", 0, 0);
        let dirty = clean | (0xAB << 96);
        assert_ne!(clean, dirty);
        assert_eq!(inline_key(dirty), clean);
        let twelve = make_view(b"content_view", 0, 0);
        assert_eq!(inline_key(twelve), twelve);
        assert_eq!(inline_key(make_view(b"", 0, 0)), 0);
    }
}
