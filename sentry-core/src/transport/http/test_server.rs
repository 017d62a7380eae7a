//! A tiny HTTP/1.1 server for the transport's tests: it records every request and
//! answers from a script, keeping connections alive.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use parking_lot::Mutex;

/// One request as the server received it.
#[derive(Debug, Clone)]
pub(super) struct RecordedRequest {
    /// Such as `POST /api/1/envelope/ HTTP/1.1`.
    pub request_line: String,
    /// Names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does with one request.
#[derive(Debug, Clone)]
pub(super) enum Script {
    /// Answers with this status, these headers and this body.
    Answer {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Reads the request and never answers, holding the connection open.
    Hang,
}

impl Script {
    pub fn status(status: u16) -> Self {
        Script::Answer {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn with_body(status: u16, body: &str) -> Self {
        Script::Answer {
            status,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }
}

pub(super) struct TestServer {
    pub address: SocketAddr,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    connections: Arc<AtomicUsize>,
}

impl TestServer {
    /// Starts a server on a free local port that follows `scripts` in order, then
    /// answers 200 to anything more.
    pub fn start(scripts: Vec<Script>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let scripts = Arc::new(Mutex::new(VecDeque::from(scripts)));
        let (recorded, accepted) = (requests.clone(), connections.clone());
        // The accepting thread lives until the test process ends; it only holds a port.
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                accepted.fetch_add(1, Ordering::SeqCst);
                let (recorded, scripts) = (recorded.clone(), scripts.clone());
                thread::spawn(move || serve_connection(stream, &recorded, &scripts));
            }
        });
        TestServer {
            address,
            requests,
            connections,
        }
    }

    /// An `http` DSN pointing at this server.
    pub fn dsn(&self, user_info: &str) -> crate::dsn::Dsn {
        format!("http://{user_info}@{}/7", self.address)
            .parse()
            .unwrap()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().clone()
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn serve_connection(
    stream: TcpStream,
    recorded: &Mutex<Vec<RecordedRequest>>,
    scripts: &Mutex<VecDeque<Script>>,
) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        recorded.lock().push(request);
        let script = scripts.lock().pop_front().unwrap_or(Script::status(200));
        match script {
            Script::Hang => {
                thread::sleep(Duration::from_secs(30));
                return;
            }
            Script::Answer {
                status,
                headers,
                body,
            } => {
                let mut answer = format!("HTTP/1.1 {status} Scripted\r\n");
                for (name, value) in headers {
                    answer.push_str(&format!("{name}: {value}\r\n"));
                }
                answer.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
                if writer.write_all(answer.as_bytes()).is_err() {
                    return;
                }
            }
        }
    }
}

/// Reads one request; `None` when the client closed the connection.
pub(super) fn read_request(reader: &mut impl BufRead) -> Option<RecordedRequest> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .map_or(0, |(_, value)| value.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(RecordedRequest {
        request_line: request_line.trim_end().to_string(),
        headers,
        body,
    })
}
