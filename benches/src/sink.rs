//! A tiny HTTP/1.1 server on 127.0.0.1 standing in for Sentry: it reads each request whole
//! and answers `200 {}` at once on a kept-alive connection, or never answers (to test a
//! hanging server). It counts the requests it answered.
//!
//! It stops by itself: at `lifetime`, or when the [`Sink`] is dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the sink answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `200 OK` with `{}`, keep-alive.
    Ok,
    /// Accepts connections, reads, and never answers.
    Hang,
}

/// A running sink.
#[derive(Debug)]
pub struct Sink {
    addr: SocketAddr,
    answered: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Sink {
    /// Starts a sink on a free port of 127.0.0.1 that stops by itself after `lifetime`.
    pub fn start(mode: Mode, lifetime: Duration) -> std::io::Result<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let answered = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let end = Instant::now() + lifetime;
        let (count, stopped) = (Arc::clone(&answered), Arc::clone(&stop));
        std::thread::Builder::new()
            .name("sink-accept".into())
            .spawn(move || accept_loop(listener, mode, count, stopped, end))?;
        let stopped = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("sink-lifetime".into())
            .spawn(move || {
                std::thread::sleep(lifetime);
                stop_accepting(&stopped, addr);
            })?;
        Ok(Sink {
            addr,
            answered,
            stop,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A DSN for project 1 at this sink.
    pub fn dsn(&self) -> String {
        format!("http://public@{}/1", self.addr)
    }

    /// Requests answered so far.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        stop_accepting(&self.stop, self.addr);
    }
}

/// Sets `stop` and wakes the accept loop, which blocks in `accept`, with a connection of its
/// own that it recognizes by `stop` and drops.
fn stop_accepting(stop: &AtomicBool, addr: SocketAddr) {
    if !stop.swap(true, Ordering::Relaxed) {
        let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
    }
}

/// Accepts in a blocking call, so a new connection is served at once: a polling loop with a
/// sleep added up to a millisecond to every connection, which is a fifth of a whole
/// short-lived process's run and weighed on the SDK with the shorter run. For the same
/// reason a connection goes to a thread that is already waiting (see [`spawn_waiting`]),
/// not to one spawned for it.
fn accept_loop(
    listener: TcpListener,
    mode: Mode,
    answered: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    end: Instant,
) {
    let (waiting, streams) = channel();
    spawn_waiting(
        Arc::new(Mutex::new(streams)),
        mode,
        answered,
        Arc::clone(&stop),
        end,
    );
    for stream in listener.incoming() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        if let Ok(stream) = stream {
            let _ = waiting.send(stream);
        }
    }
}

/// Starts a thread that waits for one connection, starts its successor, then serves it: the
/// thread creation (a tenth of a millisecond on this VM) is never on a request's path.
fn spawn_waiting(
    streams: Arc<Mutex<Receiver<TcpStream>>>,
    mode: Mode,
    answered: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    end: Instant,
) {
    let _ = std::thread::Builder::new()
        .name("sink-conn".into())
        .spawn(move || {
            let stream = match streams.lock().map(|s| s.recv()) {
                Ok(Ok(stream)) => stream,
                // The sink stopped: the sender is gone.
                _ => return,
            };
            spawn_waiting(
                Arc::clone(&streams),
                mode,
                Arc::clone(&answered),
                Arc::clone(&stop),
                end,
            );
            serve(stream, mode, &answered, &stop, end);
        });
}

fn serve(stream: TcpStream, mode: Mode, answered: &AtomicU64, stop: &AtomicBool, end: Instant) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while !stop.load(Ordering::Relaxed) && Instant::now() < end {
        match read_request(&mut reader) {
            Ok(true) => {}
            Ok(false) => return,
            // A read timeout: look at `stop` again and keep the connection.
            Err(e) if is_timeout(&e) => continue,
            Err(_) => return,
        }
        if mode == Mode::Hang {
            continue;
        }
        let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\n{}";
        // Counted before answering: the client may exit, and the benchmark look at the
        // count, before this thread runs again after the write.
        answered.fetch_add(1, Ordering::Relaxed);
        if writer.write_all(answer).is_err() {
            return;
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// Reads one request (head and body). `Ok(false)` when the peer closed the connection.
fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<bool> {
    let mut line = String::new();
    // Skip blank lines between requests; wait for the request line.
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(false);
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let (mut length, mut chunked) = (0usize, false);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(false);
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
    }
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            skip(reader, size + 2)?;
            if size == 0 {
                break;
            }
        }
    } else {
        skip(reader, length)?;
    }
    Ok(true)
}

fn skip(reader: &mut BufReader<TcpStream>, n: usize) -> std::io::Result<()> {
    let copied = std::io::copy(&mut reader.by_ref().take(n as u64), &mut std::io::sink())?;
    if copied < n as u64 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

/// A port on 127.0.0.1 where nothing listens (connection refused): bound once to learn a
/// free port, then released.
pub fn refused_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(9)
}
