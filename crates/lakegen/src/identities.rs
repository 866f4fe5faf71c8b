//! Identity planting (`generate-lake --identities`): the events of a logged-in product seen
//! as a tracking SDK records them. Each person has 1–3 devices with an `anonymous_id`
//! each; on some days they browse logged out (`user_id` NULL, only the device's id); about
//! 2 % of people share a household device with their neighbour; and about 10 % of
//! logged-in events carry a junk placeholder instead of a device id (`''`, `0`,
//! `undefined`, an all-zero UUID, `guest`, `null`), as broken SDKs write them.
//!
//! Everything is a hash of (seed, user, day, time): the planted layer consumes none of the
//! generator's random streams, so the behaviour of every user is the same as without it.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, RecordBatch, StringArray, StringBuilder, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;

use crate::rng::splitmix64;

/// Placeholders that identify no one (the defaults segmint blocks).
pub const PLACEHOLDERS: [&str; 6] = [
    "",
    "0",
    "undefined",
    "00000000-0000-0000-0000-000000000000",
    "guest",
    "null",
];

const TAG: u64 = 0x4944_454e_5449_5459; // "IDENTITY"

fn h(seed: u64, parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(splitmix64(seed ^ TAG), |acc, p| splitmix64(acc ^ p))
}

/// How many devices user `u` has (1–3).
pub fn devices(seed: u64, u: u64) -> u64 {
    1 + h(seed, &[u, 1]) % 3
}

/// The anonymous id of device `k` of user `u`.
pub fn device_id(seed: u64, u: u64, k: u64) -> String {
    let x = h(seed, &[u, 2, k]);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        x >> 32,
        (x >> 16) & 0xffff,
        x & 0xfff,
        (x >> 12) & 0xfff,
        h(seed, &[u, 3, k]) & 0xffff_ffff_ffff
    )
}

/// Whether user `u` shares a household device with `u ^ 1` (about 2 % of pairs).
pub fn household(seed: u64, u: u64) -> bool {
    h(seed, &[u >> 1, 4]).is_multiple_of(50)
}

/// The shared device of `u`'s household.
pub fn household_device(seed: u64, u: u64) -> String {
    device_id(seed, u64::MAX - (u >> 1), 0)
}

/// What the SDK records for one event: `(user_id present, anonymous_id)`.
pub fn identify(seed: u64, u: u64, day: i64, time_us: i64) -> (bool, String) {
    let d = h(seed, &[u, 5, day as u64]);
    if household(seed, u) && (d >> 8).is_multiple_of(4) {
        // A day on the shared family tablet, logged in.
        return (true, household_device(seed, u));
    }
    let device = device_id(seed, u, d % devices(seed, u));
    if (d >> 16).is_multiple_of(6) {
        // Browsing logged out: only the device knows who it is.
        return (false, device);
    }
    let e = h(seed, &[u, 6, time_us as u64]);
    if e.is_multiple_of(10) {
        let junk = PLACEHOLDERS[((e >> 8) % PLACEHOLDERS.len() as u64) as usize];
        return (true, junk.to_string());
    }
    (true, device)
}

/// The user index of a generated `user_id` (`u000123` → 123).
fn index(user_id: &str) -> u64 {
    user_id
        .trim_start_matches('u')
        .parse::<u64>()
        .unwrap_or_default()
}

/// The events schema with identities: `user_id` nullable, `anonymous_id` added.
pub fn schema(base: &SchemaRef) -> SchemaRef {
    let mut fields: Vec<Field> = base
        .fields()
        .iter()
        .map(|f| {
            if f.name() == "user_id" {
                f.as_ref().clone().with_nullable(true)
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    fields.insert(1, Field::new("anonymous_id", DataType::Utf8, true));
    Arc::new(Schema::new(fields))
}

/// One day's events with identities planted.
pub fn plant(batch: &RecordBatch, seed: u64, day: i64) -> Result<RecordBatch, ArrowError> {
    let users = batch
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| ArrowError::SchemaError("user_id is not text".into()))?;
    let times = batch
        .column(1)
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .ok_or_else(|| ArrowError::SchemaError("event_time is not a timestamp".into()))?;
    let mut user = StringBuilder::with_capacity(batch.num_rows(), batch.num_rows() * 7);
    let mut anonymous = StringBuilder::with_capacity(batch.num_rows(), batch.num_rows() * 36);
    for i in 0..batch.num_rows() {
        let id = users.value(i);
        let (logged_in, anon) = identify(seed, index(id), day, times.value(i));
        if logged_in {
            user.append_value(id);
        } else {
            user.append_null();
        }
        anonymous.append_value(anon);
    }
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns[0] = Arc::new(user.finish());
    columns.insert(1, Arc::new(anonymous.finish()));
    RecordBatch::try_new(schema(&batch.schema()), columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_a_tenth_of_logged_in_events_carry_a_placeholder() {
        let (mut junk, mut logged_in) = (0, 0);
        for u in 0..200 {
            for t in 0..200 {
                let (li, anon) = identify(7, u, 20_000, t * 1_000_000);
                if li {
                    logged_in += 1;
                    junk += usize::from(PLACEHOLDERS.contains(&anon.as_str()));
                }
            }
        }
        let share = junk as f64 / logged_in as f64;
        assert!((0.07..0.12).contains(&share), "{share}");
    }

    #[test]
    fn device_ids_are_stable_and_distinct() {
        assert_eq!(device_id(1, 5, 0), device_id(1, 5, 0));
        assert_ne!(device_id(1, 5, 0), device_id(1, 5, 1));
        assert_eq!(device_id(1, 5, 0).len(), 36);
    }
}
