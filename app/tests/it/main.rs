//! The app crate's integration tests, one binary for all of them (as the
//! server's `tests/it`): what clients can send, checked through the public API.

#[cfg(feature = "ssr")]
mod answers;
mod cursor;
mod validation;
