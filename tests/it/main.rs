//! segmint integration tests.
