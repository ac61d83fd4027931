//! In-process API server for tests (owned by the API work).
