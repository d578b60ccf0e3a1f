use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Once;
use std::time::{Duration, Instant};

/// The image every engine test uses (built by `make images`).
pub const IMAGE: &str = "berth-runtime:1";

/// A state directory for tests that have no [`Instance`] at hand: under cargo's temporary
/// directory for integration tests, never the host's /var/lib/berth.
pub fn test_state_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("state")
}

/// Runs the berth binary.
pub fn berth(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    // One-shot commands write the instance's state too: never into the host's default
    // directory (a test that needs its own passes --state-dir, as `Instance::berth` does).
    let state = std::env::temp_dir().join(format!("berth-it-state-{}", std::process::id()));
    cmd.args(args)
        .env_remove("BERTH_INSTANCE")
        .env("BERTH_STATE_DIR", state);
    via_test_engine(&mut cmd);
    cmd.output().expect("run berth")
}

/// `BERTH_TEST_DOCKER_HOST` (set by `make test-proxy`, which runs this suite again through
/// the socket proxy) becomes berth's `DOCKER_HOST`; the docker CLI the tests use to look at
/// the engine keeps talking to it directly. `BERTH_TEST_ENGINE` (set by `make test-podman`)
/// points both at another engine.
pub fn via_test_engine(cmd: &mut Command) {
    if let Some(host) =
        std::env::var_os("BERTH_TEST_DOCKER_HOST").or_else(|| std::env::var_os("BERTH_TEST_ENGINE"))
    {
        cmd.env("DOCKER_HOST", host);
    }
}

/// The engine the tests run against: `BERTH_TEST_ENGINE`, else the docker CLI's default.
pub fn test_engine_host() -> Option<String> {
    std::env::var("BERTH_TEST_ENGINE").ok()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Shows both streams when an exit code is not what a test expects.
pub fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit code\n--- stdout\n{}--- stderr\n{}",
        stdout(o),
        stderr(o)
    );
}

pub fn docker(args: &[&str]) -> Output {
    let mut cmd = Command::new("docker");
    cmd.args(args);
    if let Some(host) = test_engine_host() {
        cmd.env("DOCKER_HOST", host);
    }
    cmd.output().expect("run the docker CLI")
}

/// Fails loudly (never skips) when the engine or the test image is missing.
pub fn require_engine() {
    static CHECK: Once = Once::new();
    CHECK.call_once(|| {
        let info = docker(&["version", "--format", "{{.Server.Version}}"]);
        assert!(
            info.status.success(),
            "no Docker engine answers (DOCKER_HOST or /var/run/docker.sock): run `make engine` \
             or `.ci/run`\n{}",
            stderr(&info)
        );
        let img = docker(&["image", "inspect", IMAGE]);
        assert!(
            img.status.success(),
            "test image {IMAGE} is missing: run `make images`"
        );
    });
}

/// A berth instance owned by one test, with its own manifest directory. Dropping it removes
/// every container labelled with its instance name (and only those), pass or fail.
pub struct Instance {
    pub name: String,
    pub dir: tempfile::TempDir,
    /// State directory for `berth run`.
    pub state: tempfile::TempDir,
    /// A drop-in directory for `--sessions`.
    pub sessions: tempfile::TempDir,
    /// Extra containers the test created outside berth (foreign ones) to remove at the end.
    pub foreign: Vec<String>,
    /// Volumes the test created outside berth, to remove at the end.
    pub foreign_volumes: Vec<String>,
}

impl Instance {
    pub fn new(test: &str) -> Instance {
        require_engine();
        let name = format!("it-{test}-{}", std::process::id());
        assert!(name.len() <= 63, "instance name too long: {name}");
        Instance {
            name,
            dir: tempfile::tempdir().expect("temp dir"),
            state: tempfile::tempdir().expect("temp dir"),
            sessions: tempfile::tempdir().expect("temp dir"),
            foreign: Vec::new(),
            foreign_volumes: Vec::new(),
        }
    }

    pub fn path_str(&self) -> String {
        self.dir.path().display().to_string()
    }

    pub fn write(&self, file: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(file);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Writes a drop-in file into [`Instance::sessions`].
    pub fn write_session(&self, file: &str, text: &str) -> PathBuf {
        let p = self.sessions.path().join(file);
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn sessions_str(&self) -> String {
        self.sessions.path().display().to_string()
    }

    /// Writes `spec` (two-space indented lines) as the Policy `--policy` reads, outside
    /// the manifest directory, and returns its path.
    pub fn write_policy(&self, spec: &str) -> String {
        let p = self.state.path().join("policy.yaml");
        std::fs::write(&p, policy_doc(spec)).unwrap();
        p.display().to_string()
    }

    pub fn remove(&self, file: &str) {
        std::fs::remove_file(self.dir.path().join(file)).unwrap();
    }

    /// `berth <cmd> --instance <name> --state-dir <its state> <args...>`.
    pub fn berth(&self, cmd: &str, args: &[&str]) -> Output {
        let state = self.state.path().display().to_string();
        let mut all = vec![cmd, "--instance", &self.name, "--state-dir", &state];
        all.extend_from_slice(args);
        berth(&all)
    }

    /// `berth <cmd> --instance <name> [flags...] <dir>`.
    pub fn run(&self, cmd: &str, flags: &[&str]) -> Output {
        let dir = self.path_str();
        let mut args: Vec<&str> = flags.to_vec();
        args.push(&dir);
        self.berth(cmd, &args)
    }

    /// The instance's containers as the engine reports them, by berth object name.
    pub fn containers(&self) -> Vec<Container> {
        containers_with_label(&format!("berth.instance={}", self.name))
    }

    /// The instance's volumes, sorted.
    pub fn volumes(&self) -> Vec<String> {
        volumes_with_label(&format!("berth.instance={}", self.name))
    }

    /// The engine name of an object's own volume.
    pub fn volume(&self, kind: &str, object: &str, volume: &str) -> String {
        format!("berth_{}_{kind}_{object}_{volume}", self.name)
    }

    pub fn container(&self, name: &str) -> Container {
        let all = self.containers();
        let found: Vec<_> = all.iter().filter(|c| c.object == name).cloned().collect();
        assert_eq!(
            found.len(),
            1,
            "expected one container for {name}, got {all:#?}"
        );
        found.into_iter().next().unwrap()
    }

    /// Polls until `cond` holds, failing with `what` after a generous deadline. This is a
    /// wait-until helper, not a timing assertion.
    pub fn wait_until(&self, what: &str, mut cond: impl FnMut(&[Container]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let cs = self.containers();
            if cond(&cs) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "gave up waiting for: {what}\n{cs:#?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        remove_by_label(&format!("berth.instance={}", self.name));
        remove_networks_by_label(&format!("berth.instance={}", self.name));
        for id in &self.foreign {
            let _ = docker(&["rm", "-f", id]);
        }
        for v in volumes_with_label(&format!("berth.instance={}", self.name)) {
            let _ = docker(&["volume", "rm", "-f", &v]);
        }
        // Also any volume named for this instance that lost its labels (an engine creates
        // a missing named volume unlabelled): a leak here would be a bug to look at.
        let o = docker(&[
            "volume",
            "ls",
            "-q",
            "--filter",
            &format!("name=berth_{}_", self.name),
        ]);
        for v in stdout(&o).split_whitespace() {
            eprintln!("warning: unlabelled volume {v} left behind");
            let _ = docker(&["volume", "rm", "-f", v]);
        }
        for v in &self.foreign_volumes {
            let _ = docker(&["volume", "rm", "-f", v]);
        }
    }
}

/// Names of the volumes carrying `label`.
pub fn volumes_with_label(label: &str) -> Vec<String> {
    let o = docker(&["volume", "ls", "-q", "--filter", &format!("label={label}")]);
    let mut v: Vec<String> = stdout(&o).split_whitespace().map(String::from).collect();
    v.sort();
    v
}

/// One container, read with `docker inspect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    pub name: String,
    /// The berth.name label.
    pub object: String,
    pub created: String,
    pub running: bool,
    pub exit_code: i64,
    pub env: Vec<String>,
    pub memory: i64,
}

pub fn containers_with_label(label: &str) -> Vec<Container> {
    let ids = docker(&[
        "ps",
        "-aq",
        "--no-trunc",
        "--filter",
        &format!("label={label}"),
    ]);
    let ids: Vec<String> = stdout(&ids).split_whitespace().map(String::from).collect();
    ids.iter().filter_map(|id| inspect(id)).collect()
}

pub fn inspect(id: &str) -> Option<Container> {
    let o = docker(&["inspect", id]);
    if !o.status.success() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
    let c = &v[0];
    Some(Container {
        id: c["Id"].as_str()?.to_string(),
        name: c["Name"].as_str()?.trim_start_matches('/').to_string(),
        object: c["Config"]["Labels"]["berth.name"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        created: c["Created"].as_str()?.to_string(),
        running: c["State"]["Running"].as_bool()?,
        exit_code: c["State"]["ExitCode"].as_i64()?,
        env: c["Config"]["Env"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        memory: c["HostConfig"]["Memory"].as_i64()?,
    })
}

/// Networks of an instance (after its containers are gone).
pub fn remove_networks_by_label(label: &str) {
    let ids = docker(&["network", "ls", "-q", "--filter", &format!("label={label}")]);
    for id in stdout(&ids).split_whitespace() {
        let _ = docker(&["network", "rm", id]);
    }
}

pub fn remove_by_label(label: &str) {
    let ids = docker(&["ps", "-aq", "--filter", &format!("label={label}")]);
    for id in stdout(&ids).split_whitespace() {
        let _ = docker(&["rm", "-f", id]);
    }
}

/// A file's path relative to the repository (cargo runs tests from the package root).
pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A Policy document with the given spec lines (two-space indented).
pub fn policy_doc(spec: &str) -> String {
    let spec = if spec.is_empty() {
        " {}\n"
    } else {
        &format!("\n{spec}")
    };
    format!("apiVersion: berth/v1\nkind: Policy\nmetadata: {{ name: p }}\nspec:{spec}")
}

/// An Agent running `sleep`, with a short grace period so removals are quick.
pub fn agent(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: berth/v1\nkind: Agent\nmetadata: {{ name: {name} }}\nspec:\n  image: {IMAGE}\n  command: [sleep, \"3600\"]\n  stopGracePeriod: 1s\n{extra}"
    )
}

/// Engine events for the instance between two instants (Unix seconds, fractional).
pub fn events_between(instance: &str, since: f64, until: f64) -> Vec<String> {
    let o = docker(&[
        "events",
        "--since",
        &format!("{since:.3}"),
        "--until",
        &format!("{until:.3}"),
        "--filter",
        "type=container",
        "--filter",
        &format!("label=berth.instance={instance}"),
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
    ]);
    stdout(&o).lines().map(String::from).collect()
}

pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Polls `probe` until it returns `Ok`, failing with `what` and the last `Err` after a
/// generous deadline (a test never asserts on wall-clock time; this only bounds a hang).
pub fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match probe() {
            Ok(v) => return v,
            Err(last) => {
                assert!(
                    Instant::now() < deadline,
                    "gave up waiting for: {what}\nlast seen: {last}"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// A free port on the loopback interface.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP GET against 127.0.0.1; `None` when nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    http_get_at(&format!("127.0.0.1:{port}"), path)
}

/// A plain HTTP GET against `address` (`127.0.0.1:9325`, `[::1]:9325`).
pub fn http_get_at(address: &str, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(address).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let (head, body) = buf.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

/// A `berth run` child process for one instance, killed when dropped. Declare it after its
/// [`Instance`] so it stops before the instance's containers are cleaned up.
pub struct Daemon {
    child: Option<std::process::Child>,
    pub port: u16,
    pub log: PathBuf,
}

impl Daemon {
    pub fn start(inst: &Instance, extra: &[&str]) -> Daemon {
        Daemon::start_with_env(inst, extra, &[])
    }

    pub fn start_with_env(inst: &Instance, extra: &[&str], env: &[(&str, &str)]) -> Daemon {
        let d = Daemon::spawn_with_env(inst, extra, env);
        wait_for("berth run to be ready", || {
            match http_get(d.port, "/readyz") {
                Some((200, _)) => Ok(()),
                other => Err(format!("{other:?}\n{}", d.log_text())),
            }
        });
        d
    }

    /// Starts `berth run` without waiting for it to be ready.
    pub fn spawn_with_env(inst: &Instance, extra: &[&str], env: &[(&str, &str)]) -> Daemon {
        let port = free_port();
        let log = inst.state.path().join(format!("run-{port}.log"));
        let listen = format!("127.0.0.1:{port}");
        let state = inst.state.path().display().to_string();
        let dir = inst.path_str();
        let mut args = vec![
            "run",
            "--instance",
            &inst.name,
            "--state-dir",
            &state,
            "--listen",
            &listen,
            "--log-format",
            "json",
        ];
        // A short debounce, unless the test gives its own.
        if !extra.contains(&"--debounce") {
            args.extend_from_slice(&["--debounce", "50ms"]);
        }
        args.extend_from_slice(extra);
        args.push(&dir);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.args(&args)
            .env_remove("BERTH_INSTANCE")
            .env("BERTH_LOG", "berth=debug")
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::OpenOptions::new().append(true).open(&log).unwrap());
        via_test_engine(&mut cmd);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start berth run");
        Daemon {
            child: Some(child),
            port,
            log,
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The `/status` document.
    pub fn status(&self) -> serde_json::Value {
        let (code, body) = http_get(self.port, "/status").expect("status answers");
        assert_eq!(code, 200);
        serde_json::from_str(&body).unwrap()
    }

    /// One object of `/status` (`kind/name`), if listed.
    pub fn object(&self, kind: &str, name: &str) -> Option<serde_json::Value> {
        self.status()["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == kind && o["name"] == name)
            .cloned()
    }

    /// Waits until `cond` holds for object `kind/name` in `/status`.
    pub fn wait_object(
        &self,
        what: &str,
        kind: &str,
        name: &str,
        mut cond: impl FnMut(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        wait_for(what, || match self.object(kind, name) {
            Some(o) if cond(&o) => Ok(o),
            other => Err(format!("{other:#?}")),
        })
    }

    /// SIGTERM, then wait for the exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        child.wait().unwrap()
    }

    /// SIGKILL, as a crash would.
    pub fn kill9(mut self) {
        let mut child = self.child.take().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Daemon {
    /// SIGTERM and wait for the exit, so that the daemon finishes the engine calls it has in
    /// flight before the instance's cleanup lists what to remove (a create forwarded by a
    /// proxy after a SIGKILL could land after that listing and be left behind). One that
    /// is still there after a minute is killed.
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while matches!(c.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs berth under GNU time and returns its output with its peak resident memory in kB.
/// (`wait4` from the test binary would count the test process's own memory: a spawned
/// child's high-water mark starts from its parent's.)
pub fn berth_with_peak_rss(args: &[&str]) -> (Output, i64) {
    let report = tempfile::NamedTempFile::new().unwrap();
    let o = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(report.path())
        .arg(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .env_remove("BERTH_INSTANCE")
        .output()
        .expect("GNU time at /usr/bin/time (scripts/ensure-tools.sh installs it)");
    let text = std::fs::read_to_string(report.path()).unwrap();
    let kb = text
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("GNU time printed no figure: {text:?}"));
    (o, kb)
}
