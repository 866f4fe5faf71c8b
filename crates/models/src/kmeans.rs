//! k-means++ with `linfa-clustering` and a fixed seed; k chosen by silhouette when a range
//! is given. Centroids come back largest cluster first, so names are stable for a lake,
//! spec and seed.

use linfa::DatasetBase;
use linfa::prelude::*;
use linfa_clustering::KMeans;
use ndarray::Array2;
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng;

use crate::FitError;
use crate::metrics::silhouette;

/// Rows the silhouette is computed on (evenly spaced sample).
const SILHOUETTE_SAMPLE: usize = 2_000;

/// A fitted clustering.
#[derive(Debug, Clone, PartialEq)]
pub struct Clusters {
    /// Largest first.
    pub centroids: Vec<Vec<f64>>,
    /// Each row's cluster (an index into `centroids`).
    pub labels: Vec<usize>,
    pub sizes: Vec<u64>,
    pub silhouette: f64,
}

/// Cluster `x` into `k` groups.
pub fn fit(x: &Array2<f64>, k: usize, seed: u64) -> Result<Clusters, FitError> {
    if x.nrows() < k {
        return Err(FitError::TooLittleData(format!(
            "{} entities cannot form {k} archetypes",
            x.nrows()
        )));
    }
    let rng = Xoshiro256Plus::seed_from_u64(seed);
    let model = KMeans::params_with_rng(k, rng)
        .n_runs(8)
        .max_n_iterations(300)
        .tolerance(1e-6)
        .fit(&DatasetBase::from(x.clone()))
        .map_err(|e| FitError::Solver(e.to_string()))?;
    let raw = model.predict(x).to_vec();
    let mut sizes = vec![0u64; k];
    for &l in &raw {
        sizes[l] += 1;
    }
    // Largest first (ties: the centroid's first coordinates, so the order is total).
    let centroids = model.centroids();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| {
        sizes[b].cmp(&sizes[a]).then_with(|| {
            centroids
                .row(a)
                .iter()
                .zip(centroids.row(b).iter())
                .map(|(p, q)| p.total_cmp(q))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    });
    let mut position = vec![0usize; k];
    for (new, &old) in order.iter().enumerate() {
        position[old] = new;
    }
    let labels: Vec<usize> = raw.iter().map(|&l| position[l]).collect();
    Ok(Clusters {
        centroids: order.iter().map(|&c| centroids.row(c).to_vec()).collect(),
        sizes: order.iter().map(|&c| sizes[c]).collect(),
        silhouette: silhouette(x, &labels, SILHOUETTE_SAMPLE),
        labels,
    })
}

/// The clustering with the best silhouette among `from..=to` clusters (the smaller k on a
/// tie), and every k's silhouette.
pub fn fit_best(
    x: &Array2<f64>,
    from: usize,
    to: usize,
    seed: u64,
) -> Result<(Clusters, Vec<(usize, f64)>), FitError> {
    let mut best: Option<Clusters> = None;
    let mut scores = Vec::new();
    for k in from..=to {
        let c = fit(x, k, seed)?;
        scores.push((k, c.silhouette));
        if best.as_ref().is_none_or(|b| c.silhouette > b.silhouette) {
            best = Some(c);
        }
    }
    best.map(|b| (b, scores))
        .ok_or_else(|| FitError::TooLittleData("no k to try".into()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn separated_blobs_are_found_largest_first_and_deterministically() {
        let mut rows = Vec::new();
        for i in 0..30 {
            rows.extend([0.0 + (i % 3) as f64 * 0.01, 0.0]);
        }
        for i in 0..10 {
            rows.extend([5.0 + (i % 3) as f64 * 0.01, 5.0]);
        }
        let x = Array2::from_shape_vec((40, 2), rows).unwrap();
        let c = fit(&x, 2, 7).unwrap();
        assert_eq!(c.sizes, vec![30, 10]);
        assert!(c.centroids[0][0] < 1.0 && c.centroids[1][0] > 4.0);
        assert_eq!(fit(&x, 2, 7).unwrap(), c);
        let (best, scores) = fit_best(&x, 2, 4, 7).unwrap();
        assert_eq!(best.centroids.len(), 2, "{scores:?}");
    }
}
