//! `tsfleet sim` as a separate process, as a user starts it: its stderr
//! lines read as they come (so a test waits for the line that says it is
//! up), stopped with SIGTERM.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::thread::JoinHandle;
use std::time::Duration;

/// A running `tsfleet sim` and the stderr lines seen so far.
pub struct SimProcess {
    child: Child,
    lines: Receiver<String>,
    reader: Option<JoinHandle<()>>,
    /// Every stderr line read so far, in order.
    pub seen: Vec<String>,
}

impl SimProcess {
    /// Start the binary with `args` (after `sim`) in `cwd`.
    pub fn spawn(args: &[&str], cwd: &Path) -> SimProcess {
        let mut child = Command::new(super::tsfleet_bin())
            .arg("sim")
            .args(args)
            .current_dir(cwd)
            .env_remove("RUST_LOG")
            .stderr(Stdio::piped())
            .spawn()
            .expect("tsfleet sim starts");
        let (send, lines) = channel();
        let stderr = child.stderr.take().expect("piped");
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let _ = send.send(line);
            }
        });
        SimProcess {
            child,
            lines,
            reader: Some(reader),
            seen: Vec::new(),
        }
    }

    /// [`SimProcess::spawn`] on ports the OS picks (`--base-port 0
    /// --dns-port 0`), so tests running at once never collide.
    pub fn spawn_on_free_ports(args: &[&str], cwd: &Path) -> SimProcess {
        let mut all = vec!["--base-port", "0", "--dns-port", "0"];
        all.extend(args);
        SimProcess::spawn(&all, cwd)
    }

    /// Wait until a stderr line starts with `prefix` and return it (the
    /// simulator listens for SIGTERM before it prints its startup lines).
    pub fn wait_for_line(&mut self, prefix: &str) -> String {
        loop {
            if let Some(line) = self.seen.iter().find(|l| l.starts_with(prefix)) {
                return line.clone();
            }
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|e| {
                    panic!("no line {prefix:?} from the sim ({e}): {:?}", self.seen)
                });
            self.seen.push(line);
        }
    }

    /// Send SIGTERM, wait for the exit; returns it with all of stderr.
    pub fn terminate(mut self) -> (ExitStatus, String) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        let status = self.child.wait().expect("the sim exits");
        if let Some(reader) = self.reader.take() {
            reader.join().expect("stderr reader");
        }
        self.seen.extend(self.lines.try_iter());
        (status, self.seen.join("\n"))
    }
}

impl Drop for SimProcess {
    /// A test that failed before `terminate` leaves no simulator behind.
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
