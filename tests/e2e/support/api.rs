//! A local JSON API for the fetch tests: it records every request and
//! answers by path. `/api` wants `Authorization: Bearer TOKEN` (401
//! otherwise) and echoes what it got, in the body and in the headers, as an
//! echo server would; `/redirect` sends the client to another address;
//! `/status` answers anyone with `{"requests": 7, "errors": 0}` (what the
//! `plugin new` templates read).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// One request as the API saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// The running API.
pub struct JsonApi {
    pub addr: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl JsonApi {
    /// Starts the API on 127.0.0.1: `/api` wants `token`, `/redirect` goes
    /// to `redirect_to`.
    pub fn start(token: &str, redirect_to: &str) -> JsonApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (record, token, redirect_to) =
            (Arc::clone(&seen), token.to_owned(), redirect_to.to_owned());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (record, token, to) = (Arc::clone(&record), token.clone(), redirect_to.clone());
                std::thread::spawn(move || serve(stream, &record, &token, &to));
            }
        });
        JsonApi { addr, seen }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, record: &Mutex<Vec<Seen>>, token: &str, redirect_to: &str) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((n, v)) = h.split_once(':') {
            headers.insert(n.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    let _ = reader.read_exact(&mut body);
    let auth = headers.get("authorization").cloned().unwrap_or_default();
    record.lock().unwrap().push(Seen {
        method,
        path: path.clone(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let (status, extra, body) = if path == "/status" {
        (
            "200 OK",
            String::new(),
            r#"{"requests": 7, "errors": 0}"#.to_owned(),
        )
    } else if path == "/redirect" {
        (
            "302 Found",
            format!("Location: {redirect_to}\r\n"),
            String::new(),
        )
    } else if auth != format!("Bearer {token}") {
        ("401 Unauthorized", String::new(), "{}".to_owned())
    } else {
        let echo = format!("{{\"value\": 42, \"echo\": {auth:?}}}");
        (
            "200 OK",
            format!("X-Echo-Authorization: {auth}\r\nAuthorization: {auth}\r\n"),
            echo,
        )
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A listener nobody may reach: it counts the connections made to it.
pub struct Trap {
    pub addr: String,
    pub connections: Arc<AtomicUsize>,
}

impl Trap {
    pub fn start() -> Trap {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let connections = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&connections);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                count.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Trap { addr, connections }
    }

    pub fn reached(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}
