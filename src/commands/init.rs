//! `tsfleet init`: a commented starter inventory. On a terminal it asks the
//! single-router setup's questions (never a secret); otherwise it uses the
//! flags and placeholders.

use crate::cli::InitArgs;
use crate::error::Error;
use crate::inventory::starter::{self, Answers};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

pub fn run(args: InitArgs) -> Result<ExitCode, Error> {
    refuse_overwrite(args.output.as_deref(), args.force)?;
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
        Error::Usage(format!(
            "{}\n(fix the answer or flag above; nothing was written)",
            text.join("\nerror: ")
        ))
    })?;
    write_output(args.output.as_deref(), &text)?;
    if let Some(p) = &args.output {
        eprintln!(
            "Wrote {}. Set TSFLEET_PASSWORD (and TSFLEET_ENABLE) in the environment, then: tsfleet inventory check -i {}",
            p.display(),
            p.display()
        );
    }
    Ok(ExitCode::SUCCESS)
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
        return Err(Error::Usage("input ended before the last question".into()));
    }
    let line = line.trim();
    Ok(if line.is_empty() {
        default.to_string()
    } else {
        line.to_string()
    })
}

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
    if args.allow_list.is_none() {
        a.allow_list = opt(question(&mut input, &mut out, "the allow_list to use", "")?);
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
        a.dns_port =
            port.parse().ok().filter(|&p: &u16| p > 0).ok_or_else(|| {
                Error::Usage(format!("DNS port {port:?}: write a number 1-65535"))
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
            .ok_or_else(|| {
                Error::Usage(format!(
                    "maximum policy size {size:?}: write a positive number of entries"
                ))
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

/// Refuse an existing `--output` file unless `--force`.
pub fn refuse_overwrite(output: Option<&Path>, force: bool) -> Result<(), Error> {
    if let Some(p) = output
        && p.exists()
        && !force
    {
        return Err(Error::Usage(format!(
            "{} exists: choose another file or add --force to overwrite it",
            p.display()
        )));
    }
    Ok(())
}

/// The text to `path` (atomically), or stdout.
pub fn write_output(path: Option<&Path>, text: &str) -> Result<(), Error> {
    match path {
        Some(p) => crate::files::write_atomic(p, text.as_bytes()).map_err(|source| Error::Io {
            path: p.to_path_buf(),
            source,
        }),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}
