//! segmint benchmarks.
