//! `tsfleet sim --stdio` behind a real OpenSSH sshd: the same dialogue as
//! the in-process SSH server, with sshd restricted to the IOS legacy
//! algorithm set or to modern algorithms only.

use crate::harness::sshd::{LEGACY, MODERN, Sshd};
use crate::harness::{fleet, openssh};

const DIALOGUE: &str = "enable\nenable\nterminal length 0\nconfigure terminal\nobject-group network threatstop-block\nhost 192.0.2.1\n198.51.100.0 255.255.255.0\nend\nshow object-group name threatstop-block\nwrite memory\nexit\n";

/// The dialogue as lines, without what differs between runs.
fn normalise(out: &str) -> Vec<String> {
    out.replace("\r\n", "\n")
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn via_sshd(algorithms: &str, client_opts: &[&str]) -> (String, tempfile::TempDir) {
    let state = tempfile::tempdir().unwrap();
    let sshd = Sshd::start(
        algorithms,
        &format!("--state-dir {}", state.path().display()),
    );
    let port = sshd.port.to_string();
    let key = sshd.client_key.display().to_string();
    let target = format!("{}@127.0.0.1", sshd.user);
    let mut args = vec![
        "-tt",
        "-p",
        port.as_str(),
        "-i",
        key.as_str(),
        "-o",
        "PreferredAuthentications=publickey",
    ];
    args.extend_from_slice(client_opts);
    args.push(target.as_str());
    let (ok, out, err) = openssh(sshd.dir.path(), "", &args, DIALOGUE);
    assert!(ok, "ssh via sshd failed: {err}\n{out}");
    (out, state)
}

async fn via_sim() -> String {
    let fleet = fleet(1, "").await;
    let dir = tempfile::tempdir().unwrap();
    let port = fleet.device("rtr-001").unwrap().addr.port().to_string();
    let (ok, out, err) = tokio::task::spawn_blocking(move || {
        openssh(
            dir.path(),
            "admin",
            &[
                "-p",
                &port,
                "-o",
                "PreferredAuthentications=password",
                "admin@127.0.0.1",
            ],
            DIALOGUE,
        )
    })
    .await
    .unwrap();
    // Like IOS, the simulator sends no exit-status: judge by what was said.
    assert!(!ok && out.contains("rtr-001#exit"), "{err}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_behind_legacy_sshd_gives_the_same_dialogue() {
    let expected = normalise(&via_sim().await);
    assert!(
        expected.iter().any(|l| l == " host 192.0.2.1"),
        "{expected:?}"
    );
    let (out, state) = tokio::task::spawn_blocking(|| {
        via_sshd(
            LEGACY,
            &[
                "-oKexAlgorithms=+diffie-hellman-group1-sha1",
                "-oHostKeyAlgorithms=+ssh-rsa",
                "-c",
                "aes128-cbc",
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(normalise(&out), expected);
    let saved: tsfleet::sim::device::DeviceState =
        serde_json::from_str(&std::fs::read_to_string(state.path().join("rtr-001.json")).unwrap())
            .unwrap();
    assert_eq!(saved.running.groups[0].entries.len(), 2);
    assert!(saved.saved());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_behind_modern_sshd_gives_the_same_dialogue() {
    let expected = normalise(&via_sim().await);
    let (out, _state) = tokio::task::spawn_blocking(|| via_sshd(MODERN, &[]))
        .await
        .unwrap();
    assert_eq!(normalise(&out), expected);
}
