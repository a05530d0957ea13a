//! `tsfleet init`: a commented starter inventory. On a terminal it asks the
//! single-router setup's questions (never a secret); otherwise it uses the
//! flags and placeholders. The allow list is optional: none given, none written.

use crate::cli::InitArgs;
use crate::error::{Error, Outcome};
use crate::files::Output;
use crate::inventory::starter::{self, Answers};
use std::io::{BufRead, IsTerminal, Write};

pub fn run(args: InitArgs) -> Result<Outcome, Error> {
    check_output(args.output.as_ref(), args.force)?;
    let mut answers = Answers {
        block_list: args.block_list.clone(),
        allow_list: args.allow_list.clone(),
        devices: args.devices.clone(),
        username: args.username.clone(),
        dns_servers: args.dns_servers.clone(),
        dns_port: args.dns_port.unwrap_or(starter::DEFAULT_DNS_PORT),
        max_policy_size: args
            .max_policy_size
            .map_or(starter::DEFAULT_MAX_POLICY_SIZE, |n| n as usize),
    };
    if !args.no_input && std::io::stdin().is_terminal() {
        ask(&args, &mut answers)?;
    }
    let text = starter::starter(&answers);
    // The answers are checked as `tsfleet inventory check` will check them.
    let here = std::path::PathBuf::from(".");
    let paths = crate::inventory::effective::PathContext {
        base_dir: &here,
        home: None,
    };
    crate::inventory::check_text(&text, &paths).map_err(|mistakes| {
        let text: Vec<String> = mistakes
            .iter()
            .map(|m| m.display("<answers>").to_string())
            .collect();
        Error::Mistakes {
            mistakes: text,
            then: "(fix the answer or flag above; nothing was written)",
        }
    })?;
    write_output(args.output.as_ref(), &text)?;
    let left = starter::placeholders(&text).len();
    if left > 0 {
        eprintln!(
            "{left} placeholder{s} marked `{mark}`: put your values in their place; `tsfleet inventory check` refuses the file until then.",
            s = if left == 1 { "" } else { "s" },
            mark = starter::MARK,
        );
    }
    if let Some(p) = args.output.as_ref().and_then(|o| o.path()) {
        eprintln!(
            "Wrote {}. Set TSFLEET_PASSWORD (and TSFLEET_ENABLE) in the environment, then: tsfleet inventory check -i {}",
            p.display(),
            p.display()
        );
    }
    Ok(Outcome::Done)
}

/// One question: `Please enter X:\n[default] ==> `; an empty answer keeps the default.
fn question(
    input: &mut impl BufRead,
    out: &mut impl Write,
    what: &str,
    default: &str,
) -> Result<String, Error> {
    let io = |source| Error::Io {
        path: "<terminal>".into(),
        source,
    };
    write!(out, "Please enter {what}:\n[{default}] ==> ").map_err(io)?;
    out.flush().map_err(io)?;
    let mut line = String::new();
    if input.read_line(&mut line).map_err(io)? == 0 {
        return Err(Error::Io {
            path: "<terminal>".into(),
            source: std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "input ended before the last question",
            ),
        });
    }
    let line = line.trim();
    Ok(if line.is_empty() {
        default.to_string()
    } else {
        line.to_string()
    })
}

/// The allow list question's default: no allow list.
const NONE: &str = "none";

/// Ask what the flags did not say, as the original setup did.
fn ask(args: &InitArgs, a: &mut Answers) -> Result<(), Error> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = std::io::stderr();
    let _ = writeln!(
        out,
        "tsfleet init: a starter inventory. Press Enter to keep the value in [].\n\
         Secrets are not asked for: set TSFLEET_PASSWORD and TSFLEET_ENABLE in the environment."
    );
    let opt = |s: String| Some(s).filter(|s| !s.is_empty());
    if args.block_list.is_none() {
        a.block_list = opt(question(&mut input, &mut out, "the block_list to use", "")?);
    }
    if a.block_list.is_none() {
        let _ = writeln!(
            out,
            "No block list: a placeholder marked `{}` is written in its place.",
            starter::MARK
        );
    }
    if args.allow_list.is_none() && !args.no_allow_list {
        // Optional: Enter (or `none`) means the inventory has no allow list.
        let allow = question(&mut input, &mut out, "the allow_list to use", NONE)?;
        a.allow_list = Some(allow).filter(|l| !l.eq_ignore_ascii_case(NONE));
        if a.allow_list.is_none() {
            let _ = writeln!(out, "No allow list: none is written.");
        }
    }
    if args.devices.is_empty() {
        let hosts = question(
            &mut input,
            &mut out,
            "the IP address(es) of the IOS device(s) for SSH, separated by spaces or commas",
            "",
        )?;
        a.devices = hosts
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
    }
    if args.dns_port.is_none() {
        let port = question(
            &mut input,
            &mut out,
            "port to use for DNS queries",
            &a.dns_port.to_string(),
        )?;
        a.dns_port = port
            .parse()
            .ok()
            .filter(|&p: &u16| p > 0)
            .ok_or_else(|| Error::Answer {
                what: "DNS port",
                answer: port.clone(),
                expected: "write a number 1-65535",
            })?;
    }
    if args.max_policy_size.is_none() {
        let size = question(
            &mut input,
            &mut out,
            "the Maximum Policy size of the device",
            &a.max_policy_size.to_string(),
        )?;
        a.max_policy_size = size
            .parse()
            .ok()
            .filter(|&n: &usize| n > 0)
            .ok_or_else(|| Error::Answer {
                what: "maximum policy size",
                answer: size.clone(),
                expected: "write a positive number of entries",
            })?;
    }
    if args.username.is_none() {
        a.username = opt(question(
            &mut input,
            &mut out,
            "the username used to SSH to the device",
            "",
        )?);
    }
    Ok(())
}

/// Before anything is asked or read: refuse an existing `--output` file
/// unless `--force`, and one that cannot be written.
pub fn check_output(output: Option<&Output>, force: bool) -> Result<(), Error> {
    if let Some(p) = output.and_then(|o| o.path()) {
        if p.exists() && !force {
            return Err(Error::Exists(p.to_path_buf()));
        }
        super::run::check_outputs(&[("--output", &output.cloned())])?;
    }
    Ok(())
}

/// The text to the `--output` file (atomically), or stdout.
pub fn write_output(output: Option<&Output>, text: &str) -> Result<(), Error> {
    output
        .unwrap_or(&Output::Stdout)
        .write(text.as_bytes())
        .map_err(|source| Error::Io {
            path: output.map_or("-".into(), |o| o.to_string().into()),
            source,
        })
}
