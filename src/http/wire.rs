//! The connection under HTTP, watched for one thing: the answers actix-http
//! writes itself, before any of our code runs, to a request it cannot read
//! (a URL over 64 KiB, which the `http` crate's URI type does not take, a
//! malformed request line or header, a head over 128 KiB). It writes a 400
//! or 431 with no body, and has no hook to change that; every other answer
//! of the service is coded JSON, so these are rewritten here, on their way
//! out, into the same status with a coded JSON body.
//!
//! Written by hand because no library sits at this point: the rewrite
//! matches the exact bytes actix-http writes (a test through the binary
//! fails if they ever change), and touches nothing else.
//!
//! It also lets a handler stop a connection's reading ([`Closer`]): a body
//! that comes too slowly is answered 408, and actix-http would otherwise go
//! on reading the rest of it, which a chunked body sent a byte at a time
//! never ends.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What actix-http writes for a request it cannot read, and what is sent
/// instead.
static REWRITES: LazyLock<[(&[u8], Vec<u8>); 2]> = LazyLock::new(|| {
    [
        (
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
            answer(
                "400 Bad Request",
                "the request could not be read as HTTP/1.1: a URL longer than 64 KiB (send the \
                 query in a POST body), or a malformed request line or header",
            ),
        ),
        (
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n",
            answer(
                "431 Request Header Fields Too Large",
                "the request's URL and headers together are larger than 128 KiB (send the \
                 query in a POST body)",
            ),
        ),
    ]
});

/// A whole HTTP/1.1 answer written straight to a connection: `status`,
/// any `headers` (each ending in CRLF), and the coded JSON error every
/// refusal of the service carries; the connection closes after it.
pub(super) fn raw_answer(status: &str, headers: &str, code: &str, message: &str) -> Vec<u8> {
    let body = super::graphql::error_body(message, code).to_string();
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{headers}\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// An answer in place of actix-http's own, as the module says.
fn answer(status: &str, message: &str) -> Vec<u8> {
    raw_answer(status, "", crate::api::error::code::BAD_REQUEST, message)
}

/// If `buf` starts with one of actix-http's own answers, how many bytes of
/// `buf` it takes and what to send instead.
fn rewrite(buf: &[u8]) -> Option<(usize, &'static [u8])> {
    // Every answer starts so; the common case costs one comparison.
    if !buf.starts_with(b"HTTP/1.1 4") {
        return None;
    }
    let (_, instead) = REWRITES.iter().find(|(own, _)| buf.starts_with(own))?;
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    Some((end, instead.as_slice()))
}

/// Where in `buf`, after some answers that go out as they are, one of
/// actix-http's own starts: it is the last thing written before the
/// connection closes, so it can only end the buffer.
fn own_answer_after_others(buf: &[u8]) -> Option<usize> {
    if !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    REWRITES.iter().find_map(|(own, _)| {
        let at = buf.windows(own.len()).rposition(|w| w == *own)?;
        let rest = &buf[at..];
        // Its head alone: one blank line, at the end.
        let one_head = rest.windows(4).position(|w| w == b"\r\n\r\n")? + 4 == rest.len();
        (at > 0 && one_head).then_some(at)
    })
}

/// Kept in a connection's data: stops its reading, so that it ends once
/// the answer in hand is out.
pub struct Closer(Arc<AtomicBool>);

impl Closer {
    /// From now on the connection reads end-of-file.
    pub fn stop_reading(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A connection whose outgoing bytes are rewritten as the module says.
pub struct Wire<T> {
    io: T,
    /// Set by the connection's [`Closer`].
    stopped: Arc<AtomicBool>,
    /// An answer taken in place of actix-http's, and how much of it is
    /// written.
    pending: Option<(&'static [u8], usize)>,
}

impl<T> Wire<T> {
    /// Wraps `io`.
    pub fn new(io: T) -> Self {
        Wire {
            io,
            stopped: Arc::new(AtomicBool::new(false)),
            pending: None,
        }
    }

    /// What stops this connection's reading.
    pub fn closer(&self) -> Closer {
        Closer(Arc::clone(&self.stopped))
    }

    /// The connection underneath.
    pub fn get_ref(&self) -> &T {
        &self.io
    }
}

impl<T: AsyncWrite + Unpin> Wire<T> {
    /// Writes out what is pending; ready once nothing is.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            if *written == bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Wire<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.stopped.load(Ordering::Relaxed) {
            // End-of-file: nothing more is read.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Wire<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        if let Some((taken, instead)) = rewrite(buf) {
            // Taken now, written by the next write, flush or shutdown.
            this.pending = Some((instead, 0));
            return Poll::Ready(Ok(taken));
        }
        // Pipelined answers before one of actix-http's own go first; the
        // writer then hands the rest over again, and it starts the buffer.
        let upto = own_answer_after_others(buf).unwrap_or(buf.len());
        Pin::new(&mut this.io).poll_write(cx, &buf[..upto])
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_actix_https_own_bodiless_answers_are_rewritten() {
        let own = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\
                    date: Sun, 06 Dec 2026 08:47:35 GMT\r\n\r\n";
        let Some((taken, instead)) = rewrite(own) else {
            panic!("not rewritten")
        };
        assert_eq!(taken, own.len());
        let text = String::from_utf8_lossy(instead);
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or_default();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(json["errors"][0]["extensions"]["code"], "BAD_REQUEST");
        // Our own 400s carry a body, and pass untouched.
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 73\r\n\r\n{...}";
        assert!(rewrite(ours).is_none());
        assert!(rewrite(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        // After a pipelined answer, it is found where it starts.
        let mut both = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}".to_vec();
        both.extend_from_slice(own);
        assert_eq!(own_answer_after_others(&both), Some(both.len() - own.len()));
        assert_eq!(own_answer_after_others(own), None);
        let mut after_body = own.to_vec();
        after_body.extend_from_slice(b"more");
        assert_eq!(own_answer_after_others(&after_body), None);
    }
}
