// GateStream dashboard. Everything it shows comes from the daemon's HTTP API (/api/v1, proto3 JSON):
// gates (GET /gates), one gate with its rules' evidence (GET /gates/{d}/{c}), its decisions (GET /decisions?gate=),
// live decisions (SSE /decisions/stream), the chart history (SSE /gates/{d}/{c}/history/stream) and overrides
// (POST /gates/{d}/{c}/override with a bearer token). Charts are drawn by uPlot.
"use strict";

(() => {
  const API = "/api/v1";
  const main = document.getElementById("main");
  const crumbs = document.getElementById("crumbs");
  const live = document.getElementById("live");
  let page = null; // the current view: { stop() }

  // ---- helpers ---------------------------------------------------------------------------------------------------

  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  };

  const label = (value, prefix) => (value || "").replace(prefix, "");
  const phaseOf = (p) => label(p, "PHASE_");
  const actionOf = (a) => label(a, "ACTION_");
  const words = (s) => s.toLowerCase().replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
  const timeMs = (ts) => (ts ? Date.parse(ts) : NaN);
  const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  const fmt = (v, digits) => (v === null || v === undefined || Number.isNaN(v) ? "—" : Number(v).toLocaleString("en", { maximumFractionDigits: digits ?? 4 }));
  const gatePath = (d, c) => `${encodeURIComponent(d)}/${encodeURIComponent(c)}`;

  const duration = (ms) => {
    if (!(ms >= 0)) return "—";
    const s = Math.floor(ms / 1000);
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${s % 60}s`;
    const h = Math.floor(m / 60);
    return h < 48 ? `${h}h ${m % 60}m` : `${Math.floor(h / 24)}d ${h % 24}h`;
  };

  const setLive = (text, down) => {
    live.textContent = text;
    live.classList.toggle("down", !!down);
  };

  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) {
      let detail = response.statusText;
      try { detail = (await response.json()).detail || detail; } catch { /* not a problem body */ }
      const error = new Error(`${response.status} ${detail}`);
      error.status = response.status;
      throw error;
    }
    return response.json();
  }

  // An EventSource whose failures show in the header instead of throwing; closed with the page.
  function stream(url, handlers) {
    const source = new EventSource(url);
    source.onopen = () => setLive("live");
    source.onerror = () => setLive(source.readyState === EventSource.CLOSED ? "disconnected" : "reconnecting…", true);
    for (const [name, handler] of Object.entries(handlers)) {
      source.addEventListener(name, (event) => {
        try { handler(JSON.parse(event.data), event); } catch (e) { setLive(`bad event: ${e.message}`, true); }
      });
    }
    return source;
  }

  // All decisions of a gate from the log, following nextFrom until the page reaches the end.
  async function decisionsOf(gateId) {
    const all = [];
    let from = "0";
    for (let i = 0; i < 100; i++) {
      const pageOf = await getJson(`${API}/decisions?gate=${encodeURIComponent(gateId)}&from=${from}&limit=1000`);
      all.push(...(pageOf.decisions || []));
      if (pageOf.nextFrom === pageOf.lastSequence || (pageOf.decisions || []).length === 0) return { decisions: all, last: pageOf.lastSequence };
      from = pageOf.nextFrom;
    }
    return { decisions: all, last: from };
  }

  // When the gate entered its current phase: the first decision of the last run of decisions in that phase, or its start.
  function phaseSince(gate, decisions) {
    let since = timeMs(gate.startedTime);
    for (let i = decisions.length - 1; i >= 0; i--) {
      if (decisions[i].phase !== gate.phase) break;
      if (i === 0 || decisions[i - 1].phase !== gate.phase) {
        since = i === 0 && gate.phase === "PHASE_PROGRESSING" ? since : timeMs(decisions[i].time);
        break;
      }
    }
    return since;
  }

  // ---- overview --------------------------------------------------------------------------------------------------

  function overview() {
    crumbs.replaceChildren();
    document.title = "Gates · GateStream";
    const body = el("tbody");
    const table = el("table", { id: "gates", "aria-describedby": "gates-caption" },
      el("caption", { id: "gates-caption", class: "muted note" },
        "Weight is the decided one; observed is the canary's share of the deployment's requests over the last minute."),
      el("thead", {}, el("tr", {},
        ["Deployment", "Canary", "Baseline", "Phase", "Weight / observed", "Firing rules", "In phase for", "Policy"]
          .map((h, i) => el("th", { scope: "col", class: i === 7 ? "hide-narrow" : null }, h)))),
      body);
    main.replaceChildren(el("h1", {}, "Gates"), el("div", { class: "table-wrap" }, table));

    const phaseStart = new Map(); // gate id -> { phase, since }
    let gates = [];
    let stopped = false;
    let refreshing = null;

    async function sinceOf(gate) {
      const known = phaseStart.get(gate.id);
      if (known && known.phase === gate.phase && known.sequence === gate.lastDecisionSequence) return known.since;
      let since = timeMs(gate.startedTime);
      if (gate.lastDecisionSequence !== "0") {
        const { decisions } = await decisionsOf(gate.id);
        since = phaseSince(gate, decisions);
      }
      phaseStart.set(gate.id, { phase: gate.phase, sequence: gate.lastDecisionSequence, since });
      return since;
    }

    function render() {
      if (gates.length === 0) {
        body.replaceChildren(el("tr", {}, el("td", { colspan: 8, class: "empty" }, "No gates yet. A gate opens when a canary version of a deployment a policy targets shows traffic, or on StartRollout.")));
        return;
      }
      const now = Date.now();
      body.replaceChildren(...gates.map((g) => {
        const phase = phaseOf(g.phase);
        const since = phaseStart.get(g.id)?.since;
        return el("tr", { "data-gate": g.id },
          el("td", {}, g.deployment),
          el("td", {}, el("a", { href: `#/gates/${gatePath(g.deployment, g.canaryVersion)}` }, g.canaryVersion)),
          el("td", {}, g.baselineVersion),
          el("td", {}, el("span", { class: `badge ${phase}` }, words(phase)), g.mode === "GATE_MODE_SHADOW" ? [" ", el("span", { class: "badge shadow" }, "shadow")] : null),
          el("td", { class: "num" }, `${g.weight}%`, el("span", { class: "muted" }, ` / ${g.observedShare === undefined ? "no traffic" : fmt(g.observedShare, 1) + "%"}`)),
          el("td", {}, (g.firingRules || []).length ? g.firingRules.map((r) => el("span", { class: "badge firing" }, r)) : el("span", { class: "muted" }, "none")),
          el("td", { class: "num" }, since ? duration(now - since) : "…"),
          el("td", { class: "hide-narrow" }, g.policy));
      }));
    }

    async function refresh() {
      if (refreshing) return refreshing;
      refreshing = (async () => {
        try {
          const list = await getJson(`${API}/gates?includeFinished=true`);
          gates = (list.gates || []).slice().sort((a, b) => timeMs(b.startedTime) - timeMs(a.startedTime));
          render();
          for (const g of gates) await sinceOf(g);
          if (!stopped) render();
        } catch (e) {
          setLive(`gates: ${e.message}`, true);
        } finally {
          refreshing = null;
        }
      })();
      return refreshing;
    }

    const source = stream(`${API}/decisions/stream?includeShadow=true`, { decision: () => refresh() });
    const timer = setInterval(refresh, 2000);
    refresh();
    return { stop() { stopped = true; clearInterval(timer); source.close(); } };
  }

  // ---- gate page -------------------------------------------------------------------------------------------------

  const ACTION_COLOURS = { PROMOTE: "#2b8a3e", HOLD: "#e67700", PAUSE: "#7048e8", ROLLBACK: "#c92a2a", RESUME: "#1098ad" };
  const TRAILING_MS = 30000;

  // Which chart a rule's bound belongs on, and the bound in that chart's unit (null: not drawn).
  function boundOf(rule) {
    if (rule.threshold === undefined) return null;
    const signal = rule.signal || "";
    const relative = rule.baseline !== undefined;
    const name = `${rule.rule}${relative ? " (vs baseline, now)" : ""}`;
    if (/error-rate$/.test(signal) && !signal.includes("budget")) return { chart: "errors", value: rule.unit === "percent" ? rule.threshold : rule.threshold * 100, name };
    if (/success-rate$/.test(signal)) return { chart: "errors", value: 100 - (rule.unit === "percent" ? rule.threshold : rule.threshold * 100), name };
    if (/^latency-p/.test(signal) || signal === "request-duration") return { chart: "latency", value: rule.unit === "s" ? rule.threshold * 1000 : rule.threshold, name: `${name} ${signal}` };
    if (signal === "throughput") return { chart: "rate", value: rule.threshold, name };
    return null;
  }

  // Rates over a trailing window from per-point counts: x in seconds for uPlot, null where there were no requests.
  function series(h) {
    const t = h.timeUnixMs || [];
    const n = t.length;
    const out = { x: new Array(n), cErr: new Array(n), bErr: new Array(n), cP99: new Array(n), bP99: new Array(n),
      cRate: new Array(n), bRate: new Array(n), weight: new Array(n), share: new Array(n) };
    let j = 0, cr = 0, ce = 0, br = 0, be = 0, span = 0;
    for (let i = 0; i < n; i++) {
      cr += h.canaryRequests[i]; ce += h.canaryErrors[i]; br += h.baselineRequests[i]; be += h.baselineErrors[i]; span += h.spanMs[i];
      while (j < i && t[i] - t[j] >= Math.max(TRAILING_MS, h.spanMs[i])) {
        cr -= h.canaryRequests[j]; ce -= h.canaryErrors[j]; br -= h.baselineRequests[j]; be -= h.baselineErrors[j]; span -= h.spanMs[j];
        j++;
      }
      out.x[i] = t[i] / 1000;
      out.cErr[i] = cr > 0 ? (100 * ce) / cr : null;
      out.bErr[i] = br > 0 ? (100 * be) / br : null;
      out.cP99[i] = h.canaryP99Ms[i] > 0 ? h.canaryP99Ms[i] : null;
      out.bP99[i] = h.baselineP99Ms[i] > 0 ? h.baselineP99Ms[i] : null;
      out.cRate[i] = span > 0 ? cr / (span / 1000) : null;
      out.bRate[i] = span > 0 ? br / (span / 1000) : null;
      out.weight[i] = h.weight[i];
      out.share[i] = cr + br > 0 ? (100 * cr) / (cr + br) : null;
    }
    return out;
  }

  function appendHistory(into, h) {
    for (const key of ["timeUnixMs", "spanMs", "canaryRequests", "canaryErrors", "baselineRequests", "baselineErrors", "canaryP99Ms", "baselineP99Ms", "weight"]) {
      into[key].push(...(h[key] || []));
    }
  }

  // uPlot plugin: a vertical line per decision and a dashed horizontal line per rule bound.
  function overlays(state, chartName) {
    return {
      hooks: {
        draw: [(u) => {
          const { ctx } = u;
          const { left, top, width, height } = u.bbox;
          ctx.save();
          ctx.lineWidth = 2 * devicePixelRatio;
          for (const d of state.decisions) {
            const x = u.valToPos(timeMs(d.time) / 1000, "x", true);
            if (x < left || x > left + width) continue;
            ctx.strokeStyle = ACTION_COLOURS[actionOf(d.action)] || "#5b6576";
            ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
          }
          ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
          ctx.lineWidth = 1.5 * devicePixelRatio;
          ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
          ctx.textAlign = "left";
          ctx.textBaseline = "bottom";
          for (const b of state.bounds.filter((b) => b.chart === chartName)) {
            const y = u.valToPos(b.value, "y", true);
            if (y < top || y > top + height) continue;
            ctx.strokeStyle = "#c92a2a"; ctx.fillStyle = "#c92a2a";
            ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(left + width, y); ctx.stroke();
            ctx.fillText(`${b.name}: ${fmt(b.value, 3)}`, left + 4 * devicePixelRatio, y - 4 * devicePixelRatio);
          }
          ctx.restore();
        }],
      },
    };
  }

  function gatePage(deployment, canary) {
    const gateId = `${deployment}/${canary}`;
    const base = `${API}/gates/${gatePath(deployment, canary)}`;
    document.title = `${gateId} · GateStream`;
    crumbs.replaceChildren(el("a", { href: "#/" }, "Gates"), " / ", el("span", { "aria-current": "page" }, gateId));
    main.replaceChildren(el("h1", {}, gateId), el("p", { class: "muted" }, "Loading…"));

    const state = { gate: null, decisions: [], bounds: [], history: null, charts: [], lastSequence: "0", selected: null };
    const sources = [];
    const observers = [];
    let stopped = false;
    let timer = null;

    const facts = el("dl", { class: "facts", id: "facts" });
    const lane = el("div", { class: "lane", id: "markers", role: "group", "aria-label": "Decisions on the time axis" }, el("span", { class: "lane-label" }, "decisions"));
    const evidence = el("section", { class: "evidence card", id: "evidence", "aria-live": "polite" });
    const chartsBox = el("div", { class: "charts", id: "charts" });
    const timeline = el("ol", { class: "timeline", id: "timeline" });
    const rulesBody = el("tbody");
    const result = el("div", { class: "result", id: "override-result", role: "status", "aria-live": "polite" });

    const definitions = [
      { name: "errors", title: "Error rate (%, trailing 30 s)", unit: "%", series: [["canary", "cErr", "#d9480f"], ["baseline", "bErr", "#1864ab"]] },
      { name: "latency", title: "p99 latency (ms, over the series window)", unit: "ms", series: [["canary", "cP99", "#d9480f"], ["baseline", "bP99", "#1864ab"]] },
      { name: "rate", title: "Request rate (req/s, trailing 30 s)", unit: "req/s", series: [["canary", "cRate", "#d9480f"], ["baseline", "bRate", "#1864ab"]] },
      { name: "weight", title: "Weight (decided, steps) and observed share (%)", unit: "%", series: [["weight", "weight", "#2b8a3e", true], ["observed share", "share", "#868e96"]] },
    ];

    function chartWidth() { return Math.max(260, chartsBox.clientWidth - 12); }
    function chartHeight() { return window.innerWidth < 600 ? 150 : 170; }

    function buildCharts() {
      const sync = uPlot.sync(gateId);
      state.charts = definitions.map((def) => {
        const figure = el("figure", { class: "chart", id: `chart-${def.name}`, "data-points": "0" }, el("figcaption", {}, def.title));
        const holder = el("div", { class: "plot" });
        figure.append(holder);
        chartsBox.append(figure);
        const opts = {
          width: chartWidth(),
          height: chartHeight(),
          cursor: { sync: { key: sync.key } },
          legend: { live: true },
          scales: {
            // Out to the latest decision too: a gate's last decision (a rollback) can come after its last history point.
            x: {
              time: true,
              range: (u, min, max) => {
                const times = state.decisions.map((d) => timeMs(d.time) / 1000);
                const lo = Math.min(min ?? Infinity, ...times);
                const hi = Math.max(max ?? -Infinity, ...times);
                return Number.isFinite(lo) && Number.isFinite(hi) ? [lo, hi > lo ? hi + (hi - lo) * 0.01 : lo + 60] : [Date.now() / 1000 - 60, Date.now() / 1000];
              },
            },
            y: {
              range: (u, min, max) => {
                const bounds = state.bounds.filter((b) => b.chart === def.name).map((b) => b.value);
                const hi = Math.max(max ?? 0, ...bounds, def.name === "weight" ? 100 : 0);
                return [0, hi > 0 ? hi * 1.1 : 1];
              },
            },
          },
          axes: [{}, { label: def.unit, size: 55 }],
          series: [{}, ...def.series.map(([label, , stroke, stepped]) => ({
            label, stroke, width: stepped ? 2 : 1.5, spanGaps: false,
            paths: stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
            value: (u, v) => (v === null || v === undefined ? "—" : fmt(v, 3)),
          }))],
          plugins: [overlays(state, def.name)],
          hooks: { setSize: [() => placeMarkers()], setScale: [() => placeMarkers()] },
        };
        const chart = new uPlot(opts, [[], ...def.series.map(() => [])], holder);
        return { def, chart, figure };
      });
      const resize = new ResizeObserver(() => {
        for (const c of state.charts) c.chart.setSize({ width: chartWidth(), height: chartHeight() });
        placeMarkers();
      });
      resize.observe(chartsBox);
      observers.push(resize);
    }

    function redrawCharts() {
      if (!state.history) return;
      const s = series(state.history);
      for (const c of state.charts) {
        c.chart.setData([s.x, ...c.def.series.map(([, key]) => s[key])]);
        c.figure.setAttribute("data-points", String(s.x.length));
      }
      placeMarkers();
    }

    // Marker buttons on the time axis of the charts, one per decision: hover shows the reason, click or Enter the evidence.
    function placeMarkers() {
      const first = state.charts[0];
      if (!first) return;
      const u = first.chart;
      const offset = u.over.getBoundingClientRect().left - lane.getBoundingClientRect().left;
      for (const button of lane.querySelectorAll(".marker")) {
        const x = u.valToPos(Number(button.dataset.time) / 1000, "x");
        const visible = Number.isFinite(x) && x >= 0 && x <= u.over.clientWidth;
        button.style.left = `${offset + (visible ? x : Math.max(0, Math.min(x || 0, u.over.clientWidth)))}px`;
      }
    }

    function showEvidence(decision) {
      state.selected = decision.sequence;
      for (const b of document.querySelectorAll(".marker")) b.setAttribute("aria-pressed", b.dataset.sequence === decision.sequence ? "true" : "false");
      evidence.replaceChildren(
        el("h3", {}, `Decision #${decision.sequence}: ${actionOf(decision.action)} to weight ${decision.weight} (${words(phaseOf(decision.phase))}) at ${clock(timeMs(decision.time))}`),
        el("p", {}, decision.reason),
        decision.override ? el("p", {}, `Override by ${decision.override.actor}${decision.override.reason ? `: ${decision.override.reason}` : ""}`) : null,
        evidenceTable(decision.evidence || []));
    }

    function evidenceTable(rows) {
      if (rows.length === 0) return el("p", { class: "muted" }, "No rule evidence.");
      return el("div", { class: "table-wrap" }, el("table", {},
        el("thead", {}, el("tr", {}, ["Rule", "Status", "Observed", "Bound", "Baseline", "Samples", "Window"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows.map((r) => el("tr", {},
          el("td", {}, r.rule, el("div", { class: "muted" }, r.signal)),
          el("td", {}, words(label(r.status, "RULE_STATUS_"))),
          el("td", { class: "num" }, `${fmt(r.observed)} ${r.unit || ""}`),
          el("td", { class: "num" }, `${r.bound === "BOUND_LOWER" ? "≥" : r.bound === "BOUND_UPPER" ? "≤" : ""} ${fmt(r.threshold)}`),
          el("td", { class: "num" }, fmt(r.baseline)),
          el("td", { class: "num" }, `${r.samples ?? 0}${r.minSamples && r.minSamples !== "0" ? ` / ${r.minSamples}` : ""}`),
          el("td", { class: "num" }, r.window || "—"))))));
    }

    function addDecision(d) {
      if (state.decisions.some((x) => x.sequence === d.sequence)) return;
      state.decisions.push(d);
      const action = actionOf(d.action);
      const when = clock(timeMs(d.time));
      lane.append(el("button", {
        type: "button", class: `marker ${action}`, "data-sequence": d.sequence, "data-time": String(timeMs(d.time)), "aria-pressed": "false",
        title: `#${d.sequence} ${action} → ${d.weight}% at ${when}: ${d.reason}`,
        "aria-label": `Decision ${d.sequence}: ${action} at ${when}`, onclick: () => showEvidence(d),
      }, action[0]));
      const detail = el("div", { class: "detail", hidden: true });
      const row = el("button", { type: "button", class: "row", "aria-expanded": "false", onclick: () => {
        const open = row.getAttribute("aria-expanded") !== "true";
        row.setAttribute("aria-expanded", String(open));
        detail.hidden = !open;
        if (open && !detail.firstChild) detail.append(evidenceTable(d.evidence || []));
      } },
      el("span", { class: "num muted" }, `#${d.sequence} ${when}`),
      el("span", { class: `badge ${action}` }, action),
      el("span", { class: "num" }, `→ ${d.weight}%`),
      el("span", { class: "muted" }, words(phaseOf(d.phase))),
      d.override ? el("span", { class: "badge shadow" }, `by ${d.override.actor}`) : null,
      d.shadow ? el("span", { class: "badge shadow" }, "shadow") : null,
      el("span", { class: "reason" }, d.reason));
      timeline.prepend(el("li", { "data-sequence": d.sequence }, row, detail));
      if (BigInt(d.sequence) > BigInt(state.lastSequence)) state.lastSequence = d.sequence;
    }

    function renderGate() {
      const g = state.gate;
      const phase = phaseOf(g.phase);
      const since = phaseSince(g, state.decisions);
      facts.replaceChildren(...[
        ["Phase", el("span", { class: `badge ${phase}`, id: "phase" }, words(phase))],
        ["Weight / observed", `${g.weight}% / ${g.observedShare === undefined ? "no traffic" : fmt(g.observedShare, 1) + "%"}`],
        ["Baseline → canary", `${g.baselineVersion} → ${g.canaryVersion}`],
        ["In phase for", duration(Date.now() - since)],
        ["Firing rules", (g.firingRules || []).join(", ") || "none"],
        ["Policy", `${g.policy}${g.mode === "GATE_MODE_SHADOW" ? " (shadow)" : ""}`],
        ["Started", `${clock(timeMs(g.startedTime))} by ${g.startedBy}`],
      ].map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, v))));
      rulesBody.replaceChildren(...(g.rules || []).map((r) => el("tr", {},
        el("td", {}, r.rule, el("div", { class: "muted" }, `${r.signal} · ${actionOf(r.action).toLowerCase()}`)),
        el("td", {}, words(label(r.status, "RULE_STATUS_"))),
        el("td", { class: "num" }, `${fmt(r.observed)}${r.unit && r.unit !== "ratio" ? ` ${r.unit}` : ""}`),
        el("td", { class: "num" }, `${r.bound === "BOUND_LOWER" ? "≥" : r.bound === "BOUND_UPPER" ? "≤" : ""} ${fmt(r.threshold)}`))));
      const select = document.getElementById("suppress-rule");
      if (select && select.options.length !== (g.rules || []).length) {
        select.replaceChildren(...(g.rules || []).map((r) => el("option", { value: r.rule }, r.rule)));
      }
      state.bounds = (g.rules || []).map(boundOf).filter(Boolean);
      for (const c of state.charts) c.chart.redraw(false, false);
    }

    async function reloadGate() {
      try {
        state.gate = await getJson(base);
        if (!stopped) renderGate();
      } catch (e) {
        setLive(`gate: ${e.message}`, true);
      }
    }

    async function override(kind, extra) {
      const token = document.getElementById("token").value.trim();
      const reason = document.getElementById("reason").value.trim();
      result.className = "result";
      if (!token) {
        result.classList.add("refused");
        result.textContent = "Enter a control token first (a line of GateStream:Control:TokensFile).";
        document.getElementById("token").focus();
        return;
      }
      result.textContent = "Sending…";
      try {
        const response = await fetch(`${base}/override`, {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json", Authorization: `Bearer ${token}` },
          body: JSON.stringify({ kind, reason: reason || "from the dashboard", ...extra }),
        });
        const body = await response.json().catch(() => ({}));
        if (!response.ok) {
          result.classList.add("refused");
          result.textContent = `Refused (${response.status} ${body.title || response.statusText}): ${body.detail || "no detail"}`;
          return;
        }
        result.classList.add("ok");
        result.textContent = `Decision #${body.sequence}: ${actionOf(body.action)} to weight ${body.weight} (${words(phaseOf(body.phase))}), by ${body.override?.actor ?? "?"}, recorded in the decision log.`;
        addDecision(body);
        reloadGate();
        redrawCharts();
      } catch (e) {
        result.classList.add("refused");
        result.textContent = `Failed: ${e.message}`;
      }
    }

    function overrideForm() {
      const kinds = [["Pause", "OVERRIDE_KIND_PAUSE"], ["Resume", "OVERRIDE_KIND_RESUME"], ["Roll back", "OVERRIDE_KIND_ROLLBACK", "danger"]];
      return el("form", { class: "override card", id: "override", onsubmit: (e) => e.preventDefault() },
        el("label", {}, "Control token", el("input", { id: "token", type: "password", autocomplete: "off", spellcheck: "false", placeholder: "bearer token" })),
        el("label", {}, "Reason", el("input", { id: "reason", type: "text", placeholder: "why (recorded with the decision)" })),
        el("div", { class: "actions" }, kinds.map(([text, kind, cls]) =>
          el("button", { type: "button", class: cls, "data-kind": kind, onclick: () => override(kind) }, text))),
        el("label", {}, "Suppress a rule for a while",
          el("span", { class: "suppress" },
            el("select", { id: "suppress-rule", "aria-label": "Rule to suppress" }),
            el("input", { id: "suppress-minutes", type: "number", min: "1", max: "1440", value: "10", "aria-label": "Minutes" }))),
        el("div", { class: "actions" }, el("button", { type: "button", "data-kind": "OVERRIDE_KIND_SUPPRESS_RULE", onclick: () => {
          const rule = document.getElementById("suppress-rule").value;
          const minutes = Math.max(1, Number(document.getElementById("suppress-minutes").value) || 10);
          override("OVERRIDE_KIND_SUPPRESS_RULE", { rule, duration: `${minutes * 60}s` });
        } }, "Suppress rule")),
        result);
    }

    (async () => {
      try {
        state.gate = await getJson(base);
        const { decisions, last } = await decisionsOf(gateId);
        if (stopped) return;
        main.replaceChildren(
          el("h1", {}, gateId),
          facts,
          el("div", { class: "layout" },
            el("section", { "aria-label": "Charts" }, lane, chartsBox, evidence),
            el("aside", { "aria-label": "Rules and overrides" },
              el("h2", {}, "Rules now"),
              el("div", { class: "table-wrap" }, el("table", { class: "rules", id: "rules" },
                el("thead", {}, el("tr", {}, ["Rule", "Status", "Observed", "Bound"].map((h) => el("th", { scope: "col" }, h)))), rulesBody)),
              el("h2", {}, "Override"),
              overrideForm())),
          el("h2", {}, "Decisions"),
          timeline);
        buildCharts();
        for (const d of decisions) addDecision(d);
        state.lastSequence = last;
        renderGate();
        sources.push(stream(`${base}/history/stream`, {
          history: (h) => { state.history = { timeUnixMs: [], spanMs: [], canaryRequests: [], canaryErrors: [], baselineRequests: [], baselineErrors: [], canaryP99Ms: [], baselineP99Ms: [], weight: [] }; appendHistory(state.history, h); redrawCharts(); },
          points: (h) => { if (state.history) { appendHistory(state.history, h); redrawCharts(); } },
        }));
        sources.push(stream(`${API}/decisions/stream?gate=${encodeURIComponent(gateId)}&includeShadow=true&from=${state.lastSequence}`, {
          decision: (d) => { addDecision(d); reloadGate(); redrawCharts(); },
        }));
        timer = setInterval(reloadGate, 2000);
      } catch (e) {
        main.replaceChildren(el("h1", {}, gateId), el("p", { class: "card", role: "alert" },
          e.status === 404 ? "The daemon holds no such gate (it may have finished and been retired)." : `Could not load the gate: ${e.message}`),
          el("p", {}, el("a", { href: "#/" }, "Back to the gates")));
      }
    })();

    return {
      stop() {
        stopped = true;
        if (timer) clearInterval(timer);
        for (const s of sources) s.close();
        for (const o of observers) o.disconnect();
        for (const c of state.charts) c.chart.destroy();
      },
    };
  }

  // ---- routing ---------------------------------------------------------------------------------------------------

  function route() {
    if (page) page.stop();
    const match = /^#\/gates\/([^/]+)\/([^/]+)$/.exec(location.hash);
    page = match ? gatePage(decodeURIComponent(match[1]), decodeURIComponent(match[2])) : overview();
    main.focus({ preventScroll: true });
  }

  window.addEventListener("hashchange", route);
  route();
})();
