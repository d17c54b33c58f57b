//! Connections counted from accept to close, per client address and in
//! all, so that one client holding many (slow bodies, idle keep-alives,
//! WebSockets) cannot take every place: past either cap a new connection
//! gets a coded 503 and is closed at once, before it is read.
//!
//! actix-web's own `max_connections` is per worker and, once reached,
//! stops accepting: new clients then wait in the kernel's backlog for as
//! long as the crowd stays, which is what this gate prevents. It sits in
//! `HttpServer::on_connect`, the one hook that sees a connection before
//! its first byte is read; a place taken there is given back when actix
//! drops the connection's data, at close.

use actix_web::rt::net::TcpStream;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock};

/// The answer a refused connection gets before it is closed: fixed bytes,
/// written straight to the socket.
static REFUSAL: LazyLock<Vec<u8>> = LazyLock::new(|| {
    super::wire::raw_answer(
        "503 Service Unavailable",
        "retry-after: 1\r\n",
        crate::api::error::code::OVERLOADED,
        "too many connections are open; retry shortly",
    )
});

/// How many connections may be open, in all and from one address.
#[derive(Debug)]
pub struct Gate {
    max_total: usize,
    /// 0: no cap per address (behind a proxy every client shares one).
    max_per_address: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// One admitted connection's place, given back when it is dropped.
struct Place {
    gate: Arc<Gate>,
    address: Option<IpAddr>,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut open = self.gate.open.lock();
        open.total = open.total.saturating_sub(1);
        crate::metrics::connections_opened(-1);
        if let Some(address) = self.address {
            if let Some(n) = open.by_address.get_mut(&address) {
                *n -= 1;
                if *n == 0 {
                    open.by_address.remove(&address);
                }
            }
        }
    }
}

impl Gate {
    /// A gate admitting `max_total` connections, at most `max_per_address`
    /// of them (0: any number) from one client address.
    pub fn new(max_total: usize, max_per_address: usize) -> Arc<Gate> {
        Arc::new(Gate {
            max_total: max_total.max(1),
            max_per_address,
            open: Mutex::new(Open::default()),
        })
    }

    /// The connections open now, in all.
    pub fn open(&self) -> usize {
        self.open.lock().total
    }

    /// A place for a connection from `address`, if both caps allow one.
    fn enter(self: &Arc<Self>, address: Option<IpAddr>) -> Option<Place> {
        let mut open = self.open.lock();
        if open.total >= self.max_total {
            return None;
        }
        if let Some(address) = address {
            let n = open.by_address.entry(address).or_insert(0);
            if self.max_per_address > 0 && *n >= self.max_per_address {
                if *n == 0 {
                    open.by_address.remove(&address);
                }
                return None;
            }
            *n += 1;
        }
        open.total += 1;
        crate::metrics::connections_opened(1);
        Some(Place {
            gate: Arc::clone(self),
            address,
        })
    }

    /// Admits the connection `stream`, keeping its place in `data` (the
    /// connection's own data, dropped when it closes), or answers 503 and
    /// closes it.
    pub fn admit(self: &Arc<Self>, stream: &TcpStream, data: &mut actix_web::dev::Extensions) {
        let address = stream.peer_addr().ok().map(|a| a.ip());
        match self.enter(address) {
            Some(place) => {
                data.insert(place);
            }
            None => {
                crate::metrics::connection_refused();
                refuse(stream);
            }
        }
    }
}

/// Writes the 503 and closes both directions, so that the server reads
/// end-of-file at once and drops the connection. The socket is written
/// directly: the bytes are few and a fresh socket's buffer is empty, where
/// the runtime would first wait to learn it is writable.
fn refuse(stream: &TcpStream) {
    let socket = socket2::SockRef::from(stream);
    let _ = socket.send(&REFUSAL);
    // What the client sent already is read away first (a request's worth,
    // no more, so that a client sending without end cannot hold the
    // worker): closing a socket with unread bytes resets it, and the client
    // could lose the answer.
    let mut scratch = [std::mem::MaybeUninit::<u8>::uninit(); 4096];
    for _ in 0..16 {
        if !matches!(socket.recv(&mut scratch), Ok(n) if n > 0) {
            break;
        }
    }
    let _ = socket.shutdown(std::net::Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_a_whole_http_answer() {
        let text = String::from_utf8_lossy(&REFUSAL);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or_default();
        assert!(head.contains("retry-after: 1"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(json["errors"][0]["extensions"]["code"], "OVERLOADED");
    }

    #[test]
    fn places_are_capped_per_address_and_in_all_and_given_back() {
        let gate = Gate::new(3, 2);
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        let a1 = gate.enter(Some(a));
        let a2 = gate.enter(Some(a));
        assert!(a1.is_some() && a2.is_some());
        assert!(gate.enter(Some(a)).is_none(), "a third from one address");
        let b1 = gate.enter(Some(b));
        assert!(b1.is_some());
        assert!(gate.enter(Some(b)).is_none(), "a fourth in all");
        assert_eq!(gate.open(), 3);
        drop(a1);
        assert_eq!(gate.open(), 2);
        assert!(gate.enter(Some(b)).is_some(), "a place given back");
        drop((a2, b1));
        assert!(gate.open.lock().by_address.len() <= 1);
    }

    #[test]
    fn no_cap_per_address_when_zero() {
        let gate = Gate::new(10, 0);
        let a: IpAddr = [10, 0, 0, 1].into();
        let places: Vec<_> = (0..10).filter_map(|_| gate.enter(Some(a))).collect();
        assert_eq!(places.len(), 10);
        assert!(gate.enter(Some(a)).is_none());
    }
}
