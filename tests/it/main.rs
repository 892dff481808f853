//! Integration tests: one binary (ripgrep's layout). `util` holds the hermetic helpers.
mod cli;
mod conformance;
mod fixtures;
mod interop;
mod man;
mod sign;
mod util;
