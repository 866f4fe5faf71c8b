//! Shared helpers for segmint's integration tests.
