//! Integration tests: one binary (ripgrep's layout). `util` holds the hermetic helpers.
mod cache;
mod cli;
mod conformance;
mod fixtures;
mod gitconfig;
mod go_interop;
mod hook;
mod interop;
mod key_shapes;
mod man;
mod online;
mod props;
mod real_history;
mod sign;
mod util;
