#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TributaryProtocol

/// The fleet dashboard served at `/` (issue 5): one self-contained page — inline CSS, script and
/// SVG, no fetch but this core's own `/v1/session` and `/v1/sites`. Its login form exchanges the
/// admin token for a session cookie (`DashboardSession`; no token in any address or in the
/// page's storage), it refreshes every 5 s and sorts by any column (a click on its header; the
/// order is kept in the address as `#sort=KEY` or `#sort=-KEY`). Rows carry `data-site` and
/// `data-status` for tests and scripts.
enum Dashboard {
    /// Only this core and this page's own script and style, by hash (no `'unsafe-inline'`): a
    /// page that cannot reach any other host or run injected code.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src '\(hash(script))'; style-src '\(hash(style))'; connect-src 'self'; img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"

    /// A CSP source for an inline element's exact text.
    static func hash(_ text: String) -> String {
        let d = StreamingDigest(.sha256)
        d.update(Array(text.utf8))
        return "sha256-" + Data(d.finalize()).base64EncodedString()
    }

    static let html = head + "<style>" + style + "</style>\n</head>\n" + body + "<script>" + script + "</script>\n</body>\n</html>\n"

    static let head = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tributary fleet</title>

"""#

    static let style = #"""

  :root { --fg: #1d2330; --muted: #6b7386; --line: #e3e6ec; --bg: #f7f8fa;
          --healthy: #1a7f37; --lagging: #b35900; --offline: #6b7386; --dropping: #c62828; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
  header { display: flex; align-items: baseline; gap: 1.5em; padding: 14px 20px; background: #fff; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 18px; margin: 0; }
  #summary span { margin-right: 1.2em; }
  #updated { margin-left: auto; color: var(--muted); font-size: 12px; }
  main { padding: 16px 20px; }
  table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
  th, td { padding: 7px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
  th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); cursor: pointer; user-select: none; }
  th[aria-sort="ascending"]::after { content: " ▲"; }
  th[aria-sort="descending"]::after { content: " ▼"; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .badge { display: inline-block; min-width: 5.5em; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; text-align: center; }
  .healthy { background: var(--healthy); } .lagging { background: var(--lagging); }
  .offline { background: var(--offline); } .dropping { background: var(--dropping); }
  .reason { color: var(--muted); font-size: 12px; margin-left: .5em; }
  svg.spark { display: block; }
  #login { max-width: 420px; margin: 60px auto; background: #fff; padding: 24px; border: 1px solid var(--line); }
  #login input { width: 100%; padding: 8px; margin: 8px 0 12px; font: inherit; }
  #error { color: var(--dropping); margin-bottom: 10px; }
  .hidden { display: none; }
  #logout { margin-left: 1em; }

"""#

    static let body = #"""
<body>
<header>
  <h1>Tributary fleet</h1>
  <div id="summary"></div>
  <div id="updated"></div>
  <button id="logout" class="hidden" type="button">Log out</button>
</header>
<form id="login" class="hidden">
  <div><strong>Admin token</strong></div>
  <input id="token" type="password" autocomplete="current-password" placeholder="adm_…">
  <button type="submit">Show the fleet</button>
</form>
<main id="main" class="hidden">
  <div id="error"></div>
  <table id="sites">
    <thead><tr>
      <th data-key="site">Site</th>
      <th data-key="status">Status</th>
      <th data-key="pending_objects" class="num">Backlog</th>
      <th data-key="pending_bytes" class="num">Bytes</th>
      <th data-key="oldest_pending_seconds" class="num">Oldest pending</th>
      <th data-key="lag" class="num">Lag p50 / p95</th>
      <th data-key="seconds_since_seen" class="num">Last seen</th>
      <th data-key="dropped_objects" class="num">Dropped</th>
      <th data-key="objects_stored" class="num">Stored</th>
      <th data-key="history">Backlog over time</th>
    </tr></thead>
    <tbody></tbody>
  </table>
  <table id="forward" class="hidden">
    <thead><tr>
      <th>Forwarding to</th>
      <th>Status</th>
      <th class="num">Lag (RPO)</th>
      <th class="num">Uploads behind</th>
      <th class="num">Objects behind</th>
      <th class="num">Bytes behind</th>
      <th class="num">Last success</th>
      <th class="num">Set aside</th>
    </tr></thead>
    <tbody></tbody>
  </table>
</main>

"""#

    static let script = #"""

"use strict";
// The fleet dashboard (issue 5): GET /v1/sites every 5 s with the session cookie that the login
// form got from POST /v1/session. Self-contained: no fetch but this core's own API.
const REFRESH_MS = 5000, HISTORY_SECONDS = 3600;
const RANK = { offline: 0, dropping: 1, lagging: 2, healthy: 3 };
let sortKey = "status", sortDir = 1, last = null, timer = null;

function showLogin(message) {
  clearTimeout(timer);
  document.getElementById("logout").classList.add("hidden");
  document.getElementById("main").classList.add("hidden");
  document.getElementById("login").classList.remove("hidden");
  if (message) document.getElementById("updated").textContent = message;
}

function duration(s) {
  if (s == null) return "–";
  s = Math.max(0, Math.floor(s));
  const pad = n => String(n).padStart(2, "0");
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m" + pad(s % 60) + "s";
  if (s < 86400) return Math.floor(s / 3600) + "h" + pad(Math.floor(s % 3600 / 60)) + "m";
  return Math.floor(s / 86400) + "d" + pad(Math.floor(s % 86400 / 3600)) + "h";
}

function bytes(n) {
  if (n == null) return "–";
  if (n < 1024) return n + " B";
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n, i = -1;
  do { v /= 1024; i++; } while (v >= 1024 && i < units.length - 1);
  return v.toFixed(1) + " " + units[i];
}

function bound(v) { return v == null ? "–" : (v === "+Inf" ? ">1d" : "≤" + duration(v)); }

function sparkline(points) {
  // Pending objects over time: from the oldest point kept (at least the last minute) to now.
  const w = 160, h = 28, ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "spark"); svg.setAttribute("width", w); svg.setAttribute("height", h);
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  if (!points || points.length === 0) return svg;
  const t = points.map(p => Date.parse(p.at)), v = points.map(p => p.pending_objects);
  const t1 = Math.max(Date.now(), t[t.length - 1]), t0 = Math.min(t[0], t1 - 60000), max = Math.max(1, ...v);
  const x = ts => ((ts - t0) / (t1 - t0)) * (w - 2) + 1, y = n => h - 1 - (n / max) * (h - 4);
  let line = "";
  points.forEach((p, i) => { line += (i ? "L" : "M") + x(t[i]).toFixed(1) + " " + y(v[i]).toFixed(1); });
  line += "L" + x(t1).toFixed(1) + " " + y(v[v.length - 1]).toFixed(1);  // the last value holds until now
  const area = document.createElementNS(ns, "path");
  area.setAttribute("d", line + `L${x(t1).toFixed(1)} ${h - 1}L${x(t[0]).toFixed(1)} ${h - 1}Z`);
  area.setAttribute("fill", "#3b6fd833"); area.setAttribute("stroke", "none");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", line); path.setAttribute("fill", "none");
  path.setAttribute("stroke", "#3b6fd8"); path.setAttribute("stroke-width", "1.5");
  svg.append(area, path);
  const title = document.createElementNS(ns, "title");
  title.textContent = `pending objects: now ${v[v.length - 1]}, at most ${max} since ${new Date(t[0]).toLocaleTimeString()}`;
  svg.appendChild(title);
  svg.setAttribute("data-points", String(points.length));
  return svg;
}

function sortValue(s, key) {
  switch (key) {
    case "status": return RANK[s.status];
    case "lag": return s.ingest_lag && s.ingest_lag.p95_seconds === "+Inf" ? Infinity : (s.ingest_lag && s.ingest_lag.p95_seconds);
    case "history": return (s.backlog_history || []).length;
    case "seconds_since_seen": return s.seconds_since_seen == null ? Infinity : s.seconds_since_seen;
    default: return s[key];
  }
}

function compare(a, b) {
  let x = sortValue(a, sortKey), y = sortValue(b, sortKey);
  if (x == null && y == null) return a.site < b.site ? -1 : 1;
  if (x == null) return 1;
  if (y == null) return -1;
  if (x < y) return -sortDir;
  if (x > y) return sortDir;
  return a.site < b.site ? -1 : 1;
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  if (cls) td.className = cls;
  if (text instanceof Node) td.appendChild(text); else td.textContent = text;
  row.appendChild(td);
  return td;
}

function render() {
  if (!last) return;
  const tbody = document.querySelector("#sites tbody");
  tbody.replaceChildren();
  for (const s of [...last.sites].sort(compare)) {
    const tr = document.createElement("tr");
    tr.dataset.site = s.site; tr.dataset.status = s.status;
    tr.dataset.pendingObjects = s.pending_objects ?? "";
    cell(tr, s.site).className = "site";
    const badge = document.createElement("span");
    badge.className = "badge " + s.status; badge.textContent = s.status;
    const st = cell(tr, badge, "status");
    const why = document.createElement("span"); why.className = "reason"; why.textContent = s.status_reason;
    st.appendChild(why);
    cell(tr, s.pending_objects ?? "–", "num pending");
    cell(tr, bytes(s.pending_bytes), "num bytes");
    cell(tr, s.pending_objects && s.oldest_captured_at ? duration(s.oldest_pending_seconds) : "–", "num oldest");
    cell(tr, s.ingest_lag.count ? bound(s.ingest_lag.p50_seconds) + " / " + bound(s.ingest_lag.p95_seconds) : "–", "num lag");
    cell(tr, s.seconds_since_seen == null ? "never" : duration(s.seconds_since_seen) + " ago", "num seen");
    cell(tr, s.dropped_objects ?? "–", "num dropped");
    cell(tr, s.objects_stored, "num stored");
    cell(tr, sparkline(s.backlog_history), "chart");
    tbody.appendChild(tr);
  }
  document.querySelectorAll("#sites th").forEach(th => {
    th.setAttribute("aria-sort", th.dataset.key === sortKey ? (sortDir > 0 ? "ascending" : "descending") : "none");
  });
  // Forward targets (docs/REPLICATION.md): the recovery point this core holds to each.
  const fwd = document.getElementById("forward");
  fwd.classList.toggle("hidden", !(last.forward && last.forward.length));
  const fbody = fwd.querySelector("tbody");
  fbody.replaceChildren();
  for (const f of last.forward ?? []) {
    const tr = document.createElement("tr");
    tr.dataset.target = f.target; tr.dataset.behind = f.behind;
    cell(tr, f.target, "target");
    const badge = document.createElement("span");
    badge.className = "badge " + (f.behind ? "offline" : "healthy"); badge.textContent = f.behind ? "over RPO" : "within RPO";
    cell(tr, badge, "status");
    cell(tr, duration(f.lag_seconds) + " (" + duration(f.rpo_seconds) + ")", "num lag");
    cell(tr, f.uploads_behind, "num uploads");
    cell(tr, f.objects_behind, "num objects");
    cell(tr, bytes(f.bytes_behind), "num bytes");
    cell(tr, f.last_success_at ?? "never", "num success");
    cell(tr, f.set_aside, "num aside");
    fbody.appendChild(tr);
  }
  const sum = document.getElementById("summary");
  sum.replaceChildren();
  for (const k of ["healthy", "lagging", "dropping", "offline"]) {
    const sp = document.createElement("span");
    sp.id = "count-" + k;
    sp.innerHTML = `<span class="badge ${k}">${k}</span> ${last.summary[k] ?? 0}`;
    sum.appendChild(sp);
  }
}

async function refresh() {
  clearTimeout(timer);
  try {
    const r = await fetch("/v1/sites?history=" + HISTORY_SECONDS, { credentials: "same-origin", cache: "no-store" });
    if (r.status === 401 || r.status === 403) { showLogin(); return; }
    if (!r.ok) throw new Error("GET /v1/sites answered " + r.status);
    last = await r.json();
    document.getElementById("error").textContent = "";
    document.getElementById("login").classList.add("hidden");
    document.getElementById("main").classList.remove("hidden");
    document.getElementById("logout").classList.remove("hidden");
    render();
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString() + " · every " + REFRESH_MS / 1000 + " s";
  } catch (e) {
    document.getElementById("error").textContent = "refresh failed: " + e.message + " (showing the last answer)";
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

// The sort order lives in the address (#sort=KEY or #sort=-KEY), so a sorted view can be bookmarked.
function sortFromHash() {
  const m = /^#sort=(-?)([a-z_]+)$/.exec(location.hash);
  if (m && document.querySelector(`#sites th[data-key="${m[2]}"]`)) { sortKey = m[2]; sortDir = m[1] ? -1 : 1; }
}
document.querySelectorAll("#sites th").forEach(th => th.addEventListener("click", () => {
  if (sortKey === th.dataset.key) sortDir = -sortDir; else { sortKey = th.dataset.key; sortDir = 1; }
  history.replaceState(null, "", "#sort=" + (sortDir < 0 ? "-" : "") + sortKey);
  render();
}));
window.addEventListener("hashchange", () => { sortFromHash(); render(); });
document.getElementById("login").addEventListener("submit", async ev => {
  ev.preventDefault();
  const field = document.getElementById("token"), t = field.value.trim();
  if (!t) return;
  const r = await fetch("/v1/session", {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token: t }) });
  field.value = "";
  if (r.ok) refresh(); else showLogin("the token was refused (" + r.status + "): give the admin token");
});
document.getElementById("logout").addEventListener("click", async () => {
  await fetch("/v1/session", { method: "DELETE", credentials: "same-origin" });
  last = null;
  document.querySelector("#sites tbody").textContent = "";
  showLogin("logged out");
});
sortFromHash();
refresh();

"""#
}
