//! The partial state of the ordered aggregates as bytes: one value per group holding its
//! events sorted by time, each as the zigzag varint of its time's step from the previous
//! event's (from 0 for the first) and the varint of its condition mask.
//!
//! A group's events within a day are seconds to hours apart, so a step takes 3–5 bytes and
//! a mask one, instead of two list items (8 and 4 bytes) with their repetition and
//! definition levels: the state is smaller to store and much cheaper to read back than
//! lists, which incremental runs merge from every day of a funnel's window. Steps wrap, so
//! every `i64` time round-trips.

use super::event_groups::Event;

/// Append `events` (sorted by time) to `out`.
pub(crate) fn encode(events: &[Event], out: &mut Vec<u8>) {
    let mut previous = 0i64;
    for event in events {
        let step = event.time.wrapping_sub(previous);
        put_varint(((step << 1) ^ (step >> 63)) as u64, out);
        put_varint(u64::from(event.mask), out);
        previous = event.time;
    }
}

/// Push the events of `bytes` onto `events`; an error (naming what is wrong) when `bytes`
/// is not a whole encoding.
pub(crate) fn decode(mut bytes: &[u8], events: &mut Vec<Event>) -> Result<(), &'static str> {
    let mut previous = 0i64;
    while !bytes.is_empty() {
        let zigzag = take_varint(&mut bytes)?;
        let step = ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
        let mask = u32::try_from(take_varint(&mut bytes)?)
            .map_err(|_| "a condition mask wider than 32 bits")?;
        previous = previous.wrapping_add(step);
        events.push(Event {
            time: previous,
            mask,
        });
    }
    Ok(())
}

fn put_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn take_varint(bytes: &mut &[u8]) -> Result<u64, &'static str> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().enumerate() {
        let shift = 7 * i as u32;
        if shift >= 64 || (shift == 63 && byte & 0x7e != 0) {
            return Err("a varint longer than 64 bits");
        }
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            *bytes = &bytes[i + 1..];
            return Ok(value);
        }
    }
    Err("an event cut short")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn events() -> impl Strategy<Value = Vec<Event>> {
        let time = prop_oneof![
            any::<i64>(),
            Just(i64::MIN),
            Just(i64::MAX),
            1_700_000_000_000_000i64..1_800_000_000_000_000,
        ];
        proptest::collection::vec((time, any::<u32>()), 0..40).prop_map(|pairs| {
            let mut events: Vec<Event> = pairs
                .into_iter()
                .map(|(time, mask)| Event { time, mask })
                .collect();
            events.sort_unstable();
            events
        })
    }

    proptest! {
        /// Any sorted events, extremes included, decode to themselves, after what was
        /// already there.
        #[test]
        fn events_round_trip(events in events(), before in events()) {
            let mut bytes = Vec::new();
            encode(&events, &mut bytes);
            let mut decoded = before.clone();
            decode(&bytes, &mut decoded).unwrap();
            prop_assert_eq!(&decoded[..before.len()], &before[..]);
            prop_assert_eq!(&decoded[before.len()..], &events[..]);
        }

        /// Cut or garbled bytes are refused or decode to some events: never a panic.
        #[test]
        fn any_bytes_decode_or_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut decoded = Vec::new();
            let _ = decode(&bytes, &mut decoded);
        }
    }

    #[test]
    fn a_cut_event_and_an_overlong_varint_are_refused() {
        let mut bytes = Vec::new();
        encode(
            &[Event {
                time: 1_764_000_000_000_000,
                mask: 5,
            }],
            &mut bytes,
        );
        let mut decoded = Vec::new();
        assert_eq!(
            decode(&bytes[..bytes.len() - 1], &mut decoded),
            Err("an event cut short")
        );
        assert_eq!(
            decode(&[0xff; 11], &mut decoded),
            Err("a varint longer than 64 bits")
        );
        assert_eq!(
            decode(&[0, 0x80, 0x80, 0x80, 0x80, 0x10], &mut decoded),
            Err("a condition mask wider than 32 bits")
        );
        // A typical day of events: a few bytes each.
        let day: Vec<Event> = (0..10)
            .map(|i| Event {
                time: 1_764_000_000_000_000 + i * 90_000_000,
                mask: 1 << (i % 5),
            })
            .collect();
        let mut bytes = Vec::new();
        encode(&day, &mut bytes);
        assert!(bytes.len() <= 9 + 2 + 9 * 6, "{}", bytes.len());
    }
}
