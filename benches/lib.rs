//! segmint benchmarks: shared helpers (settings from the environment, a deterministic
//! event generator).

/// A `usize` setting from the environment, or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The activity names of generated events (a process-mining style log).
pub const ACTIVITIES: [&str; 24] = [
    "register",
    "verify_email",
    "login",
    "view_dashboard",
    "search",
    "view_product",
    "add_to_cart",
    "remove_from_cart",
    "checkout",
    "pay",
    "payment_failed",
    "retry_payment",
    "open_ticket",
    "close_ticket",
    "invite",
    "share",
    "export",
    "import",
    "configure",
    "upgrade",
    "downgrade",
    "comment",
    "like",
    "logout",
];

/// One chunk of generated events, as columns.
pub struct EventChunk {
    pub entity: Vec<i64>,
    pub ts_us: Vec<i64>,
    pub code: Vec<i64>,
    pub activity: Vec<&'static str>,
}

/// 2026-01-01T00:00:00Z in microseconds.
pub const START_US: i64 = 1_767_225_600_000_000;
/// The generated events span 90 days.
pub const SPAN_US: i64 = 90 * 86_400 * 1_000_000;
const CHUNK: usize = 65_536;

fn mix(mut x: u64) -> u64 {
    // splitmix64: a fast, well-spread hash of the row number.
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// `rows` events of `groups` entities over 90 days, roughly in time order (as a
/// time-partitioned lake delivers them) with entities interleaved; event codes 0–7 and
/// one of 24 activity names. Deterministic.
pub fn events(rows: usize, groups: usize) -> impl Iterator<Item = EventChunk> {
    let groups = groups.max(1) as u64;
    (0..rows).step_by(CHUNK).map(move |start| {
        let end = (start + CHUNK).min(rows);
        let n = end - start;
        let mut chunk = EventChunk {
            entity: Vec::with_capacity(n),
            ts_us: Vec::with_capacity(n),
            code: Vec::with_capacity(n),
            activity: Vec::with_capacity(n),
        };
        for i in start..end {
            let h = mix(i as u64);
            chunk.entity.push((h % groups) as i64);
            let jitter = ((h >> 20) % 600_000_000) as i64;
            chunk
                .ts_us
                .push(START_US + (i as i64) * (SPAN_US / rows.max(1) as i64) + jitter);
            chunk.code.push(((h >> 40) % 8) as i64);
            chunk
                .activity
                .push(ACTIVITIES[((h >> 48) % ACTIVITIES.len() as u64) as usize]);
        }
        chunk
    })
}
