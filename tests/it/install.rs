//! Installing like a tool: `tsfleet completions SHELL` and `tsfleet man`,
//! run as the built binary; the bash script is loaded by a real bash and
//! the man pages are rendered by man-db's `man -l`.

use crate::harness::tsfleet;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// A visible subcommand: its man page's name (`tsfleet-report-merge`),
/// the word typed (`merge`), its description, how deep it is (1 for `plan`).
struct Sub {
    page: String,
    word: String,
    about: String,
    depth: usize,
}

/// Every visible subcommand, depth first, from the clap definitions, so a
/// new subcommand is checked without editing this file.
fn all_subcommands() -> Vec<Sub> {
    fn walk(cmd: &clap::Command, prefix: &str, depth: usize, out: &mut Vec<Sub>) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            if sub.get_name() == "help" {
                continue;
            }
            let page = format!("{prefix}-{}", sub.get_name());
            out.push(Sub {
                page: page.clone(),
                word: sub.get_name().to_string(),
                about: sub.get_about().map(|a| a.to_string()).unwrap_or_default(),
                depth,
            });
            walk(sub, &page, depth + 1, out);
        }
    }
    let mut out = Vec::new();
    let cli = <tsfleet::cli::Cli as clap::CommandFactory>::command();
    walk(&cli, "tsfleet", 1, &mut out);
    out
}

/// Words only, lower case, one space apart: rendered roff changes quotes,
/// dashes and line breaks, not words.
fn words(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

fn stdout_of(args: &[&str], cwd: &Path) -> String {
    let out = tsfleet(args, cwd);
    assert!(
        out.status.success(),
        "tsfleet {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What `man -l` renders from `roff`, on wide lines (nothing wrapped or
/// hyphenated); fails on any warning of groff.
fn man_render(roff: &[u8]) -> String {
    let mut child = Command::new("man")
        .args(["--warnings", "-l", "-"])
        .env("LC_ALL", "C")
        .env("MANWIDTH", "2000")
        .env("MANPAGER", "cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("man-db's man (Debian package man-db) renders the pages");
    child.stdin.take().unwrap().write_all(roff).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "man -l: {stderr}"
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn bash_completion_completes_subcommands_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let script = stdout_of(&["completions", "bash"], dir.path());
    std::fs::write(dir.path().join("tsfleet.bash"), &script).unwrap();
    // bash calls the function with the command, the word being completed
    // and the word before it, COMP_WORDS/COMP_CWORD set.
    let probe = r#"
        source ./tsfleet.bash
        COMP_WORDS=(tsfleet pl); COMP_CWORD=1
        _tsfleet tsfleet pl tsfleet
        echo "subcommand: ${COMPREPLY[*]}"
        COMP_WORDS=(tsfleet plan --dif); COMP_CWORD=2
        _tsfleet tsfleet --dif plan
        echo "flag: ${COMPREPLY[*]}"
    "#;
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", probe])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, "subcommand: plan\nflag: --diff\n");
}

#[test]
fn zsh_fish_powershell_completions_name_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let subs = all_subcommands();
    assert!(subs.iter().any(|s| s.page == "tsfleet-report-merge"));
    for shell in ["zsh", "fish", "powershell"] {
        let script = stdout_of(&["completions", shell], dir.path());
        for sub in &subs {
            assert!(
                script.contains(&sub.word),
                "{shell} script lacks {}",
                sub.page
            );
        }
        assert!(script.contains("diff"), "{shell} script lacks plan --diff");
    }
    let bad = tsfleet(&["completions", "tcsh"], dir.path());
    assert_eq!(bad.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("possible values"));
}

#[test]
fn man_page_renders_with_every_subcommand_described() {
    let dir = tempfile::tempdir().unwrap();
    let roff = stdout_of(&["man"], dir.path());
    assert!(roff.contains(".TH tsfleet 1"), "{roff}");
    let shown = words(&man_render(roff.as_bytes()));
    assert!(shown.contains("exit codes"), "{shown}");
    // The top page lists the commands directly under it, each with its description.
    for sub in all_subcommands().iter().filter(|s| s.depth == 1) {
        assert!(shown.contains(&words(&sub.page)), "man lacks {}", sub.page);
        assert!(shown.contains(&words(&sub.about)), "man lacks {}", sub.page);
    }
}

#[test]
fn man_dir_writes_one_page_per_command_and_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("share/man/man1");
    let pages_arg = pages.to_str().unwrap();
    stdout_of(&["man", "--dir", pages_arg], dir.path());
    let mode = std::fs::metadata(&pages).unwrap().permissions().mode();
    assert_eq!(mode & 0o022, 0, "the folder is not writable by others");
    assert_eq!(
        mode & 0o055,
        0o055,
        "man pages are readable by all: {mode:o}"
    );

    let mut expected: Vec<String> = all_subcommands()
        .into_iter()
        .map(|s| format!("{}.1", s.page))
        .chain(["tsfleet.1".to_string()])
        .collect();
    expected.sort();
    let mut written: Vec<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(written, expected);

    for sub in all_subcommands() {
        let roff = std::fs::read(pages.join(format!("{}.1", sub.page))).unwrap();
        let shown = words(&man_render(&roff));
        assert!(
            shown.starts_with(&words(&sub.page)),
            "{}: {shown}",
            sub.page
        );
        assert!(
            shown.contains(&words(&sub.about)),
            "{} lacks its description",
            sub.page
        );
    }

    // Written again over the old pages; a link in place of the folder is refused.
    stdout_of(&["man", "--dir", pages_arg], dir.path());
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&pages, &link).unwrap();
    let out = tsfleet(&["man", "--dir", link.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("symbolic link"));
}
