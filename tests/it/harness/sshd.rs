//! A real OpenSSH `sshd` on a loopback port whose only command is
//! `tsfleet sim --stdio`, restricted to an algorithm set (the IOS legacy one,
//! or modern only). Started per test, killed on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Sshd {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// The client key authorised to log in (OpenSSH format, no passphrase).
    pub client_key: PathBuf,
    pub user: String,
}

/// The algorithm set old IOS offers.
pub const LEGACY: &str = "KexAlgorithms diffie-hellman-group1-sha1,diffie-hellman-group14-sha1\n\
    Ciphers aes128-cbc,3des-cbc\n\
    MACs hmac-sha1\n\
    HostKeyAlgorithms ssh-rsa\n\
    PubkeyAcceptedAlgorithms +ssh-rsa\n";

/// Modern algorithms only.
pub const MODERN: &str = "KexAlgorithms curve25519-sha256\n\
    Ciphers aes256-gcm@openssh.com,chacha20-poly1305@openssh.com\n\
    MACs hmac-sha2-256-etm@openssh.com\n\
    HostKeyAlgorithms ssh-ed25519\n";

fn keygen(path: &Path, kind: &str) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-t", kind, "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs")
        .success();
    assert!(ok, "ssh-keygen -t {kind} failed");
}

impl Sshd {
    /// Start sshd serving `tsfleet sim --stdio <sim_args>` with `algorithms`.
    pub fn start(algorithms: &str, sim_args: &str) -> Sshd {
        let sshd = ["/usr/sbin/sshd", "/usr/local/sbin/sshd"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("OpenSSH sshd is installed (scripts/test installs openssh-server)");
        // sshd insists on its privilege-separation folder.
        let _ = std::fs::create_dir_all("/run/sshd");
        let dir = tempfile::tempdir().unwrap();
        let host_rsa = dir.path().join("host_rsa");
        let host_ed = dir.path().join("host_ed25519");
        keygen(&host_rsa, "rsa");
        keygen(&host_ed, "ed25519");
        let client_key = dir.path().join("client_ed25519");
        keygen(&client_key, "ed25519");
        let authorized = dir.path().join("authorized_keys");
        std::fs::copy(client_key.with_extension("pub"), &authorized).unwrap();
        let port = super::free_port();
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let config = format!(
            "ListenAddress 127.0.0.1:{port}\n\
             HostKey {rsa}\nHostKey {ed}\n\
             AuthorizedKeysFile {authorized}\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
             PermitRootLogin prohibit-password\nStrictModes no\n\
             PidFile {pid}\n\
             ForceCommand {bin} sim --stdio {sim_args}\n{algorithms}",
            rsa = host_rsa.display(),
            ed = host_ed.display(),
            authorized = authorized.display(),
            pid = dir.path().join("sshd.pid").display(),
            bin = super::tsfleet_bin(),
        );
        let config_path = dir.path().join("sshd_config");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sshd starts");
        super::wait_until(
            &format!("sshd to listen on 127.0.0.1:{port}"),
            Duration::from_secs(10),
            || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        );
        Sshd {
            child,
            port,
            dir,
            client_key,
            user,
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
