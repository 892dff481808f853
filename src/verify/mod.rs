//! Verification: chain at the anchored time, SCT, transparency log, timestamps, policy.
pub mod tlog;
pub mod timestamp;
