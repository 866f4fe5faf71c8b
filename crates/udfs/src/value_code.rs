//! `value_code(x, 'v1', …, 'vN')`: which of N constant strings `x` equals, as a small
//! integer — so that many `x = 'vi'` tests of one column cost one pass over its strings.
//!
//! A segment library tests the event name against a dozen names, the category against
//! five, the channel against a few: each test is a pass comparing every row's string.
//! segmint's run rewrites such tests of one column into `value_code(x, …) = i`
//! (`segmint_compiler::with_value_codes`); DataFusion computes the code once per batch (a
//! common subexpression) and every test becomes a one-byte comparison.
//!
//! # Arguments
//! - `x`: a string (`VARCHAR`, `LARGE VARCHAR`, `VARCHAR VIEW`, or a dictionary of them).
//! - `v1 … vN`: 1 to 255 distinct constant strings.
//!
//! # Result
//! `TINYINT UNSIGNED`: `i` when `x` equals `vi` (byte for byte), `0` when it equals none,
//! NULL when `x` is NULL. So `value_code(x, …) = i` is exactly `x = vi`, NULLs included.
//!
//! # Example
//! ```sql
//! SELECT count(*) FILTER (WHERE value_code(event_name, 'cart', 'purchase') = 2) AS purchases
//! FROM events;
//! ```

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringViewArray, UInt8Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::support::args::string_value;
use crate::support::columnar::per_value;

const NAME: &str = "value_code";

/// The `value_code` scalar function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ValueCode {
    signature: Signature,
}

impl Default for ValueCode {
    fn default() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// Is `t` a string type `value_code` reads (after a cast to `Utf8View`)?
fn is_string(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => true,
        DataType::Dictionary(_, values) => is_string(values),
        _ => false,
    }
}

/// The view of an inline string (at most 12 bytes) with the bytes past its length zeroed:
/// equal strings have equal keys.
fn inline_key(view: u128) -> u128 {
    let len = view as u32;
    if len >= 12 {
        view
    } else {
        view & ((1u128 << (32 + 8 * len)) - 1)
    }
}

/// No inline view is all ones (its length would be 2³² − 1): the empty slot's key.
const EMPTY: u128 = u128::MAX;

/// The codes of the candidate strings, looked up by a row's 16-byte view: a short string's
/// view is the string itself, a long one's starts with its length and first four bytes.
struct Codes {
    /// Candidates of at most 12 bytes by their inline view, in an open-addressing table
    /// (linear probing, at most a quarter full): one multiply and usually one probe a row.
    slots: Vec<(u128, u8)>,
    /// `64 − log2(slots.len())`: the hash's top bits pick the slot.
    shift: u32,
    /// Longer candidates: (length and prefix, bytes, code).
    long: Vec<(u64, Vec<u8>, u8)>,
}

impl Codes {
    fn new(values: &[String]) -> Self {
        let short = values.iter().filter(|v| v.len() <= 12).count();
        let size = (4 * short).next_power_of_two().max(16);
        let mut codes = Codes {
            slots: vec![(EMPTY, 0); size],
            shift: 64 - size.trailing_zeros(),
            long: Vec::new(),
        };
        for (i, value) in values.iter().enumerate() {
            let code = i as u8 + 1;
            let bytes = value.as_bytes();
            let view = datafusion::arrow::array::builder::make_view(bytes, 0, 0);
            if bytes.len() <= 12 {
                let mut slot = codes.slot(view);
                while codes.slots[slot].0 != EMPTY && codes.slots[slot].0 != view {
                    slot = (slot + 1) % size;
                }
                if codes.slots[slot].0 == EMPTY {
                    codes.slots[slot] = (view, code);
                }
            } else if !codes.long.iter().any(|(_, b, _)| b == bytes) {
                codes.long.push((view as u64, bytes.to_vec(), code));
            }
        }
        codes
    }

    /// The first slot to probe for an inline view.
    fn slot(&self, view: u128) -> usize {
        let folded = (view as u64) ^ ((view >> 64) as u64).rotate_left(29);
        (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    fn short_code(&self, view: u128) -> u8 {
        let key = inline_key(view);
        let mut slot = self.slot(key);
        loop {
            let (k, code) = self.slots[slot];
            if k == key {
                return code;
            }
            if k == EMPTY {
                return 0;
            }
            slot = (slot + 1) & (self.slots.len() - 1);
        }
    }

    fn of(&self, strings: &StringViewArray) -> UInt8Array {
        let codes: Vec<u8> = strings
            .views()
            .iter()
            .enumerate()
            .map(|(row, &view)| {
                if view as u32 <= 12 {
                    return self.short_code(view);
                }
                let head = view as u64;
                self.long
                    .iter()
                    .find(|(h, bytes, _)| {
                        *h == head && strings.value(row).as_bytes() == bytes.as_slice()
                    })
                    .map_or(0, |(_, _, code)| *code)
            })
            .collect();
        UInt8Array::new(codes.into(), strings.nulls().cloned())
    }
}

impl ScalarUDFImpl for ValueCode {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [x, values @ ..] if !values.is_empty() && values.len() <= 255 => {
                if !is_string(x) {
                    return plan_err!("{NAME}: the first argument must be a string, got {x}");
                }
                let mut types = vec![x.clone()];
                types.extend(values.iter().map(|_| DataType::Utf8));
                Ok(types)
            }
            _ => plan_err!(
                "{NAME} takes a string and 1 to 255 constant strings, got {} arguments",
                arg_types.len()
            ),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::UInt8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some((x, values)) = args.args.split_first() else {
            return exec_err!("{NAME}: missing arguments");
        };
        let mut candidates = Vec::with_capacity(values.len());
        for value in values {
            let ColumnarValue::Scalar(value) = value else {
                return exec_err!("{NAME}: the values must be constant strings");
            };
            if value.is_null() {
                return exec_err!("{NAME}: the values must not be NULL");
            }
            candidates.push(string_value(NAME, value, "a value")?);
        }
        let codes = Codes::new(&candidates);
        per_value(x, |array| {
            let views = cast(array, &DataType::Utf8View)?;
            Ok(Arc::new(codes.of(views.as_string_view())) as ArrayRef)
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn codes_of(values: &[&str], rows: Vec<Option<&str>>) -> Vec<Option<u8>> {
        let codes = Codes::new(&values.iter().map(|v| v.to_string()).collect::<Vec<_>>());
        codes
            .of(&StringViewArray::from(rows))
            .iter()
            .collect::<Vec<_>>()
    }

    #[test]
    fn codes_short_and_long_strings_and_keeps_nulls() {
        let values = ["cart", "purchase", "support_ticket", "support_tickets", ""];
        let rows = vec![
            Some("purchase"),
            None,
            Some("support_ticket"),
            Some("support_tickets"),
            Some("support_tick"),
            Some(""),
            Some("Purchase"),
            Some("cart"),
        ];
        assert_eq!(
            codes_of(&values, rows),
            vec![
                Some(2),
                None,
                Some(3),
                Some(4),
                Some(0),
                Some(5),
                Some(0),
                Some(1)
            ]
        );
    }

    /// Every string type reads the same, a NULL input gives NULL, and a non-string input or
    /// no values are plan errors, not panics.
    #[tokio::test]
    async fn reads_every_string_type_in_sql() {
        let mut ctx = datafusion::prelude::SessionContext::new();
        crate::register_all(&mut ctx).unwrap();
        let sql = "SELECT value_code(x, 'cart', 'support_ticket'),
                          value_code(arrow_cast(x, 'LargeUtf8'), 'cart', 'support_ticket'),
                          value_code(arrow_cast(x, 'Utf8View'), 'cart', 'support_ticket'),
                          value_code(arrow_cast(x, 'Dictionary(Int32, Utf8)'), 'cart', 'support_ticket'),
                          value_code(NULL, 'cart')
                   FROM (VALUES ('support_ticket'), ('cart'), ('other'), (NULL)) AS t(x)";
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        let rows: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with("| ") && !l.contains("value_code"))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(
            rows,
            vec![
                "| 2 | 2 | 2 | 2 | |",
                "| 1 | 1 | 1 | 1 | |",
                "| 0 | 0 | 0 | 0 | |",
                "| | | | | |"
            ],
            "{text}"
        );
        for bad in ["SELECT value_code(1, 'a')", "SELECT value_code('a')"] {
            let error = ctx.sql(bad).await.unwrap_err().to_string();
            assert!(error.contains("value_code"), "{bad}: {error}");
        }
    }

    proptest! {
        /// `value_code(x, …) = i` is `x = vi` for strings sharing prefixes and lengths
        /// around the 12-byte inline limit, from arrays whose views share buffers.
        #[test]
        fn a_code_is_equality_with_its_value(
            values in prop::collection::vec("[ab]{0,3}(support_ticke)?[ab]{0,2}", 1..8),
            rows in prop::collection::vec(prop::option::of("[ab]{0,3}(support_ticke)?[ab]{0,2}"), 0..40),
        ) {
            let array = StringViewArray::from(rows.iter().map(|r| r.as_deref()).collect::<Vec<_>>());
            let codes = Codes::new(&values).of(&array);
            for (row, value) in rows.iter().enumerate() {
                let want = value.as_ref().map(|v| {
                    values.iter().position(|c| c == v).map_or(0, |i| i as u8 + 1)
                });
                prop_assert_eq!(codes.is_valid(row).then(|| codes.value(row)), want);
            }
        }
    }
}
