//! Deterministic seeding: a fixed splitmix64 mixer derives independent
//! `ChaCha8Rng` streams per user (fixed traits) and per (user, day) (that
//! day's events) from the configured seed, so output never depends on
//! iteration order, thread scheduling or the std hasher.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The splitmix64 finalizer (Steele, Lea & Flood), used as a fixed mixer.
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Domain tags keep the different streams apart.
const TAG_USER: u64 = 0x5553_4552_5f54_5241; // "USER_TRA"
const TAG_DAY: u64 = 0x5553_4552_5f44_4159; // "USER_DAY"

fn rng_from(h: u64) -> ChaCha8Rng {
    let mut seed = [0u8; 32];
    let mut s = h;
    for chunk in seed.chunks_exact_mut(8) {
        s = splitmix64(s);
        chunk.copy_from_slice(&s.to_le_bytes());
    }
    ChaCha8Rng::from_seed(seed)
}

/// RNG for a user's fixed traits.
pub(crate) fn user_rng(seed: u64, user: u64) -> ChaCha8Rng {
    rng_from(splitmix64(splitmix64(seed ^ TAG_USER) ^ user))
}

/// RNG for one user's events on one day (`day` = days since the Unix epoch).
pub(crate) fn user_day_rng(seed: u64, user: u64, day: i64) -> ChaCha8Rng {
    let h = splitmix64(splitmix64(splitmix64(seed ^ TAG_DAY) ^ user) ^ (day as u64));
    rng_from(h)
}

/// `true` with probability `p` (clamped to [0, 1]).
pub(crate) fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// Picks an index according to integer weights (must not all be zero).
pub(crate) fn weighted(rng: &mut ChaCha8Rng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut x = rng.random_range(0..total.max(1));
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= *w;
    }
    weights.len().saturating_sub(1)
}
