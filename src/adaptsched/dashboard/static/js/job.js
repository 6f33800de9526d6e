// One job: what it is and where it runs; its batch size, goodput, throughput and statistical
// efficiency over time; the speedup its fitted model predicts per GPU count; its generations
// (restarts) and why each started; its state changes; the tail of its log (a controller).
import { ChartSet } from "./charts.js";
import { ACTIVE, api, batchText, clear, duration, el, makeClock, number, stateBadge, timeAxis } from "./util.js";

const LOG_TAIL_BYTES = 16384;

function facts(job, clock) {
  const model = job.model || {};
  const pairs = [
    ["state", stateBadge(job)],
    ["metric", job.metric],
    ["command", (job.command || []).join(" ") || job.application || "-"],
    ["replicas", `${job.replicas} on ${job.nodes.join(", ") || "-"}`],
    ["batch", batchText(job.batch)],
    ["model", job.model ? `throughput ${number(model.throughput)}/s, efficiency ${number(model.efficiency, 3)}, goodput ${number(model.goodput)}/s${model.fitted ? "" : " (prior: not fitted yet)"}` : "-"],
    ["starts", `${job.generation} (restarts ${job.restarts}, failures ${job.failures}${job.max_failures !== undefined ? `/${job.max_failures}` : ""})`],
    ["submitted", clock.at(job.submitted_s)],
    ["age", duration(job.age_s)],
  ];
  return el("dl", { class: "facts" }, pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function table(head, rows) {
  return el("table", { class: "grid" }, el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))), el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", { class: "wrap" }, c))))));
}

function placementText(placement) {
  const counts = {};
  for (const node of placement) counts[node] = (counts[node] || 0) + 1;
  return Object.entries(counts).map(([n, c]) => `${n}×${c}`).join(", ");
}

export function jobPage(view, info, jobId) {
  const charts = new ChartSet();
  const clock = makeClock(info.clock, 0);
  const head = el("div");
  const grid = el("div", { class: "charts" });
  const gens = el("div");
  const changes = el("div");
  const log = el("pre", { class: "log" }, "…");
  const canvases = {
    batch: charts.card(grid, "batch", "Batch size", "total batch M and local batch m"),
    rate: charts.card(grid, "rate", "Goodput and throughput (samples/s)", "the model's at the job's configuration; measured: progress made, at M0"),
    eff: charts.card(grid, "eff", "Statistical efficiency"),
    speedup: charts.card(grid, "speedup", "Predicted speedup", "over one GPU, by its latest model, per GPU count (fewest nodes)"),
  };
  const parts = [el("h2", {}, `Job ${jobId}`), head, grid, el("h2", {}, "Generations (starts) and why"), gens, el("h2", {}, "State changes"), changes];
  if (!info.read_only) parts.push(el("h2", {}, "Log (rank 0, last lines)"), log);
  clear(view, parts);
  let origin = null;

  const refresh = async () => {
    const [job, history] = await Promise.all([api(`jobs/${encodeURIComponent(jobId)}`), api(`jobs/${encodeURIComponent(jobId)}/history`)]);
    if (origin === null) origin = info.clock === "wall" ? job.submitted_s : 0;
    clock.origin = origin;
    const cancel = !info.read_only && ACTIVE.has(job.state)
      ? el("button", { class: "danger", onclick: async () => { if (confirm(`Cancel ${job.id}?`)) { await api(`jobs/${encodeURIComponent(job.id)}`, { method: "DELETE" }); await refresh(); } } }, "Cancel")
      : null;
    clear(head, facts(job, clock), cancel ? el("p", {}, cancel) : null);
    const s = history.samples;
    const pts = (key) => s.filter((p) => p[key] !== undefined && p[key] !== null).map((p) => ({ x: clock.x(p.time_s), y: p[key] }));
    const times = s.map((p) => clock.x(p.time_s));
    const x = timeAxis(clock, times.length ? Math.min(...times) : null, times.length ? Math.max(...times) : null);
    charts.lines("batch", canvases.batch, [{ label: "total batch M", points: pts("total_batch"), stepped: true }, { label: "local batch m", points: pts("local_bsz"), stepped: true }], { x });
    charts.lines("rate", canvases.rate, [
      { label: "goodput (model)", points: pts("goodput") },
      { label: "throughput (model)", points: pts("throughput"), dashed: true },
      { label: "goodput (measured)", points: pts("measured_goodput"), showLine: false },
    ], { x });
    charts.lines("eff", canvases.eff, [{ label: "efficiency", points: pts("efficiency") }], { x, y: { max: 1 } });
    const curve = history.speedup || { replicas: [], speedup: [] };
    const sp = curve.replicas.map((k, i) => ({ x: k, y: curve.speedup[i] }));
    const now = sp.filter((p) => p.x === job.replicas);
    charts.lines("speedup", canvases.speedup, [
      { label: curve.fitted === false ? "speedup (prior)" : "speedup", points: sp },
      { label: "linear", points: sp.map((p) => ({ x: p.x, y: p.x })), dashed: true, colour: "#98a2b3" },
      { label: "now", points: now, showLine: false, colour: "#b42318" },
    ], { x: { title: { display: true, text: "GPUs" } } });
    clear(gens, table(["gen", "placement", "started", "ran", "why it started", "how it ended"], history.generations.map((g) => [
      String(g.generation), placementText(g.placement), clock.at(g.launched_s), duration((g.exited_s ?? clock.now(info.now_s)) - g.launched_s), g.cause, g.outcome,
    ])));
    clear(changes, table(["time", "change", "why"], history.events.filter((e) => e.new).map((e) => [clock.at(e.time_s), `${e.old} → ${e.new}`, e.detail || ""])));
    if (!info.read_only && job.generation > 0) {
      const out = await api(`jobs/${encodeURIComponent(jobId)}/logs?tail=${LOG_TAIL_BYTES}`);
      log.textContent = out.text.trim() || "(no output yet)";
    } else if (!info.read_only) {
      log.textContent = "(not started yet)";
    }
  };
  return { refresh, destroy: () => charts.destroy(), every_ms: 3000 };
}
