//! A TCP proxy that can cut connections after a number of bytes from the server, to test what
//! happens when a connection drops in the middle of a fetch, or cut everything at once (a
//! network partition) until told to let connections through again.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub struct DropProxy {
    pub port: u16,
    /// 0 means never cut.
    cut_after: Arc<AtomicUsize>,
    partition: Arc<Partition>,
}

/// The open connections (both sides), and whether new ones are refused.
#[derive(Default)]
struct Partition {
    cut: AtomicBool,
    open: Mutex<Vec<TcpStream>>,
}

impl DropProxy {
    pub fn start(target_port: u16, cut_after: Option<usize>) -> DropProxy {
        DropProxy::started(target_port, cut_after, std::time::Duration::ZERO)
    }

    /// A slow server: its first bytes (an SMTP or IMAP greeting) reach the client only after
    /// `delay`, on every connection.
    pub fn with_greeting_delay(target_port: u16, delay: std::time::Duration) -> DropProxy {
        DropProxy::started(target_port, None, delay)
    }

    fn started(
        target_port: u16,
        cut_after: Option<usize>,
        greeting_delay: std::time::Duration,
    ) -> DropProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().unwrap().port();
        let limit = Arc::new(AtomicUsize::new(cut_after.unwrap_or(0)));
        let shared = Arc::clone(&limit);
        let partition = Arc::new(Partition::default());
        let cuts = Arc::clone(&partition);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if cuts.cut.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target_port)) else {
                    continue;
                };
                if let (Ok(mut open), Ok(c), Ok(s)) =
                    (cuts.open.lock(), client.try_clone(), server.try_clone())
                {
                    open.extend([c, s]);
                }
                let cut_after = shared.load(Ordering::SeqCst);
                let (client_read, server_write) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pump(client_read, server_write, 0));
                std::thread::spawn(move || {
                    std::thread::sleep(greeting_delay);
                    pump(server, client, cut_after)
                });
            }
        });
        DropProxy {
            port,
            cut_after: limit,
            partition,
        }
    }

    /// Closes every connection through the proxy now and refuses new ones, until
    /// [`DropProxy::heal`].
    pub fn cut_now(&self) {
        self.partition.cut.store(true, Ordering::SeqCst);
        for stream in self.partition.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Lets new connections through again.
    pub fn heal(&self) {
        self.partition.cut.store(false, Ordering::SeqCst);
    }

    /// Applies to connections opened from now on.
    pub fn set_cut_after(&self, bytes: Option<usize>) {
        self.cut_after.store(bytes.unwrap_or(0), Ordering::SeqCst);
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, cut_after: usize) {
    let mut buffer = [0u8; 16 * 1024];
    let mut forwarded = 0;
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let n = if cut_after > 0 {
            n.min(cut_after - forwarded)
        } else {
            n
        };
        if to.write_all(&buffer[..n]).is_err() {
            break;
        }
        forwarded += n;
        if cut_after > 0 && forwarded >= cut_after {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
