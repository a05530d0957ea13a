//! A deliberately broken DNS server for what NSD refuses to serve: it
//! answers every APL query with the same raw RDATA (e.g. malformed) and
//! every other query with NODATA. TCP only, on `127.0.0.1:<free port>`.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};

/// Start the server in a background thread; returns its port.
pub fn serve_apl(rdata: Vec<u8>) -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let rdata = rdata.clone();
            std::thread::spawn(move || serve_conn(conn, &rdata));
        }
    });
    port
}

fn serve_conn(mut conn: TcpStream, rdata: &[u8]) {
    loop {
        let mut len = [0u8; 2];
        if conn.read_exact(&mut len).is_err() {
            return;
        }
        let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
        if conn.read_exact(&mut q).is_err() || q.len() < 12 {
            return;
        }
        // The question: qname labels, then qtype and qclass.
        let mut at = 12;
        while at < q.len() && q[at] != 0 {
            at += 1 + q[at] as usize;
        }
        let end = at + 5;
        if end > q.len() {
            return;
        }
        let qtype = u16::from_be_bytes([q[at + 1], q[at + 2]]);
        let answer = qtype == 42;
        let mut r = vec![
            q[0],
            q[1],
            0x84,
            0x00,
            0,
            1,
            0,
            u8::from(answer),
            0,
            0,
            0,
            0,
        ];
        r.extend_from_slice(&q[12..end]);
        if answer {
            r.extend_from_slice(&[0xc0, 0x0c, 0, 42, 0, 1, 0, 0, 1, 0x2c]);
            r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            r.extend_from_slice(rdata);
        }
        let mut msg = (r.len() as u16).to_be_bytes().to_vec();
        msg.extend_from_slice(&r);
        if conn.write_all(&msg).is_err() {
            return;
        }
    }
}
