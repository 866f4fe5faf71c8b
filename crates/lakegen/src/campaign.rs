//! A planted campaign with a known effect, for measuring `segmint impact`.
//!
//! On the campaign day a random share of users gets a `campaign_eligible` event: a segment
//! of "performed `campaign_eligible` within 1 day" enters them on that day. segmint holds
//! out some of them with its holdout hash (the same salt, segment and share given here),
//! and within `days` days after entry an eligible user redeems (`offer_redeemed`, revenue
//! 20.00) with probability `base_rate`, plus `lift` when not held out. The treated minus
//! holdout conversion rate is therefore `lift` in expectation.

use chrono::{Days, NaiveDate};
use rand::Rng;

use crate::rng::{chance, user_rng};

/// What is planted.
#[derive(Clone, Debug, PartialEq)]
pub struct Campaign {
    /// The day eligible users get `campaign_eligible`.
    pub day: NaiveDate,
    /// The share of all users made eligible.
    pub eligible_share: f64,
    /// The segment segmint will evaluate, its holdout share and the project salt — what
    /// decides, with segmint's own hash, who is held out.
    pub segment: String,
    pub holdout: f64,
    pub salt: String,
    /// The chance a held-out member redeems within `days` days after entry.
    pub base_rate: f64,
    /// The chance added for treated members.
    pub lift: f64,
    pub days: u32,
}

impl Campaign {
    /// A campaign two weeks before `end`: 30% eligible, 20% held out of segment
    /// `campaign_targets`, 10% base conversion in 7 days, plus `lift`.
    pub fn two_weeks_before(end: NaiveDate, lift: f64) -> Campaign {
        Campaign {
            day: end.checked_sub_days(Days::new(14)).unwrap_or(end),
            eligible_share: 0.3,
            segment: "campaign_targets".into(),
            holdout: 0.2,
            salt: "segmint".into(),
            base_rate: 0.10,
            lift,
            days: 7,
        }
    }
}

/// One user's part in the campaign.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct UserPlan {
    pub eligible: bool,
    /// The day the user redeems, if they do.
    pub redeems_on: Option<NaiveDate>,
}

/// Every user's plan (users by index, `ids` their entity ids).
pub(crate) fn plan(campaign: &Campaign, seed: u64, ids: &[String]) -> Vec<UserPlan> {
    ids.iter()
        .enumerate()
        .map(|(u, id)| {
            let mut rng = user_rng(seed ^ 0xCA4A_16F0, u as u64);
            if !chance(&mut rng, campaign.eligible_share) {
                return UserPlan::default();
            }
            let treated = segmint_spec::holdout_position(&campaign.salt, &campaign.segment, id)
                >= campaign.holdout;
            let p = campaign.base_rate + if treated { campaign.lift } else { 0.0 };
            let offset = rng.random_range(1..=u64::from(campaign.days.max(1)));
            let redeems = chance(&mut rng, p);
            UserPlan {
                eligible: true,
                redeems_on: redeems
                    .then(|| campaign.day.checked_add_days(Days::new(offset)))
                    .flatten(),
            }
        })
        .collect()
}

/// What a user does for the campaign on `date`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Planted {
    pub eligible: bool,
    pub redeems: bool,
}

impl Planted {
    pub(crate) fn on(plan: &UserPlan, campaign: &Campaign, date: NaiveDate) -> Planted {
        Planted {
            eligible: plan.eligible && date == campaign.day,
            redeems: plan.redeems_on == Some(date),
        }
    }

    pub(crate) fn any(self) -> bool {
        self.eligible || self.redeems
    }
}
