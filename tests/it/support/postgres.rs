//! A real PostgreSQL server for the store tests, started once per test
//! binary and stopped when it exits.
//!
//! `initdb` makes a cluster in a fresh temporary directory (trust
//! authentication, no fsync); `postgres` serves it on 127.0.0.1 at a free
//! port, with its unix socket in the same directory. Both refuse to run
//! as root, so when the tests run as root they run as the `postgres`
//! system user that Debian's package creates. The server also offers TLS,
//! with a certificate for 127.0.0.1 from a throwaway CA ([`ca_file`]).
//! Each test gets a schema of its own ([`database`]), so tests running
//! in parallel never see each other's tables (a schema takes
//! milliseconds to make, a database half a second).
//!
//! No server may outlive the tests. The server runs under a small shell
//! watchdog whose stdin is a pipe from this process: when the process
//! ends — normally, by a panic, or killed — the kernel closes the pipe, the
//! watchdog reads end-of-file, stops the server (fast shutdown) and
//! deletes the directory. On a normal exit an `atexit` hook closes the
//! pipe itself and waits for the watchdog, so the server is gone before
//! the test binary is.
//!
//! Without PostgreSQL installed the tests that need it fail, saying what
//! to install; they are never skipped.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use std::os::unix::process::CommandExt;

const INSTALL: &str = "the store tests run every test against a real PostgreSQL server too, \
     and none was found in /usr/lib/postgresql/*/bin or on PATH: install it \
     (Debian/Ubuntu: apt-get install --no-install-recommends postgresql; \
     .ci/run does this)";

/// The running server, or why it could not start.
static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
/// The watchdog, held so the `atexit` hook can stop it.
static WATCHDOG: Mutex<Option<Child>> = Mutex::new(None);
/// Numbers the schemas handed out.
static DATABASES: AtomicUsize = AtomicUsize::new(0);

struct Server {
    port: u16,
    ca: PathBuf,
}

/// The shared server, started on first use. Panics (the test fails) with
/// the reason when PostgreSQL cannot be started.
fn server() -> &'static Server {
    match SERVER.get_or_init(start) {
        Ok(server) => server,
        Err(why) => panic!("PostgreSQL: {why}"),
    }
}

/// The PEM file of the CA that signed the server's certificate, for
/// `sslrootcert=`.
pub fn ca_file() -> PathBuf {
    server().ca.clone()
}

/// The URL of a new, empty database on the shared server: a schema of
/// its own, first on the search path, where whatever connects with this
/// URL makes and finds its tables.
pub async fn database() -> String {
    let server = server();
    let schema = format!("store_test_{}", DATABASES.fetch_add(1, Ordering::Relaxed));
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", server.port);
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL: cannot connect to {url}: {e}"));
    sqlx::Executor::execute(
        &mut conn,
        sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")),
    )
    .await
    .unwrap_or_else(|e| panic!("PostgreSQL: CREATE SCHEMA {schema}: {e}"));
    sqlx::Connection::close(conn).await.ok();
    format!("{url}?options=-c%20search_path%3D{schema}")
}

/// Makes the cluster and starts the server; blocking, once per binary.
fn start() -> Result<Server, String> {
    let bin = find_binaries().ok_or_else(|| INSTALL.to_string())?;
    let user = Account::to_run_as()?;
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("mailvet-postgres-{}-{stamp}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let data = dir.join("data");
    let (certificates, port) = match prepare(&bin, &user, &dir, &data) {
        Ok(prepared) => prepared,
        Err(why) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(why);
        }
    };
    let log = dir.join("postgres.log");
    // The watchdog: the server in the background; at end-of-file on our
    // stdin (this process is gone or let go), a fast shutdown; then the
    // directory is removed once nothing needs its log any more.
    const WATCHDOG_SCRIPT: &str = r#"
        dir=$1; log=$2; shift 2
        trap '' INT HUP
        exec 3<&0 </dev/null
        "$@" >"$log" 2>&1 &
        server=$!
        { read -r _ <&3; kill -INT "$server" 2>/dev/null; } &
        reader=$!
        wait "$server"
        wait "$reader"
        rm -rf "$dir"
    "#;
    let mut watchdog = run_as(Command::new("/bin/sh"), &user, &dir);
    watchdog
        .arg("-c")
        .arg(WATCHDOG_SCRIPT)
        .arg("watchdog")
        .arg(&dir)
        .arg(&log)
        .arg(bin.join("postgres"))
        .arg("-D")
        .arg(&data)
        .arg("-k")
        .arg(&dir)
        .args(["-p", &port.to_string()])
        .args(["-c", "listen_addresses=127.0.0.1"])
        .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
        .args(["-c", "full_page_writes=off", "-c", "max_connections=300"])
        .args(["-c", "shared_buffers=32MB", "-c", "ssl=on"])
        .arg("-c")
        .arg(format!("ssl_cert_file={}", certificates.cert.display()))
        .arg("-c")
        .arg(format!("ssl_key_file={}", certificates.key.display()))
        .stdin(Stdio::piped())
        // Never hold cargo's output pipes: it would wait for them to close.
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = watchdog
        .spawn()
        .map_err(|e| format!("cannot start the watchdog shell: {e}"))?;
    *WATCHDOG.lock().map_err(|_| "watchdog lock poisoned")? = Some(child);
    // SAFETY: registers a plain function taking no arguments, as atexit
    // requires; it runs once, on the main thread, at exit.
    if unsafe { libc::atexit(stop_at_exit) } != 0 {
        return Err("cannot register the atexit hook that stops PostgreSQL".into());
    }

    wait_until_ready(&bin, port, &log)?;
    Ok(Server {
        port,
        ca: certificates.ca,
    })
}

/// Gives `dir` to the server's account, makes the cluster in `data` and
/// the TLS files in `dir`, and picks the port, last so that no one else
/// takes it before the server does.
fn prepare(
    bin: &Path,
    user: &Option<Account>,
    dir: &Path,
    data: &Path,
) -> Result<(Certificates, u16), String> {
    if let Some(account) = user {
        std::os::unix::fs::chown(dir, Some(account.uid), Some(account.gid))
            .map_err(|e| format!("cannot give {} to {}: {e}", dir.display(), account.name))?;
    }
    let initdb = run_as(Command::new(bin.join("initdb")), user, dir)
        .args([
            "--auth=trust",
            "--username=postgres",
            "--no-sync",
            "--encoding=UTF8",
        ])
        .args(["--locale=C", "--pgdata"])
        .arg(data)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.join("initdb").display()))?;
    if !initdb.status.success() {
        return Err(format!(
            "initdb failed ({}): {}",
            initdb.status,
            String::from_utf8_lossy(&initdb.stderr)
        ));
    }
    Ok((Certificates::write(dir, user)?, free_port()?))
}

/// Closes the watchdog's stdin and waits for it: the server stops and its
/// directory goes before this process ends.
extern "C" fn stop_at_exit() {
    let child = WATCHDOG
        .lock()
        .ok()
        .and_then(|mut watchdog| watchdog.take());
    if let Some(mut child) = child {
        drop(child.stdin.take());
        let _ = child.wait();
    }
}

fn wait_until_ready(bin: &Path, port: u16, log: &Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = Command::new(bin.join("pg_isready"))
            .args(["--host=127.0.0.1", "--quiet", "--dbname=postgres"])
            .arg(format!("--port={port}"))
            .status()
            .is_ok_and(|status| status.success());
        if ready {
            return Ok(());
        }
        if Instant::now() > deadline {
            let mut text = String::new();
            if let Ok(mut file) = std::fs::File::open(log) {
                let _ = file.read_to_string(&mut text);
            }
            return Err(format!(
                "the server did not accept connections on 127.0.0.1:{port} within 30 s; its log:\n{text}"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The directory holding `initdb`, `postgres` and `pg_isready`: the newest
/// of Debian's versioned ones, else the one on PATH.
fn find_binaries() -> Option<PathBuf> {
    let complete = |dir: &Path| {
        ["initdb", "postgres", "pg_isready"]
            .iter()
            .all(|tool| dir.join(tool).is_file())
    };
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| complete(bin))
        .collect();
    debian.sort();
    if let Some((_, bin)) = debian.pop() {
        return Some(bin);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).find(|dir| complete(dir))
}

/// The server's TLS files.
struct Certificates {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Certificates {
    /// A throwaway CA and a certificate it signs for 127.0.0.1, written to
    /// `dir`; the key readable by the server's account only, as
    /// PostgreSQL demands.
    fn write(dir: &Path, user: &Option<Account>) -> Result<Certificates, String> {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        use std::os::unix::fs::PermissionsExt;
        let failed = |e: rcgen::Error| format!("cannot make the TLS certificates: {e}");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(failed)?)
            .map_err(failed)?;
        let key = KeyPair::generate().map_err(failed)?;
        let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
            .map_err(failed)?
            .signed_by(&key, &ca)
            .map_err(failed)?;
        let files = Certificates {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        };
        let write = |path: &Path, text: String| {
            std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        };
        write(&files.ca, ca.pem())?;
        write(&files.cert, cert.pem())?;
        write(&files.key, key.serialize_pem())?;
        std::fs::set_permissions(&files.key, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot restrict {}: {e}", files.key.display()))?;
        if let Some(account) = user {
            std::os::unix::fs::chown(&files.key, Some(account.uid), Some(account.gid)).map_err(
                |e| {
                    format!(
                        "cannot give {} to {}: {e}",
                        files.key.display(),
                        account.name
                    )
                },
            )?;
        }
        Ok(files)
    }
}

/// The system account the server runs as.
struct Account {
    name: &'static str,
    uid: u32,
    gid: u32,
}

impl Account {
    /// `None` when this process is not root (the server runs as us);
    /// otherwise the `postgres` account.
    fn to_run_as() -> Result<Option<Account>, String> {
        // SAFETY: geteuid cannot fail and touches no memory of ours.
        if unsafe { libc::geteuid() } != 0 {
            return Ok(None);
        }
        let id = |flag: &str| -> Result<u32, String> {
            let out = Command::new("id")
                .args([flag, "postgres"])
                .output()
                .map_err(|e| format!("cannot run id: {e}"))?;
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .map_err(|_| {
                    "the tests run as root, which PostgreSQL refuses, and there is no \
                     `postgres` user to run it as (Debian's postgresql package creates one)"
                        .to_string()
                })
        };
        Ok(Some(Account {
            name: "postgres",
            uid: id("-u")?,
            gid: id("-g")?,
        }))
    }
}

/// `command` to run in `dir` as `user` (if any), with a clean environment
/// apart from PATH (the server must not read our PG* variables).
fn run_as(mut command: Command, user: &Option<Account>, dir: &Path) -> Command {
    command.current_dir(dir).env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    if let Some(account) = user {
        command.uid(account.uid).gid(account.gid);
    }
    command
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot find a free port: {e}"))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}
