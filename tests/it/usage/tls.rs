//! The usage API over real TLS: a rustls server on 127.0.0.1 whose
//! certificate a CA made here signed, polled by the built binary. The
//! poll trusts the system's roots (here, `SSL_CERT_FILE`), as behind a
//! TLS-inspecting proxy whose CA the machine trusts, and nothing that no
//! trusted root signed.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pace_maker::usage::snapshot::{self, SnapshotSource};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use super::sandbox::{UsageSandbox, NEVER_EXPIRES_MS, TOKEN};

const BODY: &str = r#"{"five_hour":{"utilization":42.0,"resets_at":null},"seven_day":{"utilization":17.5,"resets_at":null}}"#;

/// A test CA and a server certificate for 127.0.0.1 and localhost it signed.
struct Pki {
    ca_pem: String,
    server: ServerConfig,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "pace-maker test proxy CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);

    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "pace-maker test server");
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf_cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        server,
    }
}

/// An https usage API on 127.0.0.1: answers `GET /api/oauth/usage` with
/// [`BODY`], one connection at a time, and counts the requests it read
/// (a client that refuses the certificate sends none).
struct TlsServer {
    port: u16,
    requests: Arc<AtomicUsize>,
}

impl TlsServer {
    fn start(config: ServerConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let config = Arc::new(config);
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&requests);
        std::thread::spawn(move || {
            // A few connections are all a test makes; the thread ends with the test binary.
            for stream in listener.incoming().take(16) {
                let Ok(stream) = stream else { continue };
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let connection = ServerConnection::new(Arc::clone(&config)).unwrap();
                let mut tls = StreamOwned::new(connection, stream);
                // A failed handshake (the client refused the certificate) ends here.
                let _ = serve(&mut tls, &counted);
            }
        });
        Self { port, requests }
    }

    fn base(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn serve(
    tls: &mut StreamOwned<ServerConnection, std::net::TcpStream>,
    counted: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(&mut *tls);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut authorized = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        authorized |= line
            .to_ascii_lowercase()
            .starts_with("authorization: bearer ");
    }
    counted.fetch_add(1, Ordering::SeqCst);
    let (status, body) = if request_line.starts_with("GET /api/oauth/usage ") && authorized {
        ("200 OK", BODY)
    } else {
        ("404 Not Found", "{}")
    };
    write!(
        tls,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    tls.conn.send_close_notify();
    tls.flush()
}

/// A sandbox with a login, and a poll of `server` with the system's trust
/// roots read from `cert_file` and an empty `SSL_CERT_DIR` only.
fn poll(server: &TlsServer, cert_file: &Path) -> (UsageSandbox, std::process::Output) {
    let sandbox = UsageSandbox::new();
    sandbox.write_credentials(TOKEN, NEVER_EXPIRES_MS);
    let empty_dir = sandbox.dir.path().join("no-certificates");
    std::fs::create_dir_all(&empty_dir).unwrap();
    let mut command = sandbox.command(&server.base());
    command
        .env("SSL_CERT_FILE", cert_file)
        .env("SSL_CERT_DIR", &empty_dir)
        .args(["usage", "refresh", "--json"]);
    let output = command.output().unwrap();
    (sandbox, output)
}

#[test]
fn an_https_poll_trusts_a_ca_from_the_system_roots() {
    let pki = pki();
    let server = TlsServer::start(pki.server);
    let scratch = tempfile::tempdir().unwrap();
    let ca_file = scratch.path().join("proxy-ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();

    let (sandbox, output) = poll(&server, &ca_file);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stdout)));
    assert!(output.status.success(), "{report:#}");
    assert!(output.stderr.is_empty(), "{:?}", output.stderr);
    assert_eq!(report["outcome"], "polled", "{report:#}");
    assert_eq!(report["snapshot"]["five_hour"]["percent"], 42.0);
    assert_eq!(report["api_state"]["state"], "ok");
    let stored = snapshot::latest(sandbox.store().connection(), SnapshotSource::Api)
        .unwrap()
        .expect("the snapshot is stored");
    assert_eq!(stored.seven_day.unwrap().percent, 17.5);
    assert_eq!(server.requests(), 1);
}

#[test]
fn an_https_poll_refuses_a_certificate_no_trusted_root_signed() {
    let pki = pki();
    let server = TlsServer::start(pki.server);
    let scratch = tempfile::tempdir().unwrap();
    // A system store that holds nothing: only the built-in roots are
    // trusted, and none of them signed the test CA.
    let empty_file = scratch.path().join("empty.pem");
    std::fs::write(&empty_file, "").unwrap();

    let (sandbox, output) = poll(&server, &empty_file);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stdout)));
    assert!(!output.status.success(), "{report:#}");
    assert!(output.stderr.is_empty(), "{:?}", output.stderr);
    assert_eq!(report["outcome"], "failed", "{report:#}");
    let error = report["error"].as_str().unwrap();
    assert!(
        error.starts_with("the TLS handshake with the usage API failed: ")
            && error.contains("certificate")
            && error.contains("UnknownIssuer"),
        "{error}"
    );
    assert!(
        report["hint"].as_str().unwrap().contains("SSL_CERT_FILE"),
        "{report:#}"
    );
    assert!(report["snapshot"].is_null());
    let stored = snapshot::latest(sandbox.store().connection(), SnapshotSource::Api).unwrap();
    assert!(stored.is_none(), "{stored:?}");
    assert_eq!(
        server.requests(),
        0,
        "the request (and its token) never reached a server no trusted root vouches for"
    );
}
