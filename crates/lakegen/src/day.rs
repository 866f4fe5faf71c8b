//! Generation of one UTC day of events: for each user (in `user_id` order)
//! decide whether they are active, build that day's "actions" (funnels,
//! error→retry pairs, reads, feature uses, ...), spread them over sessions
//! that each start with an `app_open`, and append the rows — already sorted
//! by (user_id, event_time) — to reusable Arrow column builders.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::error::ArrowError;
use chrono::NaiveDate;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::campaign::Planted;
use super::personas::{FeatureUse, Friction, Shopper, UserTraits};
use super::rng::{chance, user_day_rng};
use super::schema::{CATEGORIES, CHANNELS, EventName, FEATURES, IN_PERSON, TOPICS, events_schema};

const NONE: u8 = u8::MAX;
const SECONDS_PER_DAY: i64 = 86_400;
const MICROS_PER_SECOND: i64 = 1_000_000;

/// One event before it is placed in time.
#[derive(Clone, Copy, Debug)]
struct Ev {
    name: EventName,
    category: u8,
    topic: u8,
    feature: u8,
    /// Revenue in cents; 0 = none.
    revenue_cents: u32,
}

impl Ev {
    fn plain(name: EventName) -> Self {
        Ev {
            name,
            category: NONE,
            topic: NONE,
            feature: NONE,
            revenue_cents: 0,
        }
    }
    fn with_category(name: EventName, category: u8) -> Self {
        Ev {
            category,
            ..Ev::plain(name)
        }
    }
}

/// The day being generated.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DayInfo {
    /// The lake seed.
    pub seed: u64,
    /// The UTC date.
    pub date: NaiveDate,
    /// Days before the configured end date (0 = end).
    pub ago: u32,
    /// `date` 00:00:00 UTC in microseconds since the epoch.
    pub day_start_micros: i64,
}

/// Reusable per-thread buffers for one day's generation.
pub(crate) struct DayBuilder {
    events: Vec<Ev>,
    /// Actions as (start, len) spans into `events`.
    actions: Vec<(u32, u32)>,
    /// Session index per action.
    action_session: Vec<u8>,
    session_starts: Vec<i64>,
    user_id: StringBuilder,
    event_time: TimestampMicrosecondBuilder,
    event_name: StringBuilder,
    channel: StringBuilder,
    category: StringBuilder,
    topic: StringBuilder,
    feature: StringBuilder,
    revenue: Float64Builder,
    rows: usize,
}

impl DayBuilder {
    pub(crate) fn new() -> Self {
        DayBuilder {
            events: Vec::with_capacity(64),
            actions: Vec::with_capacity(32),
            action_session: Vec::with_capacity(32),
            session_starts: Vec::with_capacity(8),
            user_id: StringBuilder::new(),
            event_time: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            event_name: StringBuilder::new(),
            channel: StringBuilder::new(),
            category: StringBuilder::new(),
            topic: StringBuilder::new(),
            feature: StringBuilder::new(),
            revenue: Float64Builder::new(),
            rows: 0,
        }
    }

    /// Number of rows appended since the last [`DayBuilder::finish`].
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Takes the appended rows as a batch in `events_schema()`; resets the builder.
    pub(crate) fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        self.rows = 0;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.user_id.finish()),
            Arc::new(self.event_time.finish().with_timezone("UTC")),
            Arc::new(self.event_name.finish()),
            Arc::new(self.channel.finish()),
            Arc::new(self.category.finish()),
            Arc::new(self.topic.finish()),
            Arc::new(self.feature.finish()),
            Arc::new(self.revenue.finish()),
        ];
        RecordBatch::try_new(events_schema(), columns)
    }

    fn push_action(&mut self, evs: &[Ev]) {
        let start = self.events.len() as u32;
        self.events.extend_from_slice(evs);
        self.actions.push((start, evs.len() as u32));
    }

    fn push_one(&mut self, ev: Ev) {
        self.push_action(std::slice::from_ref(&ev));
    }

    /// Appends `user`'s events for the day described by `day`.
    /// Returns the number of rows appended.
    pub(crate) fn add_user_day(
        &mut self,
        day: &DayInfo,
        user: u64,
        user_id: &str,
        traits: &UserTraits,
        planted: Planted,
    ) -> usize {
        let DayInfo {
            seed,
            date,
            ago,
            day_start_micros,
        } = *day;
        let mut rng = user_day_rng(seed, user, i64::from(date.to_epoch_days()));
        if !chance(&mut rng, traits.active_prob(ago, date)) {
            if !planted.any() {
                return 0;
            }
            // Otherwise inactive: a short evening visit for the campaign.
            self.emit(
                user_id,
                day_start_micros,
                20 * 3600,
                traits.channel,
                Ev::plain(EventName::AppOpen),
            );
            let rows = 1 + self.emit_planted(
                user_id,
                day_start_micros,
                20 * 3600,
                traits.channel,
                planted,
            );
            self.rows += rows;
            return rows;
        }
        self.events.clear();
        self.actions.clear();
        self.action_session.clear();

        let (s_lo, s_hi) = traits.sessions();
        let n_sessions = rng.random_range(s_lo..=s_hi);
        let (b_lo, b_hi) = traits.base_events();
        let n_base = rng.random_range(b_lo..=b_hi);
        for _ in 0..n_base.saturating_sub(n_sessions) {
            self.push_one(Ev::plain(EventName::PageView));
        }
        self.shopping_actions(&mut rng, traits);
        let in_season = traits.in_season(date);
        if in_season && chance(&mut rng, 0.6) {
            self.funnel(&mut rng, traits, (1, 2), 1.0, 0.9, (2_000, 15_000));
        }
        self.content_actions(&mut rng, traits);
        self.feature_actions(&mut rng, traits);
        self.friction_actions(&mut rng, traits);
        if traits.referral_p > 0.0 && chance(&mut rng, traits.referral_p) {
            self.push_one(Ev::plain(EventName::ReferralSent));
        }

        // Shuffle the actions and spread them over the sessions.
        let n_actions = self.actions.len();
        for i in (1..n_actions).rev() {
            let j = rng.random_range(0..=i);
            self.actions.swap(i, j);
        }
        for _ in 0..n_actions {
            self.action_session
                .push(rng.random_range(0..n_sessions) as u8);
        }

        // Session start times: random seconds, sorted, non-overlapping.
        self.session_starts.clear();
        for _ in 0..n_sessions {
            self.session_starts
                .push(rng.random_range(0..SECONDS_PER_DAY - 3 * 3600));
        }
        self.session_starts.sort_unstable();

        let mut rows = 0usize;
        let mut cursor: i64 = 0;
        for s in 0..n_sessions as usize {
            let channel = if in_season {
                // Seasonal shoppers go to the store.
                IN_PERSON
            } else if s == 0 || chance(&mut rng, traits.extra_session_pref_p()) {
                traits.channel
            } else {
                // One of the two other channels.
                (traits.channel + rng.random_range(1..=2u8)) % 3
            };
            let mut t = self.session_starts[s].max(cursor);
            self.emit(
                user_id,
                day_start_micros,
                t,
                channel,
                Ev::plain(EventName::AppOpen),
            );
            rows += 1;
            for a in 0..n_actions {
                if usize::from(self.action_session[a]) != s {
                    continue;
                }
                let (start, len) = self.actions[a];
                for k in start..start + len {
                    t += rng.random_range(5..=120);
                    let ev = self.events[k as usize];
                    self.emit(user_id, day_start_micros, t, channel, ev);
                    rows += 1;
                }
            }
            cursor = t + rng.random_range(300..=1800);
        }
        if planted.any() {
            rows += self.emit_planted(user_id, day_start_micros, cursor, traits.channel, planted);
        }
        self.rows += rows;
        rows
    }

    /// The campaign's events after `second` (in time order after the day's others).
    fn emit_planted(
        &mut self,
        user_id: &str,
        day_start: i64,
        second: i64,
        channel: u8,
        planted: Planted,
    ) -> usize {
        let mut rows = 0;
        if planted.eligible {
            self.emit(
                user_id,
                day_start,
                second + 1,
                channel,
                Ev::plain(EventName::CampaignEligible),
            );
            rows += 1;
        }
        if planted.redeems {
            let redeemed = Ev {
                revenue_cents: 2_000,
                ..Ev::plain(EventName::OfferRedeemed)
            };
            self.emit(user_id, day_start, second + 2, channel, redeemed);
            rows += 1;
        }
        rows
    }

    fn emit(&mut self, user_id: &str, day_start: i64, second: i64, channel: u8, ev: Ev) {
        let second = second.min(SECONDS_PER_DAY - 1);
        self.user_id.append_value(user_id);
        self.event_time
            .append_value(day_start + second * MICROS_PER_SECOND);
        self.event_name.append_value(ev.name.as_str());
        self.channel.append_value(CHANNELS[usize::from(channel)]);
        append_opt(&mut self.category, &CATEGORIES, ev.category);
        append_opt(&mut self.topic, &TOPICS, ev.topic);
        append_opt(&mut self.feature, &FEATURES, ev.feature);
        if ev.revenue_cents > 0 {
            self.revenue
                .append_value(f64::from(ev.revenue_cents) / 100.0);
        } else {
            self.revenue.append_null();
        }
    }

    /// A product_view run (favourite category mostly), optionally followed by
    /// add_to_cart and purchase of the last viewed category.
    fn funnel(
        &mut self,
        rng: &mut ChaCha8Rng,
        traits: &UserTraits,
        views: (u32, u32),
        cart_p: f64,
        purchase_p: f64,
        cents: (u32, u32),
    ) {
        let mut chain = [Ev::plain(EventName::ProductView); 8];
        let n_views = rng.random_range(views.0..=views.1) as usize;
        let mut n = 0;
        let mut cat = traits.fav_category;
        for slot in chain.iter_mut().take(n_views) {
            cat = traits.category_pick(rng, 0.6);
            *slot = Ev::with_category(EventName::ProductView, cat);
            n += 1;
        }
        if chance(rng, cart_p) {
            chain[n] = Ev::with_category(EventName::AddToCart, cat);
            n += 1;
            if chance(rng, purchase_p) {
                chain[n] = Ev {
                    revenue_cents: rng.random_range(cents.0..=cents.1),
                    ..Ev::with_category(EventName::Purchase, cat)
                };
                n += 1;
            }
        }
        self.push_action(&chain[..n]);
    }

    fn shopping_actions(&mut self, rng: &mut ChaCha8Rng, traits: &UserTraits) {
        match traits.shopper {
            Shopper::None => {
                if chance(rng, 0.04) {
                    let c = traits.category_pick(rng, 0.3);
                    self.push_one(Ev::with_category(EventName::ProductView, c));
                }
            }
            Shopper::Occasional => {
                if chance(rng, 0.35) {
                    self.funnel(rng, traits, (1, 3), 0.5, 0.55, (500, 20_000));
                }
                if chance(rng, 0.15) {
                    let c = traits.category_pick(rng, 0.5);
                    self.push_one(Ev::with_category(EventName::ProductView, c));
                }
            }
            Shopper::BigSpender => {
                if chance(rng, 0.75) {
                    self.funnel(rng, traits, (1, 4), 0.9, 0.85, (10_000, 200_000));
                    if chance(rng, 0.3) {
                        self.funnel(rng, traits, (1, 3), 0.9, 0.85, (10_000, 200_000));
                    }
                }
            }
            Shopper::Window => {
                for _ in 0..rng.random_range(2..=6u32) {
                    let c = traits.category_pick(rng, 0.75);
                    self.push_one(Ev::with_category(EventName::ProductView, c));
                }
            }
            Shopper::Abandoner => {
                if chance(rng, 0.3) {
                    self.funnel(rng, traits, (1, 3), 1.0, 0.0, (0, 0));
                }
                if chance(rng, 0.2) {
                    let c = traits.category_pick(rng, 0.5);
                    self.push_one(Ev::with_category(EventName::ProductView, c));
                }
            }
        }
    }

    fn content_actions(&mut self, rng: &mut ChaCha8Rng, traits: &UserTraits) {
        let reads = if traits.reader {
            if chance(rng, 0.6) {
                rng.random_range(1..=4u32)
            } else {
                0
            }
        } else {
            u32::from(chance(rng, 0.04))
        };
        for _ in 0..reads {
            let topic = if traits.reader && chance(rng, 0.7) {
                traits.fav_topic
            } else if traits.reader {
                // One of the other topics.
                let k = TOPICS.len() as u8;
                (traits.fav_topic + rng.random_range(1..k)) % k
            } else {
                rng.random_range(0..TOPICS.len() as u8)
            };
            self.push_one(Ev {
                topic,
                ..Ev::plain(EventName::ContentView)
            });
        }

        let videos = if traits.video {
            if chance(rng, 0.5) {
                rng.random_range(1..=3u32)
            } else {
                0
            }
        } else {
            u32::from(chance(rng, 0.03))
        };
        for _ in 0..videos {
            let c = traits.category_pick(rng, 0.5);
            self.push_one(Ev::with_category(EventName::VideoView, c));
        }
    }

    fn feature_actions(&mut self, rng: &mut ChaCha8Rng, traits: &UserTraits) {
        let count = usize::from(traits.feature_count);
        match traits.feature_use {
            FeatureUse::None => {}
            FeatureUse::Light => {
                if chance(rng, 0.5) {
                    for _ in 0..rng.random_range(1..=3u32) {
                        let f = traits.features[rng.random_range(0..count)];
                        self.push_one(Ev {
                            feature: f,
                            ..Ev::plain(EventName::FeatureUse)
                        });
                    }
                }
            }
            FeatureUse::Power => {
                if chance(rng, 0.85) {
                    // Distinct features for the day: partial shuffle of the set.
                    let mut set = traits.features;
                    let k = rng.random_range(2..=5usize).min(count);
                    for i in 0..k {
                        let j = rng.random_range(i..count);
                        set.swap(i, j);
                        self.push_one(Ev {
                            feature: set[i],
                            ..Ev::plain(EventName::FeatureUse)
                        });
                    }
                }
            }
        }
    }

    fn friction_actions(&mut self, rng: &mut ChaCha8Rng, traits: &UserTraits) {
        let error = Ev::plain(EventName::Error);
        let retry = Ev::plain(EventName::Retry);
        let ticket = Ev::plain(EventName::SupportTicket);
        match traits.friction {
            Friction::None => {
                if chance(rng, 0.01) {
                    self.push_one(error);
                }
            }
            Friction::ErrorsRetries => {
                if chance(rng, 0.6) {
                    for _ in 0..rng.random_range(1..=2u32) {
                        self.push_action(&[error, retry]);
                    }
                }
            }
            Friction::ErrorsTickets => {
                if chance(rng, 0.45) {
                    let mut chain = [error; 3];
                    let mut n = 1;
                    if chance(rng, 0.5) {
                        chain[n] = retry;
                        n += 1;
                    }
                    if chance(rng, 0.4) {
                        chain[n] = ticket;
                        n += 1;
                    }
                    self.push_action(&chain[..n]);
                }
            }
            Friction::TicketsOnly => {
                if chance(rng, 0.12) {
                    self.push_one(ticket);
                }
            }
        }
    }
}

fn append_opt<const N: usize>(b: &mut StringBuilder, vocab: &[&str; N], code: u8) {
    match vocab.get(usize::from(code)) {
        Some(v) => b.append_value(v),
        None => b.append_null(),
    }
}
