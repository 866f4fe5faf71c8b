//! The statistics of `segmint impact`: two independent groups (treated, holdout), a
//! conversion rate each and optionally a mean value per entrant. Formulas (documented in
//! `docs/activation.md`):
//!
//! - absolute lift `d = p_t − p_h`, 95 % Wald interval `d ± z·√(p_t(1−p_t)/n_t + p_h(1−p_h)/n_h)`;
//! - two-sided p-value of the pooled two-proportion z-test, `z = d / √(p(1−p)(1/n_t + 1/n_h))`
//!   with `p` the pooled rate;
//! - relative lift `p_t/p_h − 1`, interval from the log ratio's delta-method standard error
//!   `√((1−p_t)/x_t + (1−p_h)/x_h)` (none when either group has no conversion);
//! - minimum detectable effect at 80 % power, two-sided α = 0.05, for the sizes at hand:
//!   `(z₀.₉₇₅ + z₀.₈₀)·√(p(1−p)(1/n_t + 1/n_h))` (absolute; relative: divided by `p_h`);
//! - values: difference of means with Welch's standard error, the interval and p-value from
//!   Student's t with Welch–Satterthwaite degrees of freedom.
//!
//! Distributions come from `statrs`.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Confidence level of every interval.
pub const CONFIDENCE: f64 = 0.95;
/// Power the minimum detectable effect is computed for.
pub const POWER: f64 = 0.80;

/// An estimate with its 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// Whether `x` lies in the interval (bounds included).
    pub fn covers(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

/// One group's conversions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub entrants: u64,
    pub converted: u64,
    pub rate: f64,
}

impl Group {
    pub fn new(entrants: u64, converted: u64) -> Group {
        let rate = if entrants == 0 {
            0.0
        } else {
            converted as f64 / entrants as f64
        };
        Group {
            entrants,
            converted,
            rate,
        }
    }
}

/// Treated against holdout, on the conversion rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversion {
    pub treated: Group,
    pub holdout: Group,
    /// `p_t − p_h` (percentage points / 100).
    pub absolute_lift: Interval,
    /// `p_t / p_h − 1`; `None` when a group has no conversion.
    pub relative_lift: Option<Interval>,
    pub p_value: f64,
    /// The smallest absolute lift these sizes detect with 80 % power (`None` when no one
    /// or everyone converted: the variance it rests on is 0).
    pub mde_absolute: Option<f64>,
    /// The same relative to the holdout rate (`None` also when that rate is 0).
    pub mde_relative: Option<f64>,
}

/// The two-sided normal quantile for [`CONFIDENCE`] and the one for [`POWER`].
fn z_values() -> (f64, f64) {
    let normal = standard_normal();
    (
        normal.inverse_cdf(1.0 - (1.0 - CONFIDENCE) / 2.0),
        normal.inverse_cdf(POWER),
    )
}

fn standard_normal() -> Normal {
    Normal::standard()
}

/// Compare conversion; `None` when a group is empty.
pub fn conversion(treated: Group, holdout: Group) -> Option<Conversion> {
    if treated.entrants == 0 || holdout.entrants == 0 {
        return None;
    }
    let (z, z_power) = z_values();
    let (nt, nh) = (treated.entrants as f64, holdout.entrants as f64);
    let (pt, ph) = (treated.rate, holdout.rate);
    let diff = pt - ph;
    let se = (pt * (1.0 - pt) / nt + ph * (1.0 - ph) / nh).sqrt();
    let pooled = (treated.converted + holdout.converted) as f64 / (nt + nh);
    let se_null = (pooled * (1.0 - pooled) * (1.0 / nt + 1.0 / nh)).sqrt();
    let p_value = if se_null > 0.0 {
        2.0 * (1.0 - standard_normal().cdf((diff / se_null).abs()))
    } else {
        1.0
    };
    let relative_lift = (treated.converted > 0 && holdout.converted > 0).then(|| {
        let log_ratio = (pt / ph).ln();
        let se_log =
            ((1.0 - pt) / treated.converted as f64 + (1.0 - ph) / holdout.converted as f64).sqrt();
        Interval {
            estimate: pt / ph - 1.0,
            low: (log_ratio - z * se_log).exp() - 1.0,
            high: (log_ratio + z * se_log).exp() - 1.0,
        }
    });
    let mde_absolute = (se_null > 0.0).then_some((z + z_power) * se_null);
    Some(Conversion {
        treated,
        holdout,
        absolute_lift: Interval {
            estimate: diff,
            low: diff - z * se,
            high: diff + z * se,
        },
        relative_lift,
        p_value,
        mde_absolute,
        mde_relative: mde_absolute.filter(|_| ph > 0.0).map(|m| m / ph),
    })
}

/// Sum, sum of squares and count of one group's values (one per entrant, 0 when none).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moments {
    pub n: u64,
    pub sum: f64,
    pub sum_sq: f64,
}

impl Moments {
    pub fn add(&mut self, x: f64) {
        self.n += 1;
        self.sum += x;
        self.sum_sq += x * x;
    }

    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.sum / self.n as f64
        }
    }

    /// The sample variance (`n − 1`).
    pub fn variance(&self) -> f64 {
        if self.n < 2 {
            return 0.0;
        }
        let n = self.n as f64;
        ((self.sum_sq - self.sum * self.sum / n) / (n - 1.0)).max(0.0)
    }
}

/// Treated against holdout, on the mean value per entrant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueLift {
    pub mean_treated: f64,
    pub mean_holdout: f64,
    /// Difference of means per entrant.
    pub difference: Interval,
    pub p_value: f64,
}

/// Compare mean values (Welch); `None` when a group has fewer than two entrants.
pub fn value_lift(treated: Moments, holdout: Moments) -> Option<ValueLift> {
    if treated.n < 2 || holdout.n < 2 {
        return None;
    }
    let (nt, nh) = (treated.n as f64, holdout.n as f64);
    let (vt, vh) = (treated.variance() / nt, holdout.variance() / nh);
    let se = (vt + vh).sqrt();
    let diff = treated.mean() - holdout.mean();
    if se == 0.0 {
        return Some(ValueLift {
            mean_treated: treated.mean(),
            mean_holdout: holdout.mean(),
            difference: Interval {
                estimate: diff,
                low: diff,
                high: diff,
            },
            p_value: if diff == 0.0 { 1.0 } else { 0.0 },
        });
    }
    let df = (vt + vh).powi(2) / (vt * vt / (nt - 1.0) + vh * vh / (nh - 1.0));
    let t = StudentsT::new(0.0, 1.0, df).ok()?;
    let q = t.inverse_cdf(1.0 - (1.0 - CONFIDENCE) / 2.0);
    Some(ValueLift {
        mean_treated: treated.mean(),
        mean_holdout: holdout.mean(),
        difference: Interval {
            estimate: diff,
            low: diff - q * se,
            high: diff + q * se,
        },
        p_value: 2.0 * (1.0 - t.cdf((diff / se).abs())),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn conversion_matches_textbook_figures() {
        // 1000 treated with 150 conversions, 1000 held out with 100: pooled p = 0.125,
        // z = 0.05 / √(0.125·0.875·0.002) = 3.3806, two-sided p = 0.000723.
        let c = conversion(Group::new(1000, 150), Group::new(1000, 100)).unwrap();
        assert!(close(c.absolute_lift.estimate, 0.05, 1e-12));
        let se = (0.15f64 * 0.85 / 1000.0 + 0.1 * 0.9 / 1000.0).sqrt();
        assert!(close(c.absolute_lift.low, 0.05 - 1.959964 * se, 1e-6));
        assert!(close(c.p_value, 0.000723, 2e-6), "p = {}", c.p_value);
        assert!(close(c.relative_lift.unwrap().estimate, 0.5, 1e-12));
        // (1.959964 + 0.841621) · √(0.125·0.875·0.002) = 0.041427
        let mde = c.mde_absolute.unwrap();
        assert!(close(mde, 0.041427, 1e-5), "{mde}");
        assert!(close(c.mde_relative.unwrap(), 0.41427, 1e-4));
    }

    #[test]
    fn no_difference_gives_an_interval_around_zero() {
        let c = conversion(Group::new(5000, 500), Group::new(1250, 125)).unwrap();
        assert!(close(c.absolute_lift.estimate, 0.0, 1e-12));
        assert!(c.absolute_lift.covers(0.0));
        assert!(close(c.p_value, 1.0, 1e-12));
    }

    #[test]
    fn empty_groups_and_zero_conversions_are_handled() {
        assert!(conversion(Group::new(0, 0), Group::new(10, 1)).is_none());
        let c = conversion(Group::new(10, 0), Group::new(10, 0)).unwrap();
        assert_eq!(c.p_value, 1.0);
        assert!(c.relative_lift.is_none());
        assert!(c.mde_absolute.is_none() && c.mde_relative.is_none());
    }

    #[test]
    fn welch_interval_matches_a_reference() {
        // Treated 1,2,3,4,5 (mean 3, var 2.5); holdout 1,1,2,2 (mean 1.5, var 1/3).
        // se = √(0.5 + 1/12) = 0.763763; df = 0.583333² / (0.25/4 + 0.006944/3) = 5.24;
        // t₀.₉₇₅(5.24) ≈ 2.5372 (scipy: stats.t.ppf(0.975, 5.2404)).
        let mut t = Moments::default();
        for x in [1.0, 2.0, 3.0, 4.0, 5.0] {
            t.add(x);
        }
        let mut h = Moments::default();
        for x in [1.0, 1.0, 2.0, 2.0] {
            h.add(x);
        }
        let v = value_lift(t, h).unwrap();
        assert!(close(v.difference.estimate, 1.5, 1e-12));
        let half = v.difference.high - v.difference.estimate;
        assert!(close(half / 0.763763, 2.537, 0.01), "{}", half / 0.763763);
        assert!(v.p_value > 0.05 && v.p_value < 0.2, "{}", v.p_value);
    }
}
