//! A small HTTP/1.1 server on 127.0.0.1 for the stand-in APIs.
//!
//! Both stand-ins (Messages API, usage API) need the same thing: accept
//! connections, read requests (with keep-alive, `Content-Length` or chunked
//! bodies), remember every request for the test's assertions, and answer
//! from a scripted handler, either with a whole body or as a stream of
//! chunks (server-sent events are written chunk by chunk, flushed as they
//! go, the way a real streaming API sends them). A thread per connection
//! is plenty for one Claude Code process. The listener is created by the
//! thread that calls [`Server::start`], so it lives in that thread's
//! network namespace.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The request target, with its query string.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When the request had been read completely.
    pub received_at: Instant,
}

impl Request {
    /// The path without its query string.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// A header's value (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// The body of a response.
pub enum Body {
    /// Sent with a `Content-Length`.
    Whole(Vec<u8>),
    /// Sent with `Transfer-Encoding: chunked`, one flushed chunk per item.
    Stream(Vec<Vec<u8>>),
}

/// A response from a handler.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Response {
    /// A JSON response with the given status.
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Body::Whole(value.to_string().into_bytes()),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

/// A running server. Dropping it stops accepting connections.
pub struct Server {
    address: SocketAddr,
    listener: Arc<TcpListener>,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    /// Binds 127.0.0.1 on a free port and serves `handler` until dropped.
    pub fn start(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Self {
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1"));
        let address = listener.local_addr().expect("local address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        {
            let listener = Arc::clone(&listener);
            let requests = Arc::clone(&requests);
            std::thread::spawn(move || {
                // `accept` fails once `Drop` shuts the socket down.
                while let Ok((stream, _)) = listener.accept() {
                    let requests = Arc::clone(&requests);
                    let handler = Arc::clone(&handler);
                    std::thread::spawn(move || serve_connection(stream, &requests, &*handler));
                }
            });
        }
        Self {
            address,
            listener,
            requests,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Wakes the blocked `accept` with an error, ending the accept thread.
        // SAFETY: shutdown on a socket this struct owns a reference to.
        unsafe {
            libc::shutdown(self.listener.as_raw_fd(), libc::SHUT_RDWR);
        }
    }
}

fn serve_connection(stream: TcpStream, requests: &Mutex<Vec<Request>>, handler: &Handler) {
    let mut writer = match stream.try_clone() {
        Ok(writer) => writer,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    loop {
        let request = match read_request(&mut reader) {
            Ok(Some(request)) => request,
            Ok(None) | Err(_) => return,
        };
        requests.lock().unwrap().push(request.clone());
        let response = handler(&request);
        if write_response(&mut writer, response).is_err() {
            return;
        }
        if request
            .header("connection")
            .is_some_and(|value| value.eq_ignore_ascii_case("close"))
        {
            return;
        }
    }
}

fn read_request(reader: &mut impl BufRead) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 {
            return Ok(None);
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(known, _): &&(String, String)| known.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
    };
    let mut body = Vec::new();
    if find("transfer-encoding").is_some_and(|value| value.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line)?;
            let size_text = size_line.trim().split(';').next().unwrap_or("0");
            let size = usize::from_str_radix(size_text, 16).unwrap_or(0);
            if size == 0 {
                // Trailers (none expected) end with an empty line.
                let mut rest = String::new();
                while reader.read_line(&mut rest)? > 0 && !rest.trim_end().is_empty() {
                    rest.clear();
                }
                break;
            }
            let mut chunk = vec![0; size];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
            let mut crlf = [0; 2];
            reader.read_exact(&mut crlf)?;
        }
    } else if let Some(length) = find("content-length").and_then(|value| value.parse().ok()) {
        body = vec![0; length];
        reader.read_exact(&mut body)?;
    }
    Ok(Some(Request {
        method,
        target,
        headers,
        body,
        received_at: Instant::now(),
    }))
}

fn write_response(writer: &mut TcpStream, response: Response) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    match response.body {
        Body::Whole(bytes) => {
            head.push_str(&format!("content-length: {}\r\n\r\n", bytes.len()));
            writer.write_all(head.as_bytes())?;
            writer.write_all(&bytes)?;
            writer.flush()
        }
        Body::Stream(chunks) => {
            head.push_str("transfer-encoding: chunked\r\n\r\n");
            writer.write_all(head.as_bytes())?;
            writer.flush()?;
            for chunk in chunks.iter().filter(|chunk| !chunk.is_empty()) {
                writer.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
                writer.write_all(chunk)?;
                writer.write_all(b"\r\n")?;
                writer.flush()?;
            }
            writer.write_all(b"0\r\n\r\n")?;
            writer.flush()
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Status",
    }
}
