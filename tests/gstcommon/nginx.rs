//! An nginx of its own for the HTTP tests: it answers Range requests as web servers do, and its
//! access log says what crossed the wire.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One request as nginx logged it.
#[derive(Debug)]
pub struct Served {
    pub path: String,
    pub status: u16,
    pub range: Option<(u64, Option<u64>)>,
    pub bytes: u64,
}

/// An nginx of its own: configuration, document root and logs in a temporary directory, one
/// process in the foreground on a free loopback port. Stopped (and its log complete) on drop
/// or by `stop`.
pub struct Nginx {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl Nginx {
    pub fn start() -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("www");
        std::fs::create_dir(&root).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.path().display();
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log warn;\nevents {{ worker_connections 64; }}\n\
             http {{\n  log_format h4 '$uri $status \"$http_range\" $bytes_sent';\n\
               access_log {d}/access.log h4;\n  default_type application/octet-stream;\n\
               client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
               fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n\
               scgi_temp_path {d}/scgi;\n\
               server {{ listen 127.0.0.1:{port} sndbuf=64k; root {d}/www; }}\n}}\n"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new("nginx")
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .spawn()
            .expect("nginx starts (the test command installs Debian's nginx)");
        let mut server = Nginx {
            dir,
            port,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = server.child.as_mut().unwrap().try_wait().unwrap() {
                let log = std::fs::read_to_string(server.dir.path().join("error.log"));
                panic!("nginx exited with {status}: {log:?}");
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not listen on {port} in 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// The directory it serves.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("www")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn publish(&self, name: &str, from: &Path) -> String {
        std::fs::copy(from, self.dir.path().join("www").join(name)).unwrap();
        format!("http://127.0.0.1:{}/{name}", self.port)
    }

    /// Stops the server (SIGQUIT: it finishes logging what it served) and reads its log.
    pub fn stop(mut self) -> Vec<Served> {
        self.quit();
        let log = std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default();
        log.lines().map(parse_log_line).collect()
    }

    fn quit(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        unsafe { libc::kill(child.id() as i32, libc::SIGQUIT) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.quit();
    }
}

/// `/x.h4mk 206 "bytes=123-" 4567` -> Served.
fn parse_log_line(line: &str) -> Served {
    let mut parts = line.splitn(4, ' ');
    let path = parts.next().unwrap().to_string();
    let status = parts.next().unwrap().parse().unwrap();
    let range = parts.next().unwrap().trim_matches('"');
    let bytes = parts.next().unwrap().trim().parse().unwrap();
    let range = range.strip_prefix("bytes=").map(|r| {
        let (a, b) = r.split_once('-').unwrap();
        (a.parse().unwrap(), b.parse().ok())
    });
    Served {
        path,
        status,
        range,
        bytes,
    }
}
