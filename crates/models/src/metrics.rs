//! Metrics: AUC, lift in the top decile, calibration, adjusted Rand index, silhouette.

use std::collections::HashMap;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// The area under the ROC curve (Mann–Whitney, ties counted half); `None` without both
/// outcomes.
pub fn auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Average ranks over ties.
    let mut ranks = vec![0f64; scores.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            ranks[order[k]] = rank;
        }
        i = j + 1;
    }
    let positives = labels.iter().filter(|l| **l).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    let rank_sum: f64 = ranks
        .iter()
        .zip(labels)
        .filter(|(_, l)| **l)
        .map(|(r, _)| r)
        .sum();
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// The positive rate of the top 10 % by score over the overall rate.
pub fn lift_top_decile(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let overall = labels.iter().filter(|l| **l).count() as f64 / labels.len().max(1) as f64;
    if overall == 0.0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let top = (scores.len() / 10).max(1);
    let hits = order[..top].iter().filter(|&&i| labels[i]).count() as f64;
    Some(hits / top as f64 / overall)
}

/// One bin of a calibration table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// Scores in `[low, high)`.
    pub low: f64,
    pub high: f64,
    pub entities: u64,
    pub mean_probability: f64,
    pub observed_rate: f64,
}

/// Predicted against observed, in ten equal-count bins by score.
pub fn calibration(scores: &[f64], labels: &[bool]) -> Vec<CalibrationBin> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
    let n = order.len();
    let mut bins = Vec::new();
    for b in 0..10 {
        let (lo, hi) = (b * n / 10, (b + 1) * n / 10);
        if lo == hi {
            continue;
        }
        let rows = &order[lo..hi];
        let count = rows.len() as f64;
        bins.push(CalibrationBin {
            low: scores[rows[0]],
            high: scores[rows[rows.len() - 1]],
            entities: rows.len() as u64,
            mean_probability: rows.iter().map(|&i| scores[i]).sum::<f64>() / count,
            observed_rate: rows.iter().filter(|&&i| labels[i]).count() as f64 / count,
        });
    }
    bins
}

fn choose2(n: u64) -> f64 {
    (n as f64) * (n as f64 - 1.0) / 2.0
}

/// The adjusted Rand index of two labelings of the same items (1: identical partitions,
/// about 0: chance).
pub fn adjusted_rand_index<A: Eq + std::hash::Hash, B: Eq + std::hash::Hash>(
    a: &[A],
    b: &[B],
) -> f64 {
    let mut table: HashMap<(&A, &B), u64> = HashMap::new();
    let mut rows: HashMap<&A, u64> = HashMap::new();
    let mut cols: HashMap<&B, u64> = HashMap::new();
    for (x, y) in a.iter().zip(b) {
        *table.entry((x, y)).or_default() += 1;
        *rows.entry(x).or_default() += 1;
        *cols.entry(y).or_default() += 1;
    }
    let index: f64 = table.values().map(|&n| choose2(n)).sum();
    let row_sum: f64 = rows.values().map(|&n| choose2(n)).sum();
    let col_sum: f64 = cols.values().map(|&n| choose2(n)).sum();
    let total = choose2(a.len() as u64);
    let expected = row_sum * col_sum / total;
    let max = (row_sum + col_sum) / 2.0;
    if max == expected {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

/// The mean silhouette of a clustering over an evenly spaced sample of at most
/// `sample` rows (exact below that).
pub fn silhouette(x: &Array2<f64>, labels: &[usize], sample: usize) -> f64 {
    let n = x.nrows();
    let k = labels.iter().max().map_or(0, |m| m + 1);
    if n < 2 || k < 2 {
        return 0.0;
    }
    let step = n.div_ceil(sample.max(1)).max(1);
    let rows: Vec<usize> = (0..n).step_by(step).collect();
    let dist = |a: usize, b: usize| -> f64 {
        x.row(a)
            .iter()
            .zip(x.row(b).iter())
            .map(|(p, q)| (p - q) * (p - q))
            .sum::<f64>()
            .sqrt()
    };
    let mut total = 0.0;
    for &i in &rows {
        let mut sums = vec![0f64; k];
        let mut counts = vec![0usize; k];
        for &j in &rows {
            if i != j {
                sums[labels[j]] += dist(i, j);
                counts[labels[j]] += 1;
            }
        }
        let own = labels[i];
        if counts[own] == 0 {
            continue;
        }
        let a = sums[own] / counts[own] as f64;
        let b = (0..k)
            .filter(|&c| c != own && counts[c] > 0)
            .map(|c| sums[c] / counts[c] as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() {
            total += (b - a) / a.max(b);
        }
    }
    total / rows.len() as f64
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_perfect_random_and_inverted_rankings() {
        let labels = [false, false, true, true];
        assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &labels), Some(1.0));
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &labels), Some(0.0));
        assert_eq!(auc(&[0.5, 0.5, 0.5, 0.5], &labels), Some(0.5));
        assert_eq!(auc(&[0.5, 0.5], &[true, true]), None);
    }

    #[test]
    fn adjusted_rand_index_reference_values() {
        // Identical partitions up to names: 1.
        assert_eq!(
            adjusted_rand_index(&[0, 0, 1, 1], &["a", "a", "b", "b"]),
            1.0
        );
        // sklearn: adjusted_rand_score([0,0,1,1], [0,0,1,2]) = 0.5714285714
        let v = adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2]);
        assert!((v - 0.571_428_571_4).abs() < 1e-9, "{v}");
    }

    #[test]
    fn lift_and_calibration() {
        let scores: Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect();
        let labels: Vec<bool> = (0..100).map(|i| i >= 90).collect();
        assert_eq!(lift_top_decile(&scores, &labels), Some(10.0));
        let bins = calibration(&scores, &labels);
        assert_eq!(bins.len(), 10);
        assert_eq!(bins[9].observed_rate, 1.0);
        assert_eq!(bins[0].observed_rate, 0.0);
    }

    #[test]
    fn silhouette_of_separated_clusters_is_near_one() {
        let x = Array2::from_shape_vec((4, 1), vec![0.0, 0.1, 10.0, 10.1]).unwrap();
        assert!(silhouette(&x, &[0, 0, 1, 1], 100) > 0.95);
    }
}
