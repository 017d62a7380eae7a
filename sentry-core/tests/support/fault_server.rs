//! A small HTTP server for fault injection: it answers each envelope as a script says
//! (a status with headers, a hang, a reset) and records what it received. It stands in for
//! a misbehaving server; the real-server tests live in the workspace's tests/ folder.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

/// How the server answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// An HTTP status with extra headers.
    Status(u16, Vec<(&'static str, String)>),
    /// Reads the request and never answers.
    Hang,
    /// Closes the connection without answering.
    Reset,
}

type Script = Box<dyn FnMut(usize) -> Reply + Send>;

/// The server: a port, the bodies of the requests it answered 2xx, and every body seen.
pub struct FaultServer {
    pub port: u16,
    accepted: Arc<Mutex<Vec<Vec<u8>>>>,
    seen: Arc<Mutex<usize>>,
}

impl FaultServer {
    /// Starts a server on a free port that answers request number `n` with `script(n)`.
    pub fn start(script: impl FnMut(usize) -> Reply + Send + 'static) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        Self::serve(listener, Box::new(script))
    }

    /// Starts a server on `port` (for "the server comes back" tests).
    pub fn start_on(port: u16, script: impl FnMut(usize) -> Reply + Send + 'static) -> FaultServer {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        Self::serve(listener, Box::new(script))
    }

    fn serve(listener: TcpListener, script: Script) -> FaultServer {
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::new(Mutex::new(0));
        let script = Arc::new(Mutex::new(script));
        let (accepted2, seen2) = (Arc::clone(&accepted), Arc::clone(&seen));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (accepted, seen, script) = (
                    Arc::clone(&accepted2),
                    Arc::clone(&seen2),
                    Arc::clone(&script),
                );
                std::thread::spawn(move || handle(stream, &accepted, &seen, &script));
            }
        });
        FaultServer {
            port,
            accepted,
            seen,
        }
    }

    /// A DSN pointing at this server.
    pub fn dsn(&self) -> String {
        format!("http://public@127.0.0.1:{}/1", self.port)
    }

    /// The bodies of the requests answered with a 2xx.
    pub fn accepted(&self) -> Vec<Vec<u8>> {
        self.accepted.lock().clone()
    }

    /// How many requests arrived.
    pub fn requests(&self) -> usize {
        *self.seen.lock()
    }
}

fn handle(
    stream: TcpStream,
    accepted: &Mutex<Vec<Vec<u8>>>,
    seen: &Mutex<usize>,
    script: &Mutex<Script>,
) {
    let mut reader = BufReader::new(stream);
    loop {
        let Some(body) = read_request(&mut reader) else {
            return;
        };
        let n = {
            let mut seen = seen.lock();
            *seen += 1;
            *seen - 1
        };
        let reply = (script.lock())(n);
        let stream = reader.get_mut();
        match reply {
            Reply::Hang => {
                std::thread::sleep(Duration::from_secs(3600));
                return;
            }
            Reply::Reset => return,
            Reply::Status(code, headers) => {
                if (200..300).contains(&code) {
                    accepted.lock().push(body);
                }
                let mut response = format!("HTTP/1.1 {code} X\r\nContent-Length: 2\r\n");
                for (name, value) in headers {
                    response.push_str(&format!("{name}: {value}\r\n"));
                }
                response.push_str("\r\n{}");
                if stream.write_all(response.as_bytes()).is_err() {
                    return;
                }
            }
        }
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut length = 0;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}
