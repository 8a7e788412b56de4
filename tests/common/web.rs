//! `pipeline ui` in a child process, and plain HTTP/1.1 requests to it over a socket (so that
//! requests a browser would never send, `..` in a path or a foreign `Host`, can be sent as is).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::Project;

/// A running `pipeline ui`, stopped when dropped.
pub struct UiServer {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub address: String,
}

impl UiServer {
    /// `pipeline ui <args> --port 0` in `project`, once it has printed its address.
    pub fn start(project: &Project, args: &[&str]) -> UiServer {
        let mut command = project.command(&["ui"]);
        command
            .args(args)
            .args(["--port", "0"])
            .stdout(Stdio::piped());
        let mut child = command.spawn().expect("pipeline ui starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("no address in `{line}`"))
            .to_string();
        UiServer { child, address }
    }

    /// GET `path` with this server's own `Host`.
    pub fn get(&self, path: &str) -> Response {
        self.request(&format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\n",
            self.address
        ))
    }

    /// Sends `head` (request line and headers, each ending in CRLF) and reads the whole answer.
    pub fn request(&self, head: &str) -> Response {
        let mut stream = TcpStream::connect(&self.address).expect("the server listens");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream
            .write_all(format!("{head}Connection: close\r\n\r\n").as_bytes())
            .unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).unwrap();
        Response::parse(&bytes)
    }

    /// Polls `path` until `done` holds for its body, for at most `limit`; the last body, and
    /// how long it took.
    pub fn wait_for(
        &self,
        path: &str,
        limit: Duration,
        done: impl Fn(&str) -> bool,
    ) -> (String, Option<Duration>) {
        let started = Instant::now();
        loop {
            let body = self.get(path).body;
            if done(&body) {
                return (body, Some(started.elapsed()));
            }
            if started.elapsed() > limit {
                return (body, None);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for UiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer.
pub struct Response {
    pub status: u16,
    /// Header lines, lowercase names.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    fn parse(bytes: &[u8]) -> Response {
        let text = String::from_utf8_lossy(bytes);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {text}"));
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
            .collect();
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        let body = if chunked {
            unchunk(body)
        } else {
            body.to_string()
        };
        Response {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn unchunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// The `data-status` of each stage in the page's graph, by stage name.
pub fn statuses(page: &str) -> std::collections::BTreeMap<String, String> {
    let mut found = std::collections::BTreeMap::new();
    for piece in page.split(r#"class="stage "#).skip(1) {
        let attribute = |name: &str| {
            let start = piece.find(&format!("{name}=\""))? + name.len() + 2;
            let end = piece[start..].find('"')? + start;
            Some(piece[start..end].to_string())
        };
        if let (Some(stage), Some(status)) = (attribute("data-stage"), attribute("data-status")) {
            found.insert(stage.replace("&quot;", "\"").replace("&amp;", "&"), status);
        }
    }
    found
}
