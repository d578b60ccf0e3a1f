// The dashboard's script (served at /ui/app.js): polls /status every second and renders
// the tables again in place. The server renders the same rows first (src/status/ui.rs,
// ui/page.html), so each formatting rule here has its twin there. Values from /status are
// only ever set as textContent or attributes, never parsed as HTML.
"use strict";
(function () {
  const POLL_MS = 1000;
  const SPARK_POINTS = 60;
  const NONE = "-";
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  let last = null;

  // ---- label selectors, as src/model/selector.rs parses them -------------------------

  function selectorError(text, message) {
    return new Error("selector " + JSON.stringify(text) + ": " + message);
  }

  // Splits at commas outside parentheses; null when they do not balance.
  function split(s) {
    const out = [];
    let depth = 0;
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (c === "(") depth++;
      else if (c === ")") depth--;
      else if (c === "," && depth === 0) {
        out.push(s.slice(start, i));
        start = i + 1;
      }
      if (depth < 0 || depth > 1) return null;
    }
    if (depth !== 0) return null;
    out.push(s.slice(start));
    return out;
  }

  const BAD = /[\s=!(),]/;

  function key(k) {
    k = k.trim();
    if (k === "") throw new Error("a requirement names no label");
    if (BAD.test(k)) throw new Error(JSON.stringify(k) + " is not a label key");
    return k;
  }

  function value(v) {
    v = v.trim();
    if (BAD.test(v)) throw new Error(JSON.stringify(v) + " is not a label value");
    return v;
  }

  function set(rest) {
    rest = rest.trim();
    if (!rest.startsWith("(") || !rest.endsWith(")")) throw new Error("a set is written (a,b)");
    return rest.slice(1, -1).split(",").map(value);
  }

  function cut(s, sep) {
    const i = s.indexOf(sep);
    return i < 0 ? null : [s.slice(0, i), s.slice(i + sep.length)];
  }

  const has = (l, k) => Object.prototype.hasOwnProperty.call(l, k);
  const get = (l, k) => (has(l, k) ? l[k] : undefined);

  // One requirement as a predicate on a labels object.
  function requirement(r) {
    r = r.trim();
    let p;
    if (r.startsWith("!")) {
      const k = key(r.slice(1));
      return (l) => !has(l, k);
    }
    if ((p = cut(r, "!="))) {
      const [k, v] = [key(p[0]), value(p[1])];
      return (l) => get(l, k) !== v;
    }
    if ((p = cut(r, "==") || cut(r, "="))) {
      const [k, v] = [key(p[0]), value(p[1])];
      return (l) => get(l, k) === v;
    }
    if ((p = cut(r, " notin "))) {
      const [k, vs] = [key(p[0]), set(p[1])];
      return (l) => !has(l, k) || !vs.includes(l[k]);
    }
    if ((p = cut(r, " in "))) {
      const [k, vs] = [key(p[0]), set(p[1])];
      return (l) => has(l, k) && vs.includes(l[k]);
    }
    const k = key(r);
    return (l) => has(l, k);
  }

  // The predicates of a selector; throws with the reason when it does not parse.
  function parseSelector(text) {
    if (text.trim() === "") return [];
    const parts = split(text);
    if (parts === null) throw selectorError(text, "unbalanced parentheses");
    try {
      return parts.map(requirement);
    } catch (e) {
      throw selectorError(text, e.message);
    }
  }

  // ---- formatting, as src/status/ui.rs formats ---------------------------------------

  function bytes(n) {
    const units = ["KiB", "MiB", "GiB", "TiB"];
    if (n < 1024) return n.toFixed(0) + " B";
    let v = n / 1024;
    let unit = 0;
    while (v >= 1024 && unit < units.length - 1) {
      v /= 1024;
      unit++;
    }
    return v.toFixed(1) + " " + units[unit];
  }

  function age(ms) {
    const s = Math.floor(Math.max(ms, 0) / 1000);
    if (s < 120) return s + "s";
    if (s < 7200) return Math.floor(s / 60) + "m";
    if (s < 172800) return Math.floor(s / 3600) + "h";
    return Math.floor(s / 86400) + "d";
  }

  function timestamp(ms) {
    return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
  }

  const num = (v) => (typeof v === "number" ? v : null);
  const str = (v) => (v === undefined || v === null ? null : String(v));

  function memory(u) {
    if (!u || num(u.memoryBytes) === null) return NONE;
    const limit = num(u.memoryLimitBytes);
    return limit > 0 ? bytes(u.memoryBytes) + " / " + bytes(limit) : bytes(u.memoryBytes);
  }

  function message(o) {
    if (o.phase === "Invalid") return "its manifest has errors; what runs is left as it is";
    return str(o.waiting) || str(o.lastError && o.lastError.message) || NONE;
  }

  // ---- elements -----------------------------------------------------------------------

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function spark(values, floor) {
    values = values.slice(-SPARK_POINTS);
    if (values.length < 2) return null;
    const max = values.reduce((m, v) => Math.max(m, v), floor);
    const step = 60 / (values.length - 1);
    const points = values.map(
      (v, i) => (i * step).toFixed(1) + "," + (15 - (Math.max(v, 0) / max) * 14).toFixed(1),
    );
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "spark");
    svg.setAttribute("viewBox", "0 0 60 16");
    svg.setAttribute("width", "60");
    svg.setAttribute("height", "16");
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", points.join(" "));
    svg.appendChild(line);
    return svg;
  }

  function usageCell(className, text, values, floor) {
    const td = el("td", className);
    td.appendChild(el("span", "value", text));
    const s = spark(values, floor);
    if (s) td.appendChild(s);
    return td;
  }

  function row(o, now) {
    const labels = o.labels || {};
    const u = o.usage || null;
    const history = (u && Array.isArray(u.history) ? u.history : []);
    const series = (f) => history.map((h) => h[f]).filter((v) => typeof v === "number");
    const tr = el("tr");
    tr.dataset.object = o.kind + "/" + o.name;

    tr.appendChild(el("td", "kind", o.kind));
    const name = el("td", "name", o.name);
    const pairs = Object.keys(labels).sort().map((k) => k + "=" + labels[k]);
    if (pairs.length) name.appendChild(el("div", "labels", pairs.join(",")));
    tr.appendChild(name);
    const phase = el("td");
    phase.appendChild(el("span", "phase phase-" + o.phase, o.phase));
    tr.appendChild(phase);
    tr.appendChild(el("td", "health", str(o.observed && o.observed.health) || NONE));
    tr.appendChild(el("td", "restarts num", String(o.restarts || 0)));
    const created = num(o.observed && o.observed.createdAtMs);
    tr.appendChild(el("td", "age num", created === null ? NONE : age(now - created)));
    const cpu = num(u && u.cpuPercent);
    tr.appendChild(usageCell("cpu", cpu === null ? NONE : cpu.toFixed(1) + "%",
      series("cpuPercent"), 1));
    tr.appendChild(usageCell("memory", memory(u), series("memoryBytes"), 1024 * 1024));

    const url = el("td", "url");
    if (/^https?:\/\//.test(o.url || "")) {
      const a = el("a", "", o.url);
      a.href = o.url;
      url.appendChild(a);
    } else {
      url.textContent = o.url || NONE;
    }
    tr.appendChild(url);

    const la = o.lastAction;
    const action = el("td", "action");
    if (la) {
      action.appendChild(el("b", "", la.action));
      action.appendChild(document.createTextNode(" " + la.reason));
      action.title = la.result + (num(la.atMs) !== null ? " at " + timestamp(la.atMs) : "");
      if (la.result && la.result !== "ok") action.classList.add("failed");
    } else {
      action.textContent = NONE;
    }
    tr.appendChild(action);

    const alerts = el("td", "alerts");
    for (const a of Array.isArray(o.alerts) ? o.alerts : []) {
      if (a.state !== "firing") continue;
      const badge = el("span", "badge alert-" + a.name, a.name);
      badge.title = a.message || "";
      alerts.appendChild(badge);
    }
    if (!alerts.childNodes.length) alerts.textContent = NONE;
    tr.appendChild(alerts);
    tr.appendChild(el("td", "message", message(o)));
    return tr;
  }

  function empty(columns, text) {
    const tr = el("tr", "empty");
    const td = el("td", "", text);
    td.colSpan = columns;
    tr.appendChild(td);
    return tr;
  }

  // ---- the page -----------------------------------------------------------------------

  function filter() {
    const text = $("selector").value;
    try {
      const reqs = parseSelector(text);
      $("selector-error").textContent = "";
      return (labels) => reqs.every((r) => r(labels || {}));
    } catch (e) {
      $("selector-error").textContent = e.message;
      return () => true;
    }
  }

  function render() {
    if (!last) return;
    const r = last;
    const now = Date.now();
    const keep = filter();
    $("instance").textContent = r.instance;
    document.title = "berth · " + r.instance;
    $("ready").textContent = r.ready ? "ready" : "not ready";
    $("ready").className = r.ready ? "ready" : "not-ready";
    $("last-reconcile").textContent = num(r.lastReconcileMs) === null
      ? NONE : timestamp(r.lastReconcileMs);
    $("engine-error").hidden = !r.engineError;
    $("engine-error-text").textContent = r.engineError || "";

    const diagnostics = Array.isArray(r.diagnostics) ? r.diagnostics : [];
    $("diagnostics").hidden = diagnostics.length === 0;
    $("diagnostics-count").textContent = String(diagnostics.length);
    $("diagnostics-list").replaceChildren(...diagnostics.map((d) => el("li", "", d)));

    const objects = Array.isArray(r.objects) ? r.objects : [];
    const rows = objects.map((o) => {
      const tr = row(o, now);
      tr.hidden = !keep(o.labels);
      return tr;
    });
    const shown = rows.filter((tr) => !tr.hidden).length;
    $("shown").textContent = shown + " of " + rows.length;
    $("objects").replaceChildren(...(rows.length ? rows : [empty(12, "no objects")]));

    const volumes = (Array.isArray(r.volumes) ? r.volumes : []).map((v) => {
      const tr = el("tr");
      tr.dataset.volume = v.name;
      tr.appendChild(el("td", "name", v.name));
      for (const f of [v.owner, v.state, v.cleanup]) tr.appendChild(el("td", "", str(f) || NONE));
      return tr;
    });
    $("volumes").replaceChildren(...(volumes.length ? volumes : [empty(4, "no volumes")]));
  }

  async function poll() {
    try {
      const res = await fetch("/status", { cache: "no-store" });
      if (!res.ok) throw new Error("HTTP " + res.status);
      last = await res.json();
      render();
      $("poll-error").textContent = "";
      document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1);
    } catch (e) {
      $("poll-error").textContent = "· cannot read /status: " + e.message;
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  // The filter applies as it is typed, and the address keeps it, to share.
  $("selector").addEventListener("input", () => {
    const url = new URL(window.location.href);
    const text = $("selector").value;
    if (text) url.searchParams.set("selector", text);
    else url.searchParams.delete("selector");
    window.history.replaceState(null, "", url);
    render();
  });
  $("filter").addEventListener("submit", (e) => e.preventDefault());
  poll();
})();
