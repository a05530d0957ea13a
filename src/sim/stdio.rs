//! One device's CLI on stdin/stdout (`tsfleet sim --stdio`), so a real
//! OpenSSH `sshd` (with `ForceCommand`) can serve it with whatever algorithm
//! set it is configured for. The device's state is read from and written back
//! to `--state-dir`, since every SSH login starts a new process.

use super::SimError;
use super::cli::Cli;
use super::fleet::FleetConfig;
use super::runtime::DeviceRuntime;
use super::session;
use std::path::Path;
use std::sync::Arc;

/// Serve one session on stdin/stdout; returns when it ends.
pub async fn run(config: FleetConfig, device: Option<String>) -> Result<(), SimError> {
    let name = device
        .or_else(|| config.profile.devices.keys().next().cloned())
        .unwrap_or_else(|| super::fleet::device_name(0, 1));
    let runtime = Arc::new(DeviceRuntime::for_stdio(&config, &name)?);
    // A PTY from sshd would echo and translate line endings itself; the CLI
    // does both, as IOS does, so the terminal must pass bytes through untouched.
    let _raw = RawMode::enter();
    let faults = runtime.faults();
    let cli = Cli::new(
        runtime.state.clone(),
        Arc::new(runtime.cli_options(&faults)),
    );
    let state_file = match &config.state_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| SimError::Io(dir.clone(), e))?;
            Some(dir.join(format!("{name}.json")))
        }
        None => None,
    };
    // sshd may end the process (SIGHUP) as soon as the client hangs up, so
    // the state is kept on disk while the session runs, not only at its end.
    let keeper = state_file.clone().map(|path| {
        let runtime = runtime.clone();
        tokio::spawn(async move {
            let mut last = runtime.snapshot();
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                let now = runtime.snapshot();
                if now != last && save(&runtime, &path).is_ok() {
                    last = now;
                }
            }
        })
    });
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| SimError::Other(format!("cannot watch for SIGHUP: {e}")))?;
    let session = session::drive(
        cli,
        runtime.state.clone(),
        tokio::io::stdin(),
        tokio::io::stdout(),
        runtime.behaviour(&faults),
    );
    // When the client hangs up, sshd closes the terminal: save and go.
    tokio::select! {
        _ = session => {}
        _ = hangup.recv() => {}
    }
    if let Some(k) = keeper {
        k.abort();
    }
    if let Some(path) = &state_file {
        save(&runtime, path)?;
    }
    Ok(())
}

fn save(runtime: &DeviceRuntime, path: &Path) -> Result<(), SimError> {
    let json = serde_json::to_string_pretty(&runtime.snapshot()).expect("device state serialises");
    crate::files::write_atomic(path, json.as_bytes())
        .map_err(|e| SimError::Io(path.to_path_buf(), e))
}

/// Puts a terminal on stdin into raw mode and restores it on drop; does
/// nothing when stdin is not a terminal.
struct RawMode {
    saved: Option<rustix::termios::Termios>,
}

impl RawMode {
    fn enter() -> RawMode {
        let stdin = rustix::stdio::stdin();
        let Ok(saved) = rustix::termios::tcgetattr(stdin) else {
            return RawMode { saved: None };
        };
        let mut raw = saved.clone();
        raw.make_raw();
        let _ = rustix::termios::tcsetattr(stdin, rustix::termios::OptionalActions::Now, &raw);
        RawMode { saved: Some(saved) }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = rustix::termios::tcsetattr(
                rustix::stdio::stdin(),
                rustix::termios::OptionalActions::Now,
                saved,
            );
        }
    }
}
