//! Integration tests: one binary (ripgrep's layout). `util` holds the hermetic helpers.
mod fixtures;
mod util;
