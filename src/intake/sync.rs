//! Sync orchestration.
