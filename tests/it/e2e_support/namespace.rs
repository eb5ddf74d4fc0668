//! A network namespace with only loopback, for one scenario.
//!
//! The real CLI tries to reach outside hosts (telemetry, updates, account
//! checks) unless it cannot; a test must never let it. `unshare -n` would
//! put the CLI in a fresh namespace, but then servers the test started in
//! its own namespace are out of reach. Linux keeps the network namespace
//! per thread, so instead a scenario runs on a thread of its own that
//! leaves the test process's namespace (`unshare(CLONE_NEWNET)`) and brings
//! its loopback up. Everything that thread does afterwards lives in the new
//! namespace: the stand-in servers it binds (a socket belongs to the
//! namespace it was created in) and every process it spawns (a child
//! inherits the spawning thread's namespace). The rest of the test process
//! is untouched. It needs CAP_SYS_ADMIN (root, as in CI).
//!
//! [`verify_loopback_only`] is the proof, checked before every CLI run: the
//! namespace has one interface, `lo`; its IPv4 routing table is empty; and
//! connecting to a non-loopback address fails at once with ENETUNREACH
//! (the route lookup fails, so not a single packet leaves).

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Runs `body` on a new thread inside a fresh network namespace with only
/// loopback up, and returns its result (a panic inside is re-raised here).
/// Fails, without running `body`, when the namespace cannot be created.
pub fn run_isolated<T: Send + 'static>(
    name: &str,
    body: impl FnOnce() -> T + Send + 'static,
) -> io::Result<T> {
    let thread = std::thread::Builder::new()
        .name(format!("e2e-{name}"))
        .spawn(move || -> io::Result<T> {
            enter_new_namespace()?;
            Ok(body())
        })?;
    match thread.join() {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Moves the calling thread into a new network namespace and brings `lo` up.
fn enter_new_namespace() -> io::Result<()> {
    // SAFETY: unshare affects only the calling thread's network namespace.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    set_loopback_up()
}

fn set_loopback_up() -> io::Result<()> {
    // SAFETY: a plain datagram socket used only for the interface ioctls,
    // closed before returning; `ifreq` is zeroed and gets a NUL-terminated name.
    unsafe {
        let socket = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if socket < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut request: libc::ifreq = std::mem::zeroed();
        for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
            *slot = *byte as libc::c_char;
        }
        let mut result = libc::ioctl(socket, libc::SIOCGIFFLAGS, &mut request);
        if result == 0 {
            request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            result = libc::ioctl(socket, libc::SIOCSIFFLAGS, &request);
        }
        let error = io::Error::last_os_error();
        libc::close(socket);
        if result != 0 {
            return Err(error);
        }
    }
    Ok(())
}

/// What the namespace of the calling thread looks like from the inside.
#[derive(Debug)]
pub struct NamespaceFacts {
    /// Interface names from `/proc/thread-self/net/dev`.
    pub interfaces: Vec<String>,
    /// Rows of the IPv4 routing table (`/proc/thread-self/net/route`).
    pub ipv4_routes: Vec<String>,
    /// How connecting to a documentation-range IPv4 address went, and how long it took.
    pub ipv4_connect: (io::Result<()>, Duration),
    /// The same for a documentation-range IPv6 address.
    pub ipv6_connect: (io::Result<()>, Duration),
}

/// Looks at the calling thread's namespace.
pub fn facts() -> io::Result<NamespaceFacts> {
    let dev = std::fs::read_to_string("/proc/thread-self/net/dev")?;
    let interfaces = dev
        .lines()
        .skip(2)
        .filter_map(|line| line.split(':').next())
        .map(|name| name.trim().to_string())
        .collect();
    let route = std::fs::read_to_string("/proc/thread-self/net/route")?;
    let ipv4_routes = route.lines().skip(1).map(str::to_string).collect();
    // TEST-NET-1 and the IPv6 documentation prefix: never anyone's host.
    let ipv4_connect = try_connect("192.0.2.1:80".parse().unwrap());
    let ipv6_connect = try_connect("[2001:db8::1]:80".parse().unwrap());
    Ok(NamespaceFacts {
        interfaces,
        ipv4_routes,
        ipv4_connect,
        ipv6_connect,
    })
}

fn try_connect(address: SocketAddr) -> (io::Result<()>, Duration) {
    let started = Instant::now();
    let result = TcpStream::connect_timeout(&address, Duration::from_secs(2)).map(drop);
    (result, started.elapsed())
}

/// Panics unless the calling thread's namespace has only loopback and no
/// route out.
pub fn verify_loopback_only() {
    let facts = facts().expect("read the namespace's network state");
    assert_eq!(
        facts.interfaces,
        vec!["lo".to_string()],
        "the namespace has an interface besides lo: {facts:?}"
    );
    assert!(
        facts.ipv4_routes.is_empty(),
        "the namespace has IPv4 routes: {facts:?}"
    );
    for (result, took) in [&facts.ipv4_connect, &facts.ipv6_connect] {
        let error = result.as_ref().err();
        assert_eq!(
            error.and_then(io::Error::raw_os_error),
            Some(libc::ENETUNREACH),
            "a connection beyond loopback did not fail with ENETUNREACH: {facts:?}"
        );
        assert!(
            *took < Duration::from_millis(500),
            "a connection beyond loopback did not fail at once: {facts:?}"
        );
    }
}
