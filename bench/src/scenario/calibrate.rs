//! Calibration: berth creates one agent; its container, read back, becomes the template of
//! the floor and of the compose file. One container of each is then compared field by field
//! so the report can say what differs.

use std::time::Duration;

use anyhow::{Context, Result};
use bollard::Docker;
use serde_json::Value;

use super::{berth_container, compose_file, Ctx};
use crate::floor::{self, Template};
use crate::manifests::{self, Agent};

const INSTANCE: &str = "bench-cal";

/// The fields compared between the three containers (JSON pointers into an inspect).
const FIELDS: &[&str] = &[
    "/Config/Image",
    "/Config/Entrypoint",
    "/Config/Cmd",
    "/Config/Env",
    "/Config/User",
    "/Config/WorkingDir",
    "/Config/Healthcheck/Test",
    "/Config/StopTimeout",
    "/HostConfig/Memory",
    "/HostConfig/MemorySwap",
    "/HostConfig/NanoCpus",
    "/HostConfig/PidsLimit",
    "/HostConfig/ReadonlyRootfs",
    "/HostConfig/CapDrop",
    "/HostConfig/CapAdd",
    "/HostConfig/SecurityOpt",
    "/HostConfig/Tmpfs",
    "/HostConfig/Init",
    "/HostConfig/Privileged",
    "/HostConfig/RestartPolicy/Name",
    "/HostConfig/NetworkMode",
    "/HostConfig/LogConfig/Type",
    "/HostConfig/Mounts",
];

/// Sets `ctx.template`; returns the differences found (as report lines).
pub async fn run(ctx: &mut Ctx) -> Result<Vec<String>> {
    // The manifests of every scenario must be valid, 0s durations included.
    let check = ctx.dir("validate")?;
    manifests::write_range(&check, 0..1, Agent::default())?;
    let no_backoff = Agent {
        no_backoff: true,
        ..Agent::default()
    };
    std::fs::write(check.join("b.yaml"), manifests::render("b", no_backoff))?;
    ctx.berth
        .validate(&check)
        .await
        .context("validating the bench manifests")?;

    let dir = ctx.dir("calibrate")?;
    manifests::write_range(&dir, 0..1, Agent::default())?;
    ctx.berth
        .apply(INSTANCE, &dir, true, Duration::from_secs(120))
        .await?;
    let name = manifests::name(0);
    let berth = ctx
        .docker
        .inspect_container(&berth_container(INSTANCE, &name), None)
        .await
        .context("inspecting berth's container")?;
    let template = Template::from_inspect(&berth)?;

    floor::create_and_start(&ctx.docker, &template, "bench-cal-floor", 1, 1).await?;
    let floor = ctx
        .docker
        .inspect_container(&format!("bench-cal-floor-{name}"), None)
        .await?;

    let project = "bench-cal-compose";
    let file = compose_file(&dir);
    crate::compose::write_file(&file, &template, project, 1, 0)?;
    ctx.compose.up(project, &file, false, false).await?;
    let compose = inspect_compose(&ctx.docker, project).await?;

    let as_json = |c| serde_json::to_value(c).expect("inspect serializes");
    let b = as_json(&berth);
    let mut diffs = differences(&b, &as_json(&floor), "floor");
    diffs.extend(differences(&b, &as_json(&compose), "Compose"));
    ctx.template = Some(template);
    Ok(diffs)
}

async fn inspect_compose(
    docker: &Docker,
    project: &str,
) -> Result<bollard::models::ContainerInspectResponse> {
    let ids =
        crate::engine::containers(docker, Some(("com.docker.compose.project", project))).await?;
    let id = ids.first().context("compose created no container")?;
    Ok(docker.inspect_container(id, None).await?)
}

fn differences(berth: &Value, other: &Value, who: &str) -> Vec<String> {
    FIELDS
        .iter()
        .filter_map(|f| {
            let (mut a, mut b) = (norm(berth.pointer(f)), norm(other.pointer(f)));
            // On Linux the engine's `default` network mode is the `bridge` network.
            if *f == "/HostConfig/NetworkMode" {
                for m in [&mut a, &mut b] {
                    if m == "default" {
                        *m = "bridge".into();
                    }
                }
            }
            (a != b).then(|| format!("{who} `{f}`: berth `{a}`, {who} `{b}`"))
        })
        .collect()
}

/// Absent, null, empty list and empty string compare equal; lists compare as sets.
fn norm(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => {
            let mut items: Vec<String> = a.iter().map(|x| x.to_string()).collect();
            items.sort();
            items.join(", ")
        }
        Some(Value::Object(o)) if o.is_empty() => String::new(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_and_absent_are_equal_lists_are_sets() {
        let a =
            json!({"Config": {"Cmd": null, "Env": ["A=1", "B=2"]}, "HostConfig": {"Init": true}});
        let b =
            json!({"Config": {"Cmd": [], "Env": ["B=2", "A=1"]}, "HostConfig": {"Init": false}});
        let d = differences(&a, &b, "x");
        assert_eq!(d, vec!["x `/HostConfig/Init`: berth `true`, x `false`"]);
    }
}
