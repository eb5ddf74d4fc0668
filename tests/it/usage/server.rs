//! A usage-API stand-in on 127.0.0.1, scripted per request.
//!
//! Each test starts its own on a free port and says, per request number,
//! how to answer: a full response (after an optional delay), silence (the
//! connection is accepted and never answered), a body trickled out a
//! byte at a time, or a reset connection (before or in the middle of the
//! body). Every request's head is recorded so tests can count
//! requests and check headers.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How to answer one request.
#[derive(Debug, Clone)]
pub enum Reply {
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
        delay: Duration,
    },
    /// Accept, read the request, answer nothing for this long.
    Silent(Duration),
    /// Accept, read the request, close the connection without a word.
    Hangup,
    /// Send the head at once, then the body one byte per `byte_delay`.
    SlowBody { body: String, byte_delay: Duration },
    /// Read the request, then reset the connection (RST, not a clean close).
    Reset,
    /// Send a 200 head promising a body, half the body, then reset.
    ResetMidBody { body: String },
}

impl Reply {
    pub fn json(status: u16, body: &str) -> Self {
        Reply::Full {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    pub fn with_header(self, name: &str, value: &str) -> Self {
        match self {
            Reply::Full {
                status,
                mut headers,
                body,
                delay,
            } => {
                headers.push((name.to_string(), value.to_string()));
                Reply::Full {
                    status,
                    headers,
                    body,
                    delay,
                }
            }
            other => other,
        }
    }

    pub fn after(self, wait: Duration) -> Self {
        match self {
            Reply::Full {
                status,
                headers,
                body,
                ..
            } => Reply::Full {
                status,
                headers,
                body,
                delay: wait,
            },
            other => other,
        }
    }
}

/// One recorded request head.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub request_line: String,
    pub headers: Vec<(String, String)>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

type Script = dyn Fn(usize) -> Reply + Send + Sync;

pub struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Server {
    /// Starts a server whose `script` answers request number 0, 1, ...
    pub fn start(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let script: Arc<Script> = Arc::new(script);
        let recorded = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let recorded = Arc::clone(&recorded);
                let script = Arc::clone(&script);
                std::thread::spawn(move || serve(stream, &recorded, &*script));
            }
        });
        Self { port, requests }
    }

    /// Always the same answer.
    pub fn always(reply: Reply) -> Self {
        Self::start(move |_| reply.clone())
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

fn serve(stream: TcpStream, recorded: &Mutex<Vec<Recorded>>, script: &Script) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let index = {
        let mut all = recorded.lock().unwrap();
        all.push(Recorded {
            request_line: request_line.trim_end().to_string(),
            headers,
        });
        all.len() - 1
    };
    let mut stream = stream;
    match script(index) {
        Reply::Full {
            status,
            headers,
            body,
            delay,
        } => {
            std::thread::sleep(delay);
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
                reason(status),
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
            let _ = stream.flush();
        }
        Reply::Silent(duration) => std::thread::sleep(duration),
        Reply::Hangup => {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        Reply::Reset => reset(stream),
        Reply::ResetMidBody { body } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body.as_bytes()[..body.len() / 2]);
            let _ = stream.flush();
            std::thread::sleep(Duration::from_millis(20));
            reset(stream);
        }
        Reply::SlowBody { body, byte_delay } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.flush();
            for byte in body.as_bytes() {
                std::thread::sleep(byte_delay);
                if stream.write_all(&[*byte]).is_err() {
                    return;
                }
                let _ = stream.flush();
            }
        }
    }
}

/// Closes with a TCP reset: a zero linger time makes `close` send RST.
fn reset(stream: TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: sets a socket option on a socket we own, from a valid struct.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(stream);
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        401 => "Unauthorized",
        403 => "Forbidden",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Whatever",
    }
}
