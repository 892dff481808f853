//! Man pages and completions are generated from the clap definition: one page per command,
//! nested ones included (`gitsign-hook-install(1)`), each with ENVIRONMENT (from the key
//! table's documentation, `gitsign::docs`), FILES, EXIT STATUS and SEE ALSO. This test fails
//! when the checked-in copies under man/ are stale or when man/ holds a page no command has.
//! Regenerate with `GITSIGN_UPDATE_MAN=1 cargo test --test it man::`.

use clap::CommandFactory;
use roff::{bold, roman, Roff};

/// Help subcommands get no page of their own: `gitsign help X` is `man gitsign-X`.
fn without_help(cmd: clap::Command) -> clap::Command {
    cmd.disable_help_subcommand(true)
        .mut_subcommands(without_help)
}

/// Every command as (page name, command), depth first: gitsign, gitsign-hook, gitsign-hook-install, …
fn pages(prefix: &str, cmd: &clap::Command, out: &mut Vec<(String, clap::Command)>) {
    let name = if prefix.is_empty() {
        cmd.get_name().to_owned()
    } else {
        format!("{prefix}-{}", cmd.get_name())
    };
    out.push((name.clone(), cmd.clone().display_name(name.clone())));
    for sub in cmd.get_subcommands() {
        pages(&name, sub, out);
    }
}

/// Markdown code spans to bold, the rest roman.
fn inline(text: &str) -> Vec<roff::Inline> {
    text.split('`')
        .enumerate()
        .filter(|(_, s)| !s.is_empty())
        .map(|(i, s)| if i % 2 == 1 { bold(s) } else { roman(s) })
        .collect()
}

/// ENVIRONMENT, FILES, EXIT STATUS and SEE ALSO, in roff.
fn common_sections(page: &str, all_pages: &[String]) -> String {
    let mut r = Roff::new();
    r.control("SH", ["ENVIRONMENT"]);
    r.text([roman(
        "Every setting is a git config key and an environment variable. Precedence: default < git config < SIGSTORE_* < GITSIGN_* < command-line flag; an invalid value is an error naming where it came from.",
    )]);
    for (git, env, meaning) in gitsign::docs::rows() {
        r.control("TP", []);
        let mut head = Vec::new();
        for (i, e) in env.iter().enumerate() {
            if i > 0 {
                head.push(roman(", "));
            }
            head.push(bold(*e));
        }
        if !env.is_empty() {
            head.push(roman(" "));
        }
        head.extend([roman("(git config "), bold(git), roman(")")]);
        r.text(head);
        r.text(inline(meaning));
    }
    for (name, meaning) in gitsign::docs::OTHER_ENV {
        r.control("TP", []);
        r.text([bold(*name)]);
        r.text(inline(meaning));
    }
    r.control("SH", ["FILES"]);
    for (file, meaning) in gitsign::docs::FILES {
        r.control("TP", []);
        r.text([bold(*file)]);
        r.text(inline(meaning));
    }
    r.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in gitsign::docs::EXIT_CODES {
        r.control("TP", []);
        r.text([bold(*code)]);
        r.text(inline(meaning));
    }
    r.control("SH", ["SEE ALSO"]);
    let mut refs: Vec<roff::Inline> = Vec::new();
    let others = all_pages
        .iter()
        .filter(|p| p.as_str() != page)
        .map(String::as_str);
    for (i, p) in others
        .chain(gitsign::docs::SEE_ALSO_GIT.iter().copied())
        .enumerate()
    {
        if i > 0 {
            refs.push(roman(", "));
        }
        let (name, section) = p.split_once('(').map_or((p, "1)"), |(n, s)| (n, s));
        refs.push(bold(name));
        refs.push(roman(format!("({section}")));
    }
    r.text(refs);
    let text = r.render();
    // The page already defines the apostrophe string; keep one preamble.
    text.split_once("\n.el .ds Aq '\n")
        .map_or(text.clone(), |(_, rest)| rest.to_owned())
}

fn render(cmd: clap::Command, page: &str, all_pages: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .title(page.to_owned())
        .render(&mut out)
        .expect("render man page");
    let page_text = String::from_utf8(out).expect("clap_mangen writes UTF-8");
    let extra = common_sections(page, all_pages);
    // Before VERSION (clap_mangen's last section when there is one), else at the end.
    match page_text.find("\n.SH VERSION\n") {
        Some(at) => format!("{}\n{extra}{}", &page_text[..at], &page_text[at + 1..]),
        None => format!("{page_text}{extra}"),
    }
    .into_bytes()
}

fn all_pages() -> Vec<(String, clap::Command)> {
    let mut root = without_help(gitsign::cli::Cli::command());
    root.build();
    let mut list = Vec::new();
    pages("", &root, &mut list);
    let mut cache = gitsign::cli::credential_cache::Args::command();
    cache.build();
    list.push(("gitsign-credential-cache".to_owned(), cache));
    list
}

#[test]
fn man_pages_are_up_to_date() {
    let man = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let list = all_pages();
    let names: Vec<String> = list.iter().map(|(n, _)| format!("{n}(1)")).collect();
    let update = std::env::var_os("GITSIGN_UPDATE_MAN").is_some();
    let mut expected = std::collections::BTreeSet::new();
    for (name, cmd) in list {
        let file = format!("{name}.1");
        let bytes = render(cmd, &name, &names);
        let path = man.join(&file);
        expected.insert(file.clone());
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
    for entry in std::fs::read_dir(&man).expect("man/ exists") {
        let file = entry
            .expect("dir entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if !expected.contains(&file) {
            if update {
                std::fs::remove_file(man.join(&file)).expect("remove a stale page");
            } else {
                panic!("man/{file} belongs to no command: run GITSIGN_UPDATE_MAN=1 cargo test --test it man::");
            }
        }
    }
}

#[test]
fn every_page_has_the_sections_a_reader_looks_for() {
    let list = all_pages();
    assert!(
        list.iter().any(|(n, _)| n == "gitsign-hook-install"),
        "nested subcommands get pages"
    );
    let names: Vec<String> = list.iter().map(|(n, _)| format!("{n}(1)")).collect();
    for (name, cmd) in list {
        let page = String::from_utf8(render(cmd, &name, &names)).expect("utf8");
        for section in [
            "NAME",
            "SYNOPSIS",
            "ENVIRONMENT",
            "FILES",
            "EXIT STATUS",
            "SEE ALSO",
        ] {
            assert!(
                page.contains(&format!(".SH {section}\n"))
                    || page.contains(&format!(".SH \"{section}\"\n")),
                "{name}(1) has {section}"
            );
        }
        assert!(
            page.contains("GITSIGN_URL_OPENER"),
            "{name}(1) documents the environment"
        );
        assert_eq!(
            page.matches(".ds Aq").count(),
            2,
            "{name}(1) has one apostrophe preamble"
        );
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
