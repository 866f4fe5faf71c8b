//! # segmint-models — fitting what forward-looking segments use
//!
//! | module | does |
//! |---|---|
//! | [`matrix`] | feature columns (as the feature plan gives them) → standardized inputs ([`segmint_compiler::trained::Input`]) and the matrix `z` |
//! | [`logistic`] | L2-regularized logistic regression (`linfa-logistic`), probabilities computed as the plan computes them |
//! | [`kmeans`] | k-means++ with a fixed seed (`linfa-clustering`), k chosen by silhouette, centroids ordered by size |
//! | [`metrics`] | AUC, lift in the top decile, calibration, adjusted Rand index, silhouette |
//!
//! Nothing here reads storage or plans queries: the engine collects the feature plan and
//! hands over columns; what comes back is plain data that the compiler turns into
//! expressions.

pub mod kmeans;
pub mod logistic;
pub mod matrix;
pub mod metrics;

/// Why fitting failed.
#[derive(Debug, thiserror::Error)]
pub enum FitError {
    /// Too few rows or labels to fit anything meaningful.
    #[error("{0}")]
    TooLittleData(String),
    /// The solver failed.
    #[error("fitting failed: {0}")]
    Solver(String),
}
