//! Passing the child's stderr through live while keeping its last lines.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// Lines longer than this are cut: a report needs the gist, not a megabyte of base64.
const MAX_LINE_BYTES: usize = 1024;

/// One line of stderr and when it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Seconds since the Unix epoch.
    pub timestamp: f64,
    /// The line, without its newline, invalid UTF-8 replaced.
    pub text: String,
}

/// The last lines seen, oldest first.
#[derive(Debug, Default)]
pub struct Tail {
    max_lines: usize,
    lines: VecDeque<Line>,
    partial: Vec<u8>,
}

impl Tail {
    /// A ring of at most `max_lines` lines.
    pub fn new(max_lines: usize) -> Self {
        Tail {
            max_lines,
            ..Tail::default()
        }
    }

    /// Takes in a chunk of output, which may end mid-line.
    pub fn push(&mut self, mut chunk: &[u8]) {
        while let Some(newline) = chunk.iter().position(|&b| b == b'\n') {
            self.extend_partial(&chunk[..newline]);
            self.end_line();
            chunk = &chunk[newline + 1..];
        }
        self.extend_partial(chunk);
    }

    fn extend_partial(&mut self, bytes: &[u8]) {
        let room = MAX_LINE_BYTES.saturating_sub(self.partial.len());
        self.partial
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn end_line(&mut self) {
        let bytes = std::mem::take(&mut self.partial);
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        if text.ends_with('\r') {
            text.pop();
        }
        if self.max_lines == 0 {
            return;
        }
        while self.lines.len() >= self.max_lines {
            self.lines.pop_front();
        }
        self.lines.push_back(Line {
            timestamp: sentry_core::protocol::timestamp_now(),
            text,
        });
    }

    /// The lines, oldest first, with an unfinished last line as a line of its own.
    pub fn lines(&mut self) -> Vec<Line> {
        if !self.partial.is_empty() {
            self.end_line();
        }
        self.lines.iter().cloned().collect()
    }
}

/// Copies `from` to `to` as it arrives, and into a [`Tail`] of `max_lines`, on a thread.
/// Returns the tail and a receiver that gets a message when `from` reached its end.
pub fn tee(
    mut from: impl Read + Send + 'static,
    mut to: impl Write + Send + 'static,
    max_lines: usize,
) -> std::io::Result<(Arc<Mutex<Tail>>, mpsc::Receiver<()>)> {
    let tail = Arc::new(Mutex::new(Tail::new(max_lines)));
    let (done_tx, done_rx) = mpsc::channel();
    let ours = Arc::clone(&tail);
    std::thread::Builder::new()
        .name("stderr-tee".into())
        .spawn(move || {
            let mut buffer = [0u8; 8192];
            let mut passing = true;
            loop {
                let n = match from.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                // Written before it is kept: the console must not wait for bookkeeping. If
                // our own stderr is gone, keep reading so the child never blocks on a full pipe.
                if passing {
                    passing = to.write_all(&buffer[..n]).and_then(|()| to.flush()).is_ok();
                }
                if let Ok(mut tail) = ours.lock() {
                    tail.push(&buffer[..n]);
                }
            }
            let _ = done_tx.send(());
        })?;
    Ok((tail, done_rx))
}

/// Waits at most `timeout` for the tee to reach the end of the output: a program that
/// left a background process holding its stderr open must not hold the report forever.
pub fn wait_for_end(done: &mpsc::Receiver<()>, timeout: Duration) -> bool {
    done.recv_timeout(timeout).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(tail: &mut Tail) -> Vec<String> {
        tail.lines().into_iter().map(|l| l.text).collect()
    }

    #[test]
    fn keeps_the_last_lines_across_chunk_boundaries() {
        let mut tail = Tail::new(3);
        tail.push(b"one\ntw");
        tail.push(b"o\r\nthree\nfour\nfi");
        assert_eq!(texts(&mut tail), ["three", "four", "fi"]);
        let mut none = Tail::new(0);
        none.push(b"a\nb\n");
        assert!(none.lines().is_empty());
    }

    #[test]
    fn long_lines_are_cut_and_bad_utf8_replaced() {
        let mut tail = Tail::new(2);
        tail.push(&vec![b'x'; 5000]);
        tail.push(b"\n\xff ok\n");
        let lines = texts(&mut tail);
        assert_eq!(lines[0].len(), MAX_LINE_BYTES);
        assert_eq!(lines[1], "\u{fffd} ok");
    }

    #[test]
    fn tee_passes_everything_through_and_keeps_the_tail() {
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let input: Vec<u8> = (0..100)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let sink = Sink::default();
        let (tail, done) = tee(std::io::Cursor::new(input.clone()), sink.clone(), 2).unwrap();
        assert!(wait_for_end(&done, Duration::from_secs(5)));
        assert_eq!(*sink.0.lock().unwrap(), input);
        assert_eq!(texts(&mut tail.lock().unwrap()), ["line 98", "line 99"]);
    }
}
