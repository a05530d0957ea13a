//! A real NSD serving `threatstop.local` from a zone file, in the
//! foreground on `127.0.0.1:<free port>`, killed on drop.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Nsd {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Nsd {
    /// Write the zone and an nsd.conf in a tempdir, start `nsd -d`, and
    /// wait until it answers the zone's SOA over TCP.
    pub fn start(zone: &super::Zone) -> Nsd {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = super::free_port();
        let d = dir.path();
        std::fs::write(d.join("threatstop.local.zone"), zone.text()).expect("write zone");
        let conf = format!(
            "server:\n  ip-address: 127.0.0.1@{port}\n  do-ip6: no\n  username: \"\"\n  chroot: \"\"\n\
             \x20 zonesdir: \"{dir}\"\n  database: \"\"\n  pidfile: \"{dir}/nsd.pid\"\n\
             \x20 xfrdfile: \"{dir}/xfrd.state\"\n  zonelistfile: \"{dir}/zone.list\"\n\
             \x20 logfile: \"{dir}/nsd.log\"\n  server-count: 1\n  verbosity: 1\n\
             remote-control:\n  control-enable: no\n\
             zone:\n  name: threatstop.local\n  zonefile: \"{dir}/threatstop.local.zone\"\n",
            dir = d.display()
        );
        std::fs::write(d.join("nsd.conf"), conf).expect("write nsd.conf");
        let child = Command::new(nsd_binary())
            .arg("-d")
            .arg("-c")
            .arg(d.join("nsd.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nsd (install the Debian package `nsd`)");
        let mut nsd = Nsd { port, child, dir };
        nsd.wait_ready();
        nsd
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `127.0.0.1:<port>`, as the inventory and reports show it.
    pub fn server(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("nsd.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let ready = super::wait::holds_within(Duration::from_secs(20), || {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("nsd exited ({status}) before answering:\n{}", self.log());
            }
            soa_answers(self.port)
        });
        assert!(ready, "nsd did not answer within 20 s:\n{}", self.log());
    }
}

impl Drop for Nsd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nsd_binary() -> PathBuf {
    for p in ["/usr/sbin/nsd", "/usr/local/sbin/nsd"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    PathBuf::from("nsd")
}

/// One hand-made SOA query for `threatstop.local` over TCP: true when the
/// server answers NOERROR with an answer (the zone is loaded).
fn soa_answers(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut q = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in ["threatstop", "local"] {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 6, 0, 1]);
    let mut msg = (q.len() as u16).to_be_bytes().to_vec();
    msg.extend_from_slice(&q);
    if s.write_all(&msg).is_err() {
        return false;
    }
    let mut len = [0u8; 2];
    if s.read_exact(&mut len).is_err() {
        return false;
    }
    let mut resp = vec![0u8; u16::from_be_bytes(len) as usize];
    if s.read_exact(&mut resp).is_err() || resp.len() < 12 {
        return false;
    }
    resp[3] & 0x0f == 0 && u16::from_be_bytes([resp[6], resp[7]]) > 0
}
