//! The partial state of the ordered aggregates as bytes: one value per group holding its
//! events sorted by time, each as its time (8 bytes) and its condition mask (4 bytes),
//! little-endian.
//!
//! Reading back two list columns (times and masks) decodes their repetition and
//! definition levels and builds offsets and validity for every row; these bytes are read
//! as one binary column and turned into events by fixed-width loads. Incremental runs
//! merge them from every day of a funnel's window.

use super::event_groups::Event;

/// Bytes per event.
const EVENT_BYTES: usize = 12;

/// Append `events` (sorted by time) to `out`.
pub(crate) fn encode(events: &[Event], out: &mut Vec<u8>) {
    out.reserve(events.len() * EVENT_BYTES);
    for event in events {
        out.extend_from_slice(&event.time.to_le_bytes());
        out.extend_from_slice(&event.mask.to_le_bytes());
    }
}

/// Push the events of `bytes` onto `events`; an error (naming what is wrong) when `bytes`
/// is not a whole encoding.
pub(crate) fn decode(bytes: &[u8], events: &mut Vec<Event>) -> Result<(), &'static str> {
    let whole = bytes.chunks_exact(EVENT_BYTES);
    if !whole.remainder().is_empty() {
        return Err("an event cut short");
    }
    events.reserve(bytes.len() / EVENT_BYTES);
    for event in whole {
        let (time, mask) = event.split_at(8);
        let (Ok(time), Ok(mask)) = (time.try_into(), mask.try_into()) else {
            return Err("an event cut short");
        };
        events.push(Event {
            time: i64::from_le_bytes(time),
            mask: u32::from_le_bytes(mask),
        });
    }
    Ok(())
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
    fn a_cut_event_is_refused() {
        let mut bytes = Vec::new();
        encode(
            &[Event {
                time: 1_764_000_000_000_000,
                mask: 5,
            }],
            &mut bytes,
        );
        assert_eq!(bytes.len(), EVENT_BYTES);
        let mut decoded = Vec::new();
        assert_eq!(
            decode(&bytes[..bytes.len() - 1], &mut decoded),
            Err("an event cut short")
        );
        assert!(decoded.is_empty());
    }
}
