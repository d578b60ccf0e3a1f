use std::time::Instant;

use serde::Serialize;

use std::process::ExitCode;

use super::output::table;
use super::{CliError, Context, PlanFormat};
use crate::engine::{
    Client, Engine, EngineError, EngineInfo, Need, PeerCertificate, Probe, Verdict, Verification,
};

/// The `-o json` document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    endpoint: &'a str,
    engine: &'a EngineInfo,
    negotiated_api_version: &'a str,
    /// The server's certificate (Portainer over HTTPS only).
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<&'a PeerCertificate>,
    /// What berth does about AppArmor here.
    apparmor: &'a str,
    probes: &'a [Probe],
    routers: &'a [RouterCheck],
    ok: bool,
}

/// One `--router` and what checking it found.
#[derive(Debug, Serialize)]
struct RouterCheck {
    router: String,
    ok: bool,
    message: String,
}

async fn check_routers(specs: &[crate::route::RouterSpec]) -> Vec<RouterCheck> {
    let mut out = Vec::new();
    for spec in specs {
        let r = crate::route::Router::new(spec.clone());
        let (ok, message) = match r.check().await {
            Ok(m) => (true, m),
            Err(e) => (false, e.to_string()),
        };
        out.push(RouterCheck {
            router: r.describe(),
            ok,
            message,
        });
    }
    out
}

/// `berth doctor`: can berth reach the engine, what is it, and does every call berth needs
/// get through (with a verdict per socket-proxy flag)? Exit 0 when everything required is
/// allowed, 1 when something is missing, 2 when nothing answers at all.
pub async fn run(
    ctx: &Context,
    sources: &crate::manifest::Sources,
    routers: &[crate::route::RouterSpec],
    format: PlanFormat,
) -> Result<ExitCode, CliError> {
    let instance = ctx.instance.as_str();
    // With manifests, NETWORKS is required when one of them declares its own network.
    let networks_needed = !sources.trusted.is_empty()
        && crate::resolve::load(sources)
            .desired
            .objects
            .values()
            .any(|o| o.spec.network.is_berths());
    let started = Instant::now();
    // Over HTTPS, a handshake of doctor's own shows the certificate, even one berth refuses.
    let certificate = match Client::peer_certificate(&ctx.target).await {
        Some(Ok(c)) => Some(c),
        // The connection below fails the same way and says so.
        Some(Err(_)) | None => None,
    };
    let engine = match Client::connect_to(&ctx.target).await {
        Ok(e) => e,
        Err(e) => {
            if let (Some(c), PlanFormat::Text) = (&certificate, format) {
                print_certificate(c);
            }
            eprintln!("error: {e}");
            return Ok(ExitCode::from(match e {
                // Something answered, but refused the first call.
                EngineError::Forbidden { .. } => {
                    eprintln!("doctor: berth cannot start without GET /version");
                    1
                }
                EngineError::Unauthorized { .. } => {
                    eprintln!("doctor: the credentials were refused; nothing else can be checked");
                    1
                }
                EngineError::Tls { .. } => {
                    eprintln!(
                        "doctor: berth refuses the TLS connection; nothing else can be checked"
                    );
                    2
                }
                _ => {
                    eprintln!("doctor: no engine answers; nothing else can be checked");
                    2
                }
            }));
        }
    };
    let connected_ms = started.elapsed().as_millis();
    let probes = engine.probe(instance).await;
    let missing: Vec<&Probe> = probes
        .iter()
        .filter(|p| p.is_missing(networks_needed))
        .collect();
    let routers = check_routers(routers).await;
    let ok = missing.is_empty() && routers.iter().all(|r| r.ok);
    let info = engine.info();
    let apparmor = apparmor_text(engine.host_facts().await.apparmor, info.kind);
    match format {
        PlanFormat::Json => {
            let r = Report {
                endpoint: engine.endpoint(),
                engine: info,
                negotiated_api_version: engine.api_version(),
                tls: certificate.as_ref(),
                apparmor: &apparmor,
                probes: &probes,
                routers: &routers,
                ok,
            };
            outln!(
                "{}",
                serde_json::to_string_pretty(&r).expect("the report serializes")
            );
        }
        PlanFormat::Text => {
            outln!(
                "endpoint   {} (connected in {connected_ms} ms)",
                engine.endpoint()
            );
            outln!(
                "engine     {} {} ({})",
                info.kind,
                info.version,
                info.platform
            );
            outln!(
                "api        {} negotiated (engine speaks {}{})",
                engine.api_version(),
                info.api_version,
                info.min_api_version
                    .as_deref()
                    .map(|m| format!(", down to {m}"))
                    .unwrap_or_default()
            );
            outln!("apparmor   {apparmor}");
            for r in &routers {
                let verdict = if r.ok { "ok" } else { "FAILED" };
                outln!("router     {verdict}: {}", r.message);
            }
            if let Some(c) = &certificate {
                print_certificate(c);
            }
            outln!();
            let rows: Vec<Vec<String>> = probes
                .iter()
                .map(|p| {
                    vec![
                        p.flag.to_string(),
                        p.operation.to_string(),
                        need(p.need, networks_needed),
                        verdict_text(p),
                    ]
                })
                .collect();
            out!("{}", table(&["FLAG", "CALL", "NEEDED", "VERDICT"], &rows));
            outln!();
            let wide_open = probes
                .iter()
                .any(|p| p.need == Need::NotNeeded && p.verdict == Verdict::Allowed);
            if let Some(r) = routers.iter().find(|r| !r.ok) {
                outln!("doctor: the router {} cannot be used", r.router);
            }
            if ok {
                outln!("doctor: ok: every call berth needs gets through");
                if wide_open {
                    outln!("doctor: note: calls berth never makes get through too; put a socket proxy in front (docs/proxy.md)");
                }
            } else if !missing.is_empty() {
                let flags: Vec<String> = missing.iter().map(|p| format!("{}=1", p.flag)).collect();
                outln!(
                    "doctor: missing: {} (enable {} on the socket proxy)",
                    missing
                        .iter()
                        .map(|p| p.operation)
                        .collect::<Vec<_>>()
                        .join(", "),
                    flags.join(" ")
                );
            }
        }
    }
    Ok(ExitCode::from(u8::from(!ok)))
}

/// `tls        verified against ...` and the certificate's subject, issuer and expiry.
fn print_certificate(c: &PeerCertificate) {
    let protocol = c.protocol.as_deref().unwrap_or("TLS");
    match &c.verification {
        Verification::Verified { against } => {
            outln!("tls        {protocol}, certificate verified against {against}")
        }
        Verification::Skipped => outln!(
            "tls        {protocol}, certificate NOT VERIFIED (--portainer-insecure-skip-verify): the connection can be intercepted"
        ),
        Verification::Refused { message } => outln!("tls        REFUSED: {message}"),
    }
    outln!("subject    {}", c.subject);
    outln!("issuer     {}", c.issuer);
    let when = match c.expires_in_days {
        d if d < 0 => "EXPIRED".to_string(),
        0 => "expires within a day".to_string(),
        d => format!("in {d} days"),
    };
    outln!("expires    {} ({when})", c.not_after);
    outln!("sha256     {}", c.sha256);
}

fn need(n: Need, conditional_needed: bool) -> String {
    match n {
        Need::Required => "yes".into(),
        Need::Only(when) if conditional_needed => format!("yes ({when} declared)"),
        Need::Only(when) => format!("for {when}"),
        Need::Optional(by) => format!("optional: {by}"),
        Need::NotNeeded => "no".into(),
    }
}

fn verdict_text(p: &Probe) -> String {
    match (&p.verdict, p.need) {
        (Verdict::Allowed, Need::NotNeeded) => {
            format!(
                "allowed; berth never uses it (on a socket proxy: {}=0)",
                p.flag
            )
        }
        (Verdict::Allowed, _) => "ok".into(),
        (Verdict::Refused { by_proxy: true, .. }, Need::NotNeeded) => {
            "refused by the proxy (good)".into()
        }
        (Verdict::Refused { by_proxy: true, .. }, Need::Only(when) | Need::Optional(when)) => {
            format!("refused by the proxy: enable {}=1 to use {when}", p.flag)
        }
        (Verdict::Refused { by_proxy: true, .. }, Need::Required) => {
            format!("REFUSED by the proxy: enable {}=1", p.flag)
        }
        (Verdict::Refused { message, .. }, _) => format!("REFUSED by the engine: {message}"),
        (Verdict::Failed { message }, _) => format!("FAILED: {message}"),
    }
}

/// What berth does about AppArmor on this engine (CIS Docker Benchmark 5.2).
fn apparmor_text(host: Option<bool>, kind: crate::engine::EngineKind) -> String {
    match (host, kind) {
        (Some(true), crate::engine::EngineKind::Docker) => {
            "on: every container gets the engine's docker-default profile explicitly (or the one its manifest names)".into()
        }
        (Some(true), _) => "on: the engine applies its own default profile".into(),
        (Some(false), _) => {
            "this host has no AppArmor: containers run without an AppArmor profile (CIS 5.2 cannot be met here)".into()
        }
        (None, _) => {
            "unknown: the engine does not answer GET /info (a socket proxy needs INFO=1); berth sets no profile".into()
        }
    }
}
