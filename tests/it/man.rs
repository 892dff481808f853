//! Man pages and completions are generated from the clap definition; this test fails when the
//! checked-in copies under man/ are stale. Regenerate with `GITSIGN_UPDATE_MAN=1 cargo test --test it man::`.

use clap::CommandFactory;

fn render(cmd: clap::Command, title: &str) -> Vec<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .title(title.to_owned())
        .render(&mut out)
        .expect("render man page");
    out
}

#[test]
fn man_pages_are_up_to_date() {
    let man = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let mut root = gitsign::cli::Cli::command();
    root.build();
    let mut pages = vec![("gitsign.1".to_owned(), render(root.clone(), "gitsign"))];
    for sub in root.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("gitsign-{}", sub.get_name());
        pages.push((format!("{name}.1"), render(sub.clone(), &name)));
    }
    pages.push((
        "gitsign-credential-cache.1".to_owned(),
        render(
            gitsign::cli::credential_cache::Args::command(),
            "gitsign-credential-cache",
        ),
    ));
    let update = std::env::var_os("GITSIGN_UPDATE_MAN").is_some();
    for (file, bytes) in pages {
        let path = man.join(&file);
        if update {
            std::fs::write(&path, &bytes).expect("write man page");
        } else {
            let current = std::fs::read(&path).unwrap_or_default();
            assert!(
                current == bytes,
                "man/{file} is stale: run GITSIGN_UPDATE_MAN=1 cargo test --test it man::"
            );
        }
    }
}

#[test]
fn completions_are_generated_for_common_shells() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = crate::util::output(
            std::process::Command::new(crate::util::gitsign_bin()).args(["completion", shell]),
        );
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(
            out.contains("verify-tag"),
            "{shell} completion knows the subcommands"
        );
    }
}
