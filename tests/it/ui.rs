//! The dashboard at `/ui` in a real browser (headless Chromium over the DevTools Protocol,
//! `cdp.rs`): it lists the objects, follows the loop without a reload (a killed container's
//! restart count rises in place), filters by label, typed or from the address, and renders
//! usage, alerts and hostile labels as the server does.
//! `BERTH_UPDATE_SCREENSHOT=1` writes its screenshot to docs/dashboard.png.

use serde_json::{json, Value};

use crate::cdp::{Browser, Cdp};
use crate::util::*;

/// An Agent labelled `user: USER` that restarts quickly after a crash.
fn labelled(name: &str, user: &str, extra: &str) -> String {
    let extra = format!("  restart: {{ backoff: {{ initial: 200ms, max: 2s }} }}\n{extra}");
    agent(name, &extra).replace(
        &format!("metadata: {{ name: {name} }}"),
        &format!("metadata: {{ name: {name}, labels: {{ user: {user} }} }}"),
    )
}

/// Waits until `expression` evaluates to something `cond` accepts, and returns it.
fn wait_page(page: &mut Cdp, what: &str, expression: &str, cond: impl Fn(&Value) -> bool) -> Value {
    wait_for(what, || match page.eval(expression) {
        Ok(v) if cond(&v) => Ok(v),
        Ok(v) => Err(format!("{expression} = {v}")),
        Err(e) => Err(e),
    })
}

/// The objects whose rows show, in page order.
const SHOWN: &str = "[...document.querySelectorAll('#objects tr[data-object]')]\
                     .filter(tr => !tr.hidden).map(tr => tr.dataset.object)";

/// The objects' volumes, in page order.
const VOLUMES: &str =
    "[...document.querySelectorAll('#volumes tr[data-volume]')].map(tr => tr.dataset.volume)";

/// The text of one cell of agent `name`'s row (`undefined` while there is no such row).
fn cell(name: &str, class: &str) -> String {
    format!("document.querySelector('[data-object=\"agent/{name}\"] .{class}')?.textContent")
}

#[test]
fn the_dashboard_lists_follows_and_filters_the_objects_in_a_browser() {
    let inst = Instance::new("ui-browser");
    inst.write("a.yaml", &labelled("a", "u1", ""));
    let volume = "  volumes: [ { name: data, mountPath: /data } ]\n";
    inst.write("b.yaml", &labelled("b", "u2", volume));
    let d = Daemon::start(&inst, &["--stats-interval", "1s"]);
    for name in ["a", "b"] {
        d.wait_object(&format!("{name} running"), "agent", name, |o| {
            o["phase"] == "Running"
        });
    }
    let browser = Browser::launch();
    let mut page = browser.page();
    page.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": false }),
    )
    .unwrap();
    let ui = format!("http://127.0.0.1:{}/ui", d.port);
    page.call("Page.navigate", json!({ "url": ui })).unwrap();

    // (a) Both agents, once the script has read /status at least once.
    wait_page(
        &mut page,
        "the script polls /status",
        "Number(document.body.dataset.polls)",
        |v| v.as_u64() >= Some(1),
    );
    wait_page(&mut page, "both agents listed", SHOWN, |v| {
        *v == json!(["agent/a", "agent/b"])
    });
    let b_volume = json!([inst.volume("agent", "b", "data")]);
    wait_page(&mut page, "b's volume listed", VOLUMES, |v| *v == b_volume);
    assert_eq!(page.eval(&cell("a", "phase")).unwrap(), "Running");
    let before: u64 = page
        .eval(&cell("a", "restarts"))
        .unwrap()
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("a restart count");

    // (b) A crash shows up in place: the same document (the mark survives), a higher count.
    page.eval("window.berthNoReload = true").unwrap();
    let id = inst.container("a").id;
    assert_exit(&docker(&["kill", &id]), 0);
    wait_page(
        &mut page,
        "a's restart count to rise on the page",
        &cell("a", "restarts"),
        |v| {
            v.as_str()
                .and_then(|s| s.parse::<u64>().ok())
                .is_some_and(|n| n > before)
        },
    );
    assert_eq!(
        page.eval("window.berthNoReload").unwrap(),
        true,
        "the page reloaded"
    );
    wait_page(&mut page, "a running again", &cell("a", "phase"), |v| {
        v == "Running"
    });
    // The screenshot of the docs: both agents, one restarted, with a few readings each.
    for name in ["a", "b"] {
        wait_page(
            &mut page,
            "CPU readings on the page",
            &format!(
                "document.querySelectorAll('[data-object=\"agent/{name}\"] .cpu polyline').length"
            ),
            |v| v.as_u64() >= Some(1),
        );
    }
    screenshot(&mut page, &inst);

    // (c) The filter, typed: only u1's agent, and the address keeps it to share.
    page.eval(
        "(() => { const i = document.getElementById('selector'); i.value = 'user=u1'; \
         i.dispatchEvent(new Event('input', { bubbles: true })); })()",
    )
    .unwrap();
    wait_page(&mut page, "only a after typing user=u1", SHOWN, |v| {
        *v == json!(["agent/a"])
    });
    assert_eq!(page.eval("location.search").unwrap(), "?selector=user%3Du1");
    assert_eq!(page.eval("window.berthNoReload").unwrap(), true);

    // ... and from the address: the server renders it filtered, the script keeps it so.
    page.call(
        "Page.navigate",
        json!({ "url": format!("{ui}?selector=user%21%3Du1") }),
    )
    .unwrap();
    wait_page(
        &mut page,
        "the filtered page is loaded",
        "document.getElementById('selector') && document.getElementById('selector').value",
        |v| v == "user!=u1",
    );
    wait_page(
        &mut page,
        "only b with user!=u1, after a poll",
        &format!("Number(document.body.dataset.polls) >= 1 && JSON.stringify({SHOWN})"),
        |v| v == "[\"agent/b\"]",
    );
    let count = page
        .eval("document.getElementById('shown').textContent")
        .unwrap();
    assert_eq!(count, "1 of 2");

    // (d) What /status carries once usage is sampled, through the script: the page's
    // `fetch` answers with b's object given usage, an alert, a creation time and a hostile
    // label, as the script's next poll reads it.
    page.eval(USAGE_FETCH).unwrap();
    wait_page(
        &mut page,
        "b's usage rendered by the script",
        &cell("b", "cpu"),
        |v| v == "12.3%",
    );
    assert_eq!(
        page.eval(&cell("b", "memory")).unwrap(),
        "12.0 MiB / 64.0 MiB"
    );
    assert_eq!(page.eval(&cell("b", "age")).unwrap(), "3d");
    assert_eq!(page.eval(&cell("b", "alerts")).unwrap(), "memory");
    let points = page
        .eval("document.querySelector('[data-object=\"agent/b\"] .cpu polyline').getAttribute('points')")
        .unwrap();
    assert_eq!(points, "0.0,11.5 60.0,1.0", "the sparkline app.js draws");
    let labels = page.eval(&cell("b", "labels")).unwrap();
    assert!(labels.as_str().unwrap().contains("<img src=x"), "{labels}");
    let injected = page
        .eval("[!!document.querySelector('#objects img'), window.berthInjected === undefined]")
        .unwrap();
    assert_eq!(injected, json!([false, true]), "a label became markup");
}

/// Wraps the page's `fetch`: `/status` as the daemon answers, with usage, an alert, a
/// creation time and a hostile label on agent b (what the server-rendered twin is tested
/// with in src/status/ui.rs).
const USAGE_FETCH: &str = r#"(() => {
  const real = window.fetch;
  window.fetch = async (...args) => {
    const doc = await (await real(...args)).json();
    for (const o of doc.objects.filter((o) => o.name === "b")) {
      const mib = 1024 * 1024;
      o.labels.note = "<img src=x onerror=window.berthInjected=1>";
      o.observed.createdAtMs = Date.now() - 3.5 * 86400000;
      o.usage = { cpuPercent: 12.345, memoryBytes: 12 * mib, memoryLimitBytes: 64 * mib,
        rxBytes: 1, txBytes: 2, pids: 3, sampledAtMs: Date.now(),
        history: [{ atMs: 1, cpuPercent: 1.0, memoryBytes: 6 * mib },
                  { atMs: 2, cpuPercent: 4.0, memoryBytes: 12 * mib }] };
      o.alerts = [{ name: "memory", state: "firing", sinceMs: 1, message: "over 90%" }];
    }
    return new Response(JSON.stringify(doc), { status: 200 });
  };
})()"#;

/// 1280×800 PNG: docs/dashboard.png with `BERTH_UPDATE_SCREENSHOT=1`, else the test's own
/// directory.
fn screenshot(page: &mut Cdp, inst: &Instance) {
    use base64::Engine as _;
    let shot = page
        .call("Page.captureScreenshot", json!({ "format": "png" }))
        .unwrap();
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().expect("screenshot data"))
        .unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let path = if std::env::var("BERTH_UPDATE_SCREENSHOT").as_deref() == Ok("1") {
        repo("docs/dashboard.png")
    } else {
        inst.state.path().join("dashboard.png")
    };
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}
