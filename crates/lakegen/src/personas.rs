//! Per-user fixed traits: the activity persona (daily, weekly, monthly,
//! fading, dormant, new, returning) with its day-activity probability, and
//! the orthogonal traits (preferred channel, shopper kind, content/video
//! interest, feature usage, friction, advocacy) plus profile attributes.
//! Everything is drawn from the user's own RNG, so it is stable per seed.

use chrono::{Datelike, Days, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::rng::{chance, weighted};
use super::schema::{CATEGORIES, DESKTOP, FEATURES, IN_PERSON, MOBILE, TOPICS};

/// Activity persona (how often and when a user is active).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Persona {
    /// Active on ~85% of days, several sessions a day.
    Daily,
    /// Active on 1–3 fixed weekdays.
    Weekly,
    /// Active on 1–3 fixed days of the month.
    Monthly,
    /// Active most days, then decaying over the last ~6 weeks.
    Fading,
    /// Active early, nothing in the last 60+ days.
    Dormant,
    /// First event within the last 14 days, frequent afterwards.
    New,
    /// Active early, a 30+ day gap, active again in the last 10 days.
    Returning,
    /// Occasional until four weeks ago, then more and more active (high momentum).
    Warming,
}

impl Persona {
    /// The persona's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Persona::Daily => "daily",
            Persona::Weekly => "weekly",
            Persona::Monthly => "monthly",
            Persona::Fading => "fading",
            Persona::Dormant => "dormant",
            Persona::New => "new",
            Persona::Returning => "returning",
            Persona::Warming => "warming",
        }
    }
}

/// Shopping behaviour (mutually exclusive kinds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shopper {
    /// Rare, stray product views only.
    None,
    /// product_view → add_to_cart → purchase now and then (revenue 5–200).
    Occasional,
    /// Frequent purchases (revenue 100–2000).
    BigSpender,
    /// Many product views of a favourite category, never a purchase.
    Window,
    /// Adds to cart and abandons, never a purchase.
    Abandoner,
}

/// Feature usage intensity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FeatureUse {
    None,
    /// 1–2 features.
    Light,
    /// 6–8 distinct features.
    Power,
}

/// Friction profile (mutually exclusive kinds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Friction {
    /// Very rare lone errors.
    None,
    /// error → retry within minutes, several times a week; never a ticket.
    ErrorsRetries,
    /// Errors and support tickets.
    ErrorsTickets,
    /// Support tickets without errors.
    TicketsOnly,
}

/// All fixed traits of one user.
#[derive(Clone, Debug)]
pub(crate) struct UserTraits {
    pub persona: Persona,
    /// Daily: probability of being active on a day.
    pub daily_p: f64,
    /// Weekly: bit i set = active on weekday i (Mon = 0).
    pub weekday_mask: u8,
    /// Monthly: active days of month (1..=28), `month_day_count` used.
    pub month_days: [u8; 3],
    pub month_day_count: u8,
    /// Fading: decay starts this many days before `end`.
    pub fade_start: u32,
    /// Dormant: active only when `ago >= dormant_cut` (>= 60).
    pub dormant_cut: u32,
    /// New: first active day (days before `end`, 0..=13).
    pub new_start: u32,
    /// Returning: first day back (days before `end`, 0..=9) and gap length.
    pub return_ago: u32,
    pub return_gap: u32,

    /// Preferred channel code.
    pub channel: u8,
    pub shopper: Shopper,
    pub fav_category: u8,
    pub reader: bool,
    pub fav_topic: u8,
    pub video: bool,
    pub feature_use: FeatureUse,
    /// The user's features (indices into FEATURES), `feature_count` used.
    pub features: [u8; 8],
    pub feature_count: u8,
    pub friction: Friction,
    /// Probability of a referral_sent on an active day (0 for non-advocates).
    pub referral_p: f64,
    /// Shops in person in August (back to school), rarely otherwise.
    pub seasonal: bool,

    pub country: u8,
    pub plan: u8,
    /// Signup date offset: days before the first day of the range (for
    /// non-`New` users); `New` users sign up on their first active day.
    pub signup_before_start: u32,
}

impl UserTraits {
    /// Draws a user's traits from its own RNG.
    pub(crate) fn draw(rng: &mut ChaCha8Rng) -> Self {
        let persona = match weighted(rng, &[15, 22, 18, 10, 10, 9, 9, 7]) {
            0 => Persona::Daily,
            1 => Persona::Weekly,
            2 => Persona::Monthly,
            3 => Persona::Fading,
            4 => Persona::Dormant,
            5 => Persona::New,
            6 => Persona::Returning,
            _ => Persona::Warming,
        };
        let daily_p = rng.random_range(0.80..0.92);

        let weekly_days = rng.random_range(1..=3u32);
        let mut weekday_mask = 0u8;
        while weekday_mask.count_ones() < weekly_days {
            weekday_mask |= 1 << rng.random_range(0..7u8);
        }
        let month_day_count = rng.random_range(1..=3u8);
        let mut month_days = [0u8; 3];
        for d in month_days.iter_mut() {
            *d = rng.random_range(1..=28u8);
        }
        let fade_start = rng.random_range(36..=48u32);
        let dormant_cut = rng.random_range(60..=100u32);
        let new_start = rng.random_range(0..14u32);
        let return_ago = rng.random_range(0..10u32);
        let return_gap = rng.random_range(30..=55u32);

        let channel = match weighted(rng, &[50, 35, 15]) {
            0 => MOBILE,
            1 => DESKTOP,
            _ => IN_PERSON,
        };
        let shopper = match weighted(rng, &[30, 40, 5, 15, 10]) {
            0 => Shopper::None,
            1 => Shopper::Occasional,
            2 => Shopper::BigSpender,
            3 => Shopper::Window,
            _ => Shopper::Abandoner,
        };
        // Window shoppers gravitate towards camping.
        let fav_category = if shopper == Shopper::Window {
            weighted(rng, &[50, 20, 10, 10, 10]) as u8
        } else {
            weighted(rng, &[20, 25, 20, 20, 15]) as u8
        };
        let reader = chance(rng, 0.40);
        let fav_topic = rng.random_range(0..TOPICS.len() as u8);
        let video = chance(rng, 0.25);

        let feature_use = match weighted(rng, &[35, 50, 15]) {
            0 => FeatureUse::None,
            1 => FeatureUse::Light,
            _ => FeatureUse::Power,
        };
        let mut features = [0u8, 1, 2, 3, 4, 5, 6, 7];
        // Partial Fisher–Yates: the first `feature_count` are the user's set.
        for i in 0..features.len() - 1 {
            let j = rng.random_range(i..features.len());
            features.swap(i, j);
        }
        let feature_count = match feature_use {
            FeatureUse::None => 0,
            FeatureUse::Light => rng.random_range(1..=2u8),
            FeatureUse::Power => rng.random_range(6..=FEATURES.len() as u8),
        };
        let friction = match weighted(rng, &[80, 10, 6, 4]) {
            0 => Friction::None,
            1 => Friction::ErrorsRetries,
            2 => Friction::ErrorsTickets,
            _ => Friction::TicketsOnly,
        };
        let advocate = chance(rng, 0.05);
        // New users have no history before their first day, so no past season.
        let seasonal = chance(rng, 0.07) && persona != Persona::New;

        let country = weighted(rng, &[35, 12, 10, 13, 10, 12, 8]) as u8;
        let plan_weights: [u32; 3] = match (feature_use, shopper) {
            (FeatureUse::Power, _) => [30, 40, 30],
            (_, Shopper::BigSpender) => [40, 40, 20],
            _ => [65, 25, 10],
        };
        let plan = weighted(rng, &plan_weights) as u8;
        let signup_before_start = rng.random_range(0..=365u32);

        let mut t = UserTraits {
            persona,
            daily_p,
            weekday_mask,
            month_days,
            month_day_count,
            fade_start,
            dormant_cut,
            new_start,
            return_ago,
            return_gap,
            channel,
            shopper,
            fav_category,
            reader,
            fav_topic,
            video,
            feature_use,
            features,
            feature_count,
            friction,
            referral_p: 0.0,
            seasonal,
            country,
            plan,
            signup_before_start,
        };
        if advocate {
            // At least ~1–2 referrals per month whatever the activity level.
            t.referral_p = (1.6 / t.expected_active_days_per_30()).clamp(0.1, 1.0);
        }
        t
    }

    /// Rough number of active days in a 30-day window while active.
    fn expected_active_days_per_30(&self) -> f64 {
        match self.persona {
            Persona::Daily => 30.0 * self.daily_p,
            Persona::Weekly => f64::from(self.weekday_mask.count_ones()) * 30.0 / 7.0 * 0.9,
            Persona::Monthly => f64::from(self.month_day_count) * 0.9,
            Persona::Fading => 12.0,
            Persona::Dormant => 16.0,
            Persona::New => 22.0,
            Persona::Returning => 15.0,
            Persona::Warming => 10.0,
        }
    }

    /// Probability that the user is active on `date`, `ago` days before the
    /// configured end date.
    pub(crate) fn active_prob(&self, ago: u32, date: NaiveDate) -> f64 {
        let p = self.persona_prob(ago, date);
        if self.seasonal && date.month() == 8 {
            p.max(0.5)
        } else {
            p
        }
    }

    /// Whether `date` is in this user's shopping season (August, for seasonal users).
    pub(crate) fn in_season(&self, date: NaiveDate) -> bool {
        self.seasonal && date.month() == 8
    }

    fn persona_prob(&self, ago: u32, date: NaiveDate) -> f64 {
        match self.persona {
            Persona::Daily => self.daily_p,
            Persona::Weekly => {
                let wd = date.weekday().num_days_from_monday();
                if self.weekday_mask & (1 << wd) != 0 {
                    0.92
                } else {
                    0.02
                }
            }
            Persona::Monthly => {
                let dom = date.day();
                let hit = self.month_days[..usize::from(self.month_day_count)]
                    .iter()
                    .any(|d| u32::from(*d) == dom);
                if hit { 0.9 } else { 0.004 }
            }
            Persona::Fading => {
                if ago >= self.fade_start {
                    0.8
                } else if ago >= 14 {
                    0.8 * (-(f64::from(self.fade_start - ago)) / 6.0).exp()
                } else {
                    0.004
                }
            }
            Persona::Dormant => {
                if ago >= self.dormant_cut {
                    0.55
                } else {
                    0.0
                }
            }
            Persona::New => {
                if ago > self.new_start {
                    0.0
                } else if ago == self.new_start {
                    1.0
                } else {
                    0.75
                }
            }
            Persona::Warming => {
                if ago >= 28 {
                    0.12
                } else {
                    0.12 + 0.8 * f64::from(28 - ago) / 28.0
                }
            }
            Persona::Returning => {
                if ago > self.return_ago + self.return_gap {
                    0.5
                } else if ago > self.return_ago {
                    0.0
                } else if ago == self.return_ago {
                    1.0
                } else {
                    0.6
                }
            }
        }
    }

    /// Inclusive range of "base" events (app_open + page_view) on an active day.
    pub(crate) fn base_events(&self) -> (u32, u32) {
        match self.persona {
            Persona::Daily => (3, 10),
            Persona::Weekly => (2, 7),
            Persona::New => (3, 8),
            _ => (2, 6),
        }
    }

    /// Inclusive range of sessions on an active day.
    pub(crate) fn sessions(&self) -> (u32, u32) {
        match self.persona {
            Persona::Daily => (2, 4),
            Persona::New => (1, 3),
            _ => (1, 2),
        }
    }

    /// Probability that a non-first session of the day uses the preferred channel.
    pub(crate) fn extra_session_pref_p(&self) -> f64 {
        if self.channel == IN_PERSON { 0.6 } else { 0.85 }
    }

    /// Favourite category index into CATEGORIES.
    pub(crate) fn category_pick(&self, rng: &mut ChaCha8Rng, fav_p: f64) -> u8 {
        if chance(rng, fav_p) {
            self.fav_category
        } else {
            rng.random_range(0..CATEGORIES.len() as u8)
        }
    }

    /// Profile signup date: on/before the first event.
    pub(crate) fn signup_date(&self, start: NaiveDate, end: NaiveDate) -> NaiveDate {
        if self.persona == Persona::New {
            // The first active day; it may precede `start` when the range is
            // short, in which case the user simply has no events.
            end.checked_sub_days(Days::new(u64::from(self.new_start)))
                .unwrap_or(end)
        } else {
            start
                .checked_sub_days(Days::new(u64::from(self.signup_before_start)))
                .unwrap_or(start)
        }
    }
}
