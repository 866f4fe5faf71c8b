//! segmint engine (placeholder; being written).
pub mod lake_gen;
