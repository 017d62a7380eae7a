//! A transport that shows what would be sent instead of sending it.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use uuid::Uuid;

use super::{Delivery, Response, Transport};
use crate::dsn::Dsn;
use crate::envelope::Envelope;

/// A transport that writes every envelope it would have sent, in full, and sends nothing.
///
/// Use it to check what a program reports before pointing it at a server. For each
/// envelope it writes a line such as
///
/// ```text
/// [sentry] dry run: envelope for event 9ec79c33ec9942ab8353589fcb2e04dc (512 bytes) would be sent to https://example.com/api/42/envelope/
/// ```
///
/// followed either by the envelope itself ([`to_stderr`](Self::to_stderr),
/// [`to_writer`](Self::to_writer); binary payloads shown as lossy UTF-8) or by the path
/// of a file holding its exact bytes ([`to_directory`](Self::to_directory)). It always
/// answers [`Delivery::Accepted`]: a dry run never retries.
///
/// ```
/// use sentry_core::envelope::Envelope;
/// use sentry_core::transport::{DryRunTransport, Transport};
///
/// let dsn = "https://key@example.com/42".parse()?;
/// let mut transport = DryRunTransport::to_writer(Vec::new(), Some(&dsn));
/// transport.send(&Envelope::new());
/// let shown = String::from_utf8(transport.into_writer())?;
/// assert!(shown.starts_with("[sentry] dry run: envelope"));
/// assert!(shown.contains("would be sent to https://example.com/api/42/envelope/"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct DryRunTransport<W = io::Stderr> {
    /// Gets the notice line, and the envelope itself unless it goes to a directory.
    writer: W,
    directory: Option<PathBuf>,
    target_url: Option<String>,
}

impl DryRunTransport<io::Stderr> {
    /// Writes each envelope to stderr. `dsn` only names the URL in the notice line.
    pub fn to_stderr(dsn: Option<&Dsn>) -> Self {
        DryRunTransport::to_writer(io::stderr(), dsn)
    }

    /// Writes each envelope's exact bytes to a file of its own in `directory`, named
    /// `<unix-millis>-<event id or random id>.envelope`, and a notice line naming the
    /// file to stderr. The directory is created when missing; each file appears whole
    /// (written under a temporary name, then renamed), so a watcher never reads half an
    /// envelope. Such files can be replayed to a server as they are.
    pub fn to_directory(directory: impl Into<PathBuf>, dsn: Option<&Dsn>) -> Self {
        DryRunTransport {
            writer: io::stderr(),
            directory: Some(directory.into()),
            target_url: dsn.map(Dsn::envelope_url),
        }
    }
}

impl<W: Write + Send + 'static> DryRunTransport<W> {
    /// Writes each envelope to `writer`. `dsn` only names the URL in the notice line.
    pub fn to_writer(writer: W, dsn: Option<&Dsn>) -> Self {
        DryRunTransport {
            writer,
            directory: None,
            target_url: dsn.map(Dsn::envelope_url),
        }
    }

    /// The same transport with notice lines (and, without a directory, envelopes) going
    /// to `writer` instead.
    pub fn with_writer<W2: Write + Send + 'static>(self, writer: W2) -> DryRunTransport<W2> {
        DryRunTransport {
            writer,
            directory: self.directory,
            target_url: self.target_url,
        }
    }

    /// Gives back the writer, to read what was written.
    pub fn into_writer(self) -> W {
        self.writer
    }

    fn notice(&self, envelope: &Envelope, length: usize) -> String {
        let what = match envelope.event_id() {
            Some(id) => format!("envelope for event {}", id.simple()),
            None => {
                let types: Vec<&str> = envelope.items().iter().map(|i| i.item_type()).collect();
                format!("envelope without event (items: {})", types.join(", "))
            }
        };
        let target = match &self.target_url {
            Some(url) => format!("would be sent to {url}"),
            None => "would be sent nowhere (no DSN configured)".to_string(),
        };
        format!("[sentry] dry run: {what} ({length} bytes) {target}")
    }
}

impl<W: Write + Send + 'static> Transport for DryRunTransport<W> {
    fn send(&mut self, envelope: &Envelope) -> Response {
        let bytes = envelope.to_bytes();
        let notice = self.notice(envelope, bytes.len());
        // A dry run reports what it can and never fails the SDK: a broken pipe or a full
        // disk is shown on the writer when possible and otherwise ignored.
        let _ = match &self.directory {
            None => writeln!(self.writer, "{notice}").and_then(|()| {
                self.writer
                    .write_all(String::from_utf8_lossy(&bytes).as_bytes())
            }),
            Some(directory) => match write_envelope_file(directory, envelope, &bytes) {
                Ok(path) => writeln!(self.writer, "{notice}; written to {}", path.display()),
                Err(error) => writeln!(
                    self.writer,
                    "{notice}; could not be written to {}: {error}",
                    directory.display()
                ),
            },
        };
        let _ = self.writer.flush();
        Response::new(Delivery::Accepted)
    }
}

/// Writes `bytes` to a new file in `directory` and returns its path.
fn write_envelope_file(directory: &Path, envelope: &Envelope, bytes: &[u8]) -> io::Result<PathBuf> {
    fs::create_dir_all(directory)?;
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let id = envelope.event_id().unwrap_or_else(Uuid::new_v4);
    let name = format!("{millis}-{}.envelope", id.simple());
    let path = directory.join(&name);
    // Same directory, so the rename stays on one file system and is atomic.
    let temporary = directory.join(format!(".{name}.tmp"));
    let written = fs::write(&temporary, bytes).and_then(|()| fs::rename(&temporary, &path));
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written.map(|()| path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Event;

    fn dsn() -> Dsn {
        "https://key@example.com/42".parse().unwrap()
    }

    fn shown(transport: DryRunTransport<Vec<u8>>) -> String {
        String::from_utf8(transport.into_writer()).unwrap()
    }

    /// A fresh directory under the system's temporary directory, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            let name = format!("sentry-core-dry-run-{}", Uuid::new_v4().simple());
            TempDir(std::env::temp_dir().join(name))
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn writes_notice_and_whole_envelope_to_the_writer() {
        let event = Event::new();
        let envelope = Envelope::from_event(&event);
        let bytes = envelope.to_bytes();
        let mut transport = DryRunTransport::to_writer(Vec::new(), Some(&dsn()));

        assert_eq!(transport.send(&envelope), Response::new(Delivery::Accepted));

        let expected_notice = format!(
            "[sentry] dry run: envelope for event {} ({} bytes) would be sent to https://example.com/api/42/envelope/\n",
            event.event_id.simple(),
            bytes.len()
        );
        let text = shown(transport);
        assert_eq!(text, expected_notice + std::str::from_utf8(&bytes).unwrap());
    }

    #[test]
    fn names_items_when_there_is_no_event_and_says_when_there_is_no_dsn() {
        let mut envelope = Envelope::new();
        envelope.add_item("session", b"{}".to_vec());
        envelope.add_item("attachment", vec![0xff, 0x00]);
        let mut transport = DryRunTransport::to_writer(Vec::new(), None);
        transport.send(&envelope);
        let text = shown(transport);
        let first_line = text.lines().next().unwrap();
        assert!(
            first_line.contains("envelope without event (items: session, attachment)"),
            "{first_line}"
        );
        assert!(
            first_line.ends_with("would be sent nowhere (no DSN configured)"),
            "{first_line}"
        );
        assert!(text.contains('\u{fffd}'), "binary shown lossily");
    }

    #[test]
    fn writes_one_complete_file_per_envelope_into_a_created_directory() {
        let temp = TempDir::new();
        let directory = temp.0.join("nested").join("envelopes");
        let mut transport =
            DryRunTransport::to_directory(&directory, Some(&dsn())).with_writer(Vec::new());
        let event = Event::new();
        let with_event = Envelope::from_event(&event);
        let mut without_event = Envelope::new();
        without_event.add_item("attachment", vec![0, 1, 2, b'\n', 255]);

        assert_eq!(transport.send(&with_event).delivery, Delivery::Accepted);
        assert_eq!(transport.send(&without_event).delivery, Delivery::Accepted);

        let mut files: Vec<PathBuf> = fs::read_dir(&directory)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        assert_eq!(files.len(), 2, "no temporary files left behind: {files:?}");
        let contents: Vec<Vec<u8>> = files.iter().map(|f| fs::read(f).unwrap()).collect();
        assert!(contents.contains(&with_event.to_bytes()));
        assert!(contents.contains(&without_event.to_bytes()));
        let event_file = files
            .iter()
            .find(|f| fs::read(f).unwrap() == with_event.to_bytes())
            .unwrap();
        let name = event_file.file_name().unwrap().to_str().unwrap();
        let (millis, rest) = name.split_once('-').unwrap();
        assert!(millis.parse::<u128>().is_ok(), "{name}");
        assert_eq!(rest, format!("{}.envelope", event.event_id.simple()));

        let text = shown(transport);
        assert_eq!(
            text.lines().count(),
            2,
            "only notices go to the writer: {text}"
        );
        assert!(
            text.contains(&format!("written to {}", event_file.display())),
            "{text}"
        );
    }

    #[test]
    fn reports_a_directory_that_cannot_be_created_and_still_accepts() {
        let temp = TempDir::new();
        fs::create_dir_all(&temp.0).unwrap();
        let blocker = temp.0.join("a-file");
        fs::write(&blocker, b"").unwrap();
        let mut transport = DryRunTransport::to_directory(&blocker, None).with_writer(Vec::new());

        assert_eq!(
            transport.send(&Envelope::new()).delivery,
            Delivery::Accepted
        );
        let text = shown(transport);
        assert!(text.contains("could not be written to"), "{text}");
    }
}
