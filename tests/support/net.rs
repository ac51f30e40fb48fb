//! Loopback ports for the test servers. A server that can bind port 0 and say which port it got
//! does so ([`port_announced`] reads what it says); `cargo lambda watch` cannot (given 0 it takes
//! 9000), so it gets a port picked here, and [`wait_for_own_port`] makes sure that the listener
//! found there is the child's.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::process::Child;
use std::sync::mpsc::channel;
use std::thread;
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Reads `output` line by line until one holds `marker` followed by a port, and returns that
/// port; the rest of the output is drained in the background so the child never blocks on it.
/// On failure (the output ended, or `within` passed) returns what was read.
pub fn port_announced(output: impl Read + Send + 'static, marker: &str, within: Duration) -> Result<u16, String> {
    let (tx, rx) = channel();
    let marker = marker.to_string();
    thread::spawn(move || {
        let mut seen = String::new();
        let mut lines = BufReader::new(output).lines();
        for line in lines.by_ref().map_while(Result::ok) {
            let port = line.split_once(&marker).and_then(|(_, rest)| {
                rest.split(|c: char| !c.is_ascii_digit()).next().and_then(|p| p.parse::<u16>().ok())
            });
            seen.push_str(&line);
            seen.push('\n');
            if let Some(port) = port {
                let _ = tx.send(Ok(port));
                // Keep reading, so the child never blocks on a full pipe.
                for _ in lines.by_ref() {}
                return;
            }
        }
        let _ = tx.send(Err(seen));
    });
    rx.recv_timeout(within).unwrap_or_else(|_| Err(format!("nothing announced within {within:?}")))
}

/// Waits until `child` itself listens on `port`: the listening socket there is one of its open
/// files (Linux's /proc), so a listener of another process is never taken for it. `false` when
/// the child exits first (say, because the port was taken meanwhile), so the caller can try
/// another port.
pub fn wait_for_own_port(child: &mut Child, port: u16, what: &str) -> bool {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if listener_inode(port).is_some_and(|inode| holds_socket(child.id(), &inode)) {
            return true;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{what} did not start on port {port}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// The inode of the socket listening on 127.0.0.1:`port`, from /proc/net/tcp.
fn listener_inode(port: u16) -> Option<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let local = format!("0100007F:{port:04X}");
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // local address, state (0A: listening), inode
        (fields.get(1) == Some(&local.as_str()) && fields.get(3) == Some(&"0A"))
            .then(|| fields.get(9))
            .flatten()
            .map(|s| s.to_string())
    })
}

fn holds_socket(pid: u32, inode: &str) -> bool {
    let want = format!("socket:[{inode}]");
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy() == want)))
        .unwrap_or(false)
}
