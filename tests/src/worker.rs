//! Worker processes for tests.
