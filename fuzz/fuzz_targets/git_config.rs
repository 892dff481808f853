//! git config text and `git -c` parameters, read without git: the config-file parser, the
//! `GIT_CONFIG_PARAMETERS` sq-quoted list, key canonicalisation and booleans. The first byte
//! picks the reader; the rest is its input.
#![no_main]
use gitsign::config::git as gitconfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, input)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(entries) = gitconfig::parse_file(input) {
                for (key, value) in &entries {
                    let _ = gitconfig::canonical_key(key);
                    let _ = gitconfig::parse_bool(value.as_ref().map(|v| v.as_slice()));
                }
            }
        }
        1 => {
            let _ = gitconfig::parse_parameters(input);
        }
        2 => {
            let _ = gitconfig::canonical_key(input);
        }
        _ => {
            let _ = gitconfig::parse_bool(Some(input));
        }
    }
});
