//! A small HTTP/1.1 server on 127.0.0.1 for the download tests: serves fixed bytes per path,
//! honours `Range` (and `If-Range`), and can cut connections part-way, answer 404 or 503, or stay
//! silent. It records every request it gets, so tests can check what the client asked for.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How one path answers.
#[derive(Clone)]
pub struct Route {
    pub body: Vec<u8>,
    /// The status of every answer (200, 404, 503...); bodies are only sent with 200.
    pub status: u16,
    /// Cut the connection after this many body bytes...
    pub cut_after: Option<usize>,
    /// ...in this many answers (then answer normally).
    pub cuts: usize,
    /// Honour `Range: bytes=N-`.
    pub ranges: bool,
    /// Never answer (the connection stays open and silent).
    pub silent: bool,
    cut_count: Arc<AtomicUsize>,
}

impl Route {
    /// Serves `body` with Range support and a strong ETag.
    pub fn file(body: impl Into<Vec<u8>>) -> Route {
        Route {
            body: body.into(),
            status: 200,
            cut_after: None,
            cuts: 0,
            ranges: true,
            silent: false,
            cut_count: Arc::default(),
        }
    }

    pub fn status(status: u16) -> Route {
        Route {
            status,
            ..Route::file(Vec::new())
        }
    }

    /// Cuts the first `cuts` answers after `after` body bytes.
    pub fn cut(mut self, after: usize, cuts: usize) -> Route {
        self.cut_after = Some(after);
        self.cuts = cuts;
        self
    }

    pub fn without_ranges(mut self) -> Route {
        self.ranges = false;
        self
    }

    pub fn silent() -> Route {
        Route {
            silent: true,
            ..Route::file(Vec::new())
        }
    }

    fn etag(&self) -> String {
        format!("\"{}\"", &blake3::hash(&self.body).to_hex()[..16])
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub range: Option<String>,
    pub if_range: Option<String>,
}

pub struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    /// Listens on a free port of 127.0.0.1 and answers `routes` (other paths get 404).
    pub fn start(routes: Vec<(&str, Route)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let routes: Arc<HashMap<String, Route>> = Arc::new(
            routes
                .into_iter()
                .map(|(p, r)| (p.to_string(), r))
                .collect(),
        );
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (routes, log) = (routes.clone(), log.clone());
                std::thread::spawn(move || serve(stream, &routes, &log));
            }
        });
        Server { addr, seen }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, routes: &HashMap<String, Route>, log: &Mutex<Vec<Seen>>) {
    let Some(seen) = read_request(&stream) else {
        return;
    };
    log.lock().unwrap().push(seen.clone());
    let mut stream = stream;
    let Some(route) = routes.get(&seen.path) else {
        let _ = respond(&mut stream, "404 Not Found", &[], b"no such file\n", None);
        return;
    };
    if route.silent {
        std::thread::sleep(Duration::from_secs(30));
        return;
    }
    if route.status != 200 {
        let line = format!(
            "{} {}",
            route.status,
            if route.status == 404 {
                "Not Found"
            } else {
                "Error"
            }
        );
        let _ = respond(&mut stream, &line, &[], b"error page\n", None);
        return;
    }
    answer_file(&mut stream, route, &seen);
}

fn answer_file(stream: &mut TcpStream, route: &Route, seen: &Seen) {
    let len = route.body.len();
    let etag = route.etag();
    let start = seen
        .range
        .as_deref()
        .filter(|_| route.ranges)
        .and_then(range_start);
    let fresh = seen.if_range.as_deref().is_none_or(|v| v == etag);
    let cut = route
        .cut_after
        .filter(|_| route.cut_count.fetch_add(1, Ordering::SeqCst) < route.cuts);
    let etag_header = ("ETag", etag.clone());
    match start {
        Some(start) if fresh && start >= len => {
            let _ = respond(
                stream,
                "416 Range Not Satisfiable",
                &[("Content-Range", format!("bytes */{len}"))],
                b"",
                None,
            );
        }
        Some(start) if fresh => {
            let range = ("Content-Range", format!("bytes {start}-{}/{len}", len - 1));
            let _ = respond(
                stream,
                "206 Partial Content",
                &[range, etag_header],
                &route.body[start..],
                cut,
            );
        }
        _ => {
            let _ = respond(
                stream,
                "200 OK",
                &[etag_header, ("Accept-Ranges", "bytes".into())],
                &route.body,
                cut,
            );
        }
    }
}

fn range_start(value: &str) -> Option<usize> {
    value
        .strip_prefix("bytes=")?
        .strip_suffix('-')?
        .parse()
        .ok()
}

fn read_request(stream: &TcpStream) -> Option<Seen> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let target = line.split_whitespace().nth(1)?;
    let path = target.split('?').next().unwrap_or(target).to_string();
    let (mut range, mut if_range) = (None, None);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 || header.trim().is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "range" => range = Some(value.trim().to_string()),
            "if-range" => if_range = Some(value.trim().to_string()),
            _ => {}
        }
    }
    Some(Seen {
        path,
        range,
        if_range,
    })
}

/// Sends a full `Content-Length` but, with `cut`, only that many body bytes before closing.
fn respond(
    stream: &mut TcpStream,
    status: &str,
    headers: &[(&str, String)],
    body: &[u8],
    cut: Option<usize>,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    let sent = cut.map_or(body.len(), |c| c.min(body.len()));
    stream.write_all(&body[..sent])?;
    stream.flush()?;
    stream.shutdown(Shutdown::Both)
}
