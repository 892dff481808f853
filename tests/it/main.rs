//! Integration tests: one binary (ripgrep's layout). `util` holds the hermetic helpers.
mod attest;
mod cache;
mod cli;
mod conformance;
mod fixtures;
mod gitconfig;
mod go_interop;
mod hook;
mod interop;
mod man;
mod online;
mod props;
mod readme;
mod sign;
mod ui;
mod util;
