// Shared runtime of pvemcp's views (MCP Apps, spec 2026-01-26). It speaks
// JSON-RPC 2.0 to the host over postMessage: ui/initialize, then
// ui/notifications/initialized; it draws the result the host hands over in
// ui/notifications/tool-result and reaches the server only through the host
// (tools/call). It never touches the network itself. Data is put in the
// page as text nodes, never as markup: guest names are untrusted.
"use strict";
const PVE = (() => {
  const SVGNS = "http://www.w3.org/2000/svg";
  // The server's configured alert thresholds, written in when it serves the
  // view (null: the documented defaults).
  const CONFIG = /*pvemcp:config*/null;
  const pending = new Map();
  let nextId = 1, ctx = {}, hostCaps = {}, cfg = null, args = {}, data = null, lastSize = "";

  function post(msg) { window.parent.postMessage(msg, "*"); }
  function request(method, params) {
    const id = nextId++;
    post({ jsonrpc: "2.0", id, method, params });
    return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
  }
  function notify(method, params) { post({ jsonrpc: "2.0", method, params }); }

  window.addEventListener("message", (ev) => {
    if (ev.source !== window.parent) return;
    const m = ev.data;
    if (!m || m.jsonrpc !== "2.0") return;
    if (m.method === undefined) {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.error) p.reject(new Error(m.error.message || "request failed"));
      else p.resolve(m.result);
      return;
    }
    const reply = (result) => { if (m.id !== undefined) post({ jsonrpc: "2.0", id: m.id, result }); };
    switch (m.method) {
      case "ui/notifications/tool-input":
        args = (m.params && m.params.arguments) || {};
        break;
      case "ui/notifications/tool-result":
        onResult(m.params || {});
        break;
      case "ui/notifications/tool-cancelled":
        status("The call was cancelled" + (m.params && m.params.reason ? ": " + m.params.reason : "") + ".");
        break;
      case "ui/notifications/host-context-changed":
        Object.assign(ctx, m.params || {});
        applyContext();
        draw();
        break;
      case "ui/resource-teardown":
      case "ping":
        reply({});
        break;
      case "ui/notifications/tool-input-partial":
        break;
      default:
        if (m.id !== undefined) post({ jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "method not found: " + m.method } });
    }
  });

  function applyContext() {
    const root = document.documentElement;
    if (ctx.theme === "light" || ctx.theme === "dark") {
      root.style.colorScheme = ctx.theme;
      root.dataset.theme = ctx.theme;
    }
    const vars = ctx.styles && ctx.styles.variables;
    if (vars) for (const [k, v] of Object.entries(vars)) if (k.startsWith("--") && typeof v === "string") root.style.setProperty(k, v);
    const dim = ctx.containerDimensions || {};
    if (dim.maxWidth) root.style.maxWidth = dim.maxWidth + "px";
  }

  function parseResult(r) {
    if (r.structuredContent && typeof r.structuredContent === "object") return r.structuredContent;
    const t = (r.content || []).find((c) => c && c.type === "text");
    if (t) { try { return JSON.parse(t.text); } catch (e) { return null; } }
    return null;
  }
  function onResult(r) {
    if (r.isError) {
      const t = (r.content || []).find((c) => c && c.type === "text");
      status("The tool answered with an error: " + (t ? t.text : "no message"));
      return;
    }
    const d = parseResult(r);
    if (!d) { status("The result holds no data to draw."); return; }
    data = d;
    draw();
  }

  function status(text) {
    const main = document.getElementById("app");
    main.replaceChildren(h("p", { class: "empty", id: "status" }, text));
  }

  function draw() {
    if (!data || !cfg) return;
    const main = document.getElementById("app");
    let out;
    try {
      out = [cfg.render(data, api)];
    } catch (e) {
      out = [h("p", { class: "problems" }, "This result could not be drawn: " + e.message)];
    }
    const parts = out.flat(Infinity).filter((x) => x !== null && x !== undefined && x !== false);
    // What failed goes right under the header: a partial result must read
    // as partial at first sight.
    const failed = partial(data);
    if (failed) parts.splice(parts[0] && parts[0].tagName === "HEADER" ? 1 : 0, 0, failed);
    parts.push(envelope(data));
    main.replaceChildren(...parts);
    main.dataset.rendered = String(Number(main.dataset.rendered || 0) + 1);
  }

  // callTool asks the host to call a tool of this server and draws its result.
  async function callTool(name, a, btn) {
    if (btn) btn.disabled = true;
    try {
      const r = await request("tools/call", { name, arguments: a });
      args = a;
      onResult(r || {});
    } catch (e) {
      const main = document.getElementById("app");
      main.prepend(h("p", { class: "problems", role: "alert" }, "The host could not call " + name + ": " + e.message));
    } finally {
      if (btn) btn.disabled = false;
    }
  }
  function canCall() { return !!hostCaps.serverTools; }

  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    setAttrs(e, attrs);
    append(e, kids);
    return e;
  }
  function s(tag, attrs, ...kids) {
    const e = document.createElementNS(SVGNS, tag);
    setAttrs(e, attrs);
    append(e, kids);
    return e;
  }
  function setAttrs(e, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, String(v));
    }
  }
  function append(e, kids) {
    for (const k of kids.flat(Infinity)) {
      if (k === undefined || k === null || k === false) continue;
      e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
  }

  function num(v, digits) {
    if (typeof v !== "number" || !isFinite(v)) return "–";
    return v.toLocaleString(ctx.locale || undefined, { maximumFractionDigits: digits === undefined ? 1 : digits });
  }
  function pct(v) { return num(v, 1) + " %"; }
  function gib(v) { return v >= 1024 ? num(v / 1024, 2) + " TiB" : num(v, 1) + " GiB"; }
  function fmtTime(t, opts) {
    const d = typeof t === "number" ? new Date(t * 1000) : new Date(t);
    if (isNaN(d)) return String(t);
    const o = Object.assign({ dateStyle: "medium", timeStyle: "short" }, opts || {});
    try {
      return new Intl.DateTimeFormat(ctx.locale || undefined, Object.assign({ timeZone: ctx.timeZone || undefined }, o)).format(d);
    } catch (e) {
      return new Intl.DateTimeFormat(undefined, o).format(d);
    }
  }
  function zoneName() {
    try { return ctx.timeZone || Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return "local time"; }
  }

  // src names the API calls behind a figure (shown on hover): those whose
  // path contains one of the given fragments, else all of them.
  function src(d, ...frags) {
    const all = d.sources || [];
    let hit = all.filter((c) => frags.some((f) => c.path.includes(f)));
    if (!hit.length) hit = all;
    const when = d.fetched_at ? " at " + fmtTime(d.fetched_at, { timeStyle: "medium" }) : "";
    return "from " + hit.map((c) => c.method + " " + c.path).join(", ") + when;
  }
  // threshold returns the threshold of a metric: from the result's alerts,
  // else as the server is configured, else the documented default.
  function threshold(d, metric, dflt) {
    const a = (d.alerts || []).find((x) => x.metric === metric && typeof x.threshold === "number");
    if (a) return a.threshold;
    const key = { mem_pct: "ram_pct", storage_pct: "storage_pct", cpu_pct: "cpu_pct" }[metric];
    const t = CONFIG && CONFIG.thresholds && CONFIG.thresholds[key];
    return typeof t === "number" && t > 0 ? t : dflt;
  }

  // meter draws a labelled bar: value in percent, a dashed line at the
  // threshold; over/near mark the bar when the value crosses it.
  function meter(o) {
    const v = Math.max(0, Math.min(100, o.value || 0));
    const over = o.threshold !== undefined && o.value >= o.threshold;
    const near = !over && o.threshold !== undefined && o.value >= o.threshold - 10;
    return h("div", { class: "meter", "data-metric": o.metric, "data-value": o.value, "data-threshold": o.threshold, "data-over": over, title: o.title },
      h("div", { class: "label" }, h("span", {}, o.label), h("span", {}, h("b", {}, pct(o.value)), o.detail ? " · " + o.detail : "")),
      h("div", { class: "bar" + (over ? " over" : near ? " near" : ""), role: "meter", "aria-valuenow": o.value, "aria-valuemin": 0, "aria-valuemax": 100, "aria-label": o.label },
        h("div", { class: "fill", style: "width:" + v + "%" }),
        o.threshold !== undefined ? h("div", { class: "threshold", style: "left:" + o.threshold + "%", title: "threshold " + o.threshold + " %" }) : null));
  }

  function header(title, d, extra) {
    const kids = [h("h1", {}, title), h("span", { class: "sub" }, d.cluster || ""),
      h("span", { class: "sub", title: "times in " + zoneName() }, d.fetched_at ? "read " + fmtTime(d.fetched_at, { timeStyle: "medium" }) : ""),
      h("span", { class: "spacer" })];
    if (extra) kids.push(extra);
    if (canCall() && cfg.tool) {
      const b = h("button", { type: "button", id: "refresh", title: "call " + cfg.tool + " again through the host" }, "Refresh");
      b.addEventListener("click", () => callTool(cfg.tool, args, b));
      kids.push(b);
    }
    return h("header", {}, kids);
  }

  function alerts(d) {
    const list = d.alerts || [];
    if (!list.length) return null;
    return h("ul", { class: "alerts", id: "alerts" }, list.map((a) =>
      h("li", { class: a.severity, "data-subject": a.subject, "data-metric": a.metric, title: a.basis || "" },
        h("span", { class: "badge " + a.severity }, a.severity), " ", a.message)));
  }

  // partial names what failed (per node or call), or is null.
  function partial(d) {
    if (!(d.errors || []).length) return null;
    return h("div", { class: "problems", id: "errors", role: "alert" }, h("b", {}, "Partial result: "),
      d.errors.map((e) => h("div", {}, (e.node ? e.node + ": " : "") + e.message)));
  }

  // envelope: what is missing, and the calls behind every figure.
  function envelope(d) {
    const parts = [];
    if ((d.unavailable || []).length) parts.push(h("div", { class: "muted", id: "unavailable" }, "Not available from the API: ",
      d.unavailable.map((u) => u.what + " (" + u.why + ")").join("; ")));
    const calls = d.sources || [];
    parts.push(h("details", { id: "sources" }, h("summary", {}, "Source: " + calls.length + " Proxmox API call" + (calls.length === 1 ? "" : "s") +
      (d.fetched_at ? ", read " + fmtTime(d.fetched_at, { timeStyle: "medium" }) : "") + " (" + zoneName() + ")"),
      h("ul", {}, calls.map((c) => h("li", {}, c.method + " " + c.path + " → " + c.status + " in " + num(c.ms, 1) + " ms" + (c.error ? " (" + c.error + ")" : ""))))));
    return h("footer", {}, parts);
  }

  // chart draws one series as a line over time (epoch seconds) with an
  // optional threshold line; y runs from 0 (or the minimum) to the maximum.
  function chart(o) {
    // Drawn at the width it is shown at (1:1), so labels stay legible on a
    // narrow host; a resize redraws (see below).
    const app = document.getElementById("app");
    const W = Math.max(260, Math.min(1200, Math.floor((app && app.clientWidth) || 560))), H = o.height || 120, L = 34, R = 8, T = 8, B = 20;
    const pts = o.points.filter((p) => typeof p[o.field] === "number" && typeof p.time === "number");
    const svg = s("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H, class: "chart", "data-field": o.field, role: "img", "aria-label": o.label });
    if (!pts.length) { svg.append(s("text", { x: L, y: H / 2 }, "no samples")); return svg; }
    const t0 = Math.min(...pts.map((p) => p.time)), t1 = Math.max(...pts.map((p) => p.time));
    const top = Math.max(...pts.map((p) => p[o.field]), o.threshold || 0);
    const y1 = o.max !== undefined && top <= o.max ? o.max : niceCeil(top);
    const x = (t) => L + (t1 > t0 ? (t - t0) / (t1 - t0) : 0.5) * (W - L - R);
    const y = (v) => T + (1 - v / y1) * (H - T - B);
    svg.append(s("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }), s("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }));
    for (const v of [0, y1 / 2, y1]) svg.append(s("text", { x: L - 4, y: y(v) + 3, "text-anchor": "end" }, num(v, v < 10 ? 1 : 0)));
    const span = t1 - t0, ticks = W < 420 ? 2 : 4;
    for (let i = 0; i <= ticks; i++) {
      const t = t0 + (span * i) / ticks;
      const opt = span > 2 * 86400 ? { dateStyle: "short" } : { timeStyle: "short", dateStyle: undefined };
      svg.append(s("text", { x: x(t), y: H - 6, "text-anchor": i === 0 ? "start" : i === ticks ? "end" : "middle" }, fmtTime(t, opt)));
    }
    const d = pts.map((p, i) => (i ? "L" : "M") + x(p.time).toFixed(1) + " " + y(p[o.field]).toFixed(1)).join(" ");
    svg.append(s("path", { class: "band", d: d + " L" + x(t1).toFixed(1) + " " + y(0) + " L" + x(t0).toFixed(1) + " " + y(0) + " Z" }));
    svg.append(s("path", { class: "line", d }));
    if (o.threshold !== undefined) {
      svg.append(s("line", { class: "thr", x1: L, x2: W - R, y1: y(o.threshold), y2: y(o.threshold), "data-threshold": o.threshold }),
        s("text", { class: "thr-label", x: L + 4, y: y(o.threshold) + 11 }, "threshold " + o.threshold + (o.unit || "")));
    }
    for (const p of pts) svg.append(s("circle", { class: "dot", cx: x(p.time).toFixed(1), cy: y(p[o.field]).toFixed(1), r: 1.6 },
      s("title", {}, fmtTime(p.time) + ": " + num(p[o.field], 2) + (o.unit || ""))));
    return svg;
  }

  // niceCeil rounds a chart's top up to 1, 2 or 5 times a power of ten.
  function niceCeil(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function table(cols, rows, attrs) {
    return h("div", { class: "scroll" }, h("table", attrs || {},
      h("thead", {}, h("tr", {}, cols.map((c) => h("th", { class: c.num ? "num" : "" }, c.label)))),
      h("tbody", {}, rows.map((r) => h("tr", r.attrs || {}, cols.map((c) => h("td", { class: c.num ? "num" : "" }, c.get(r))))))));
  }

  // Charts are drawn for the width they get: redraw when it changes.
  let drawnWidth = 0, redraw = 0;
  window.addEventListener("resize", () => {
    clearTimeout(redraw);
    redraw = setTimeout(() => {
      const w = document.documentElement.clientWidth;
      if (w !== drawnWidth && data && document.querySelector("svg.chart")) draw();
      drawnWidth = w;
    }, 100);
  });

  function sizeLoop() {
    const send = () => {
      const r = document.documentElement.getBoundingClientRect();
      const size = { width: Math.ceil(Math.max(r.width, document.documentElement.scrollWidth)), height: Math.ceil(r.height) };
      const key = size.width + "x" + size.height;
      if (key !== lastSize) { lastSize = key; notify("ui/notifications/size-changed", size); }
    };
    let queued = false;
    new ResizeObserver(() => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => { queued = false; send(); });
    }).observe(document.documentElement);
  }

  const api = { h, s, num, pct, gib, fmtTime, zoneName, src, threshold, meter, header, alerts, chart, table, callTool, canCall,
    get args() { return args; } };

  // view starts a view: o.tool is the tool it draws, o.render(data, api)
  // returns its elements.
  function view(o) {
    cfg = o;
    status("Waiting for the result from the host…");
    request("ui/initialize", {
      appCapabilities: { availableDisplayModes: ["inline"] },
      appInfo: { name: "pvemcp-" + o.name, version: "1" },
      protocolVersion: "2026-01-26",
    }).then((r) => {
      ctx = (r && r.hostContext) || {};
      hostCaps = (r && r.hostCapabilities) || {};
      applyContext();
      notify("ui/notifications/initialized", {});
      sizeLoop();
    }, (e) => status("The host refused to initialize the view: " + e.message));
  }
  return { view };
})();
