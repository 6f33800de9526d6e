// The jobs page: the cluster at a glance, the submit form (a controller only) and the live
// table of jobs with their state and why, metric, replicas and nodes, batch, goodput,
// statistical efficiency, progress, restarts, age, and a cancel button.
import { ACTIVE, api, batchText, clear, duration, el, number, progressBar, stateBadge } from "./util.js";

const COLUMNS = ["job", "state", "metric", "replicas", "nodes", "batch (m×(s+1) = M)", "goodput /s", "efficiency", "progress", "restarts", "age", ""];
const NUMERIC = new Set(["replicas", "goodput /s", "efficiency", "restarts", "age"]);

function card(value, label) {
  return el("div", { class: "card" }, el("b", {}, value), el("span", {}, label));
}

function cards(cluster, jobs, info) {
  const states = {};
  for (const job of jobs) states[job.state] = (states[job.state] || 0) + 1;
  const last = cluster.last_round || {};
  const out = [
    card(String(cluster.nodes), "nodes"),
    cluster.slots !== undefined ? card(`${cluster.slots_in_use}/${cluster.slots}`, "GPU slots in use") : null,
    card(String(jobs.length), Object.entries(states).map(([s, n]) => `${n} ${s}`).join(", ") || "jobs"),
    card(cluster.policy, `policy, ${cluster.rounds} rounds`),
    last.utility !== undefined && last.utility !== null ? card(number(last.utility, 2), "utility (last round)") : null,
    card(number(cluster.node_hours, 3), "node-hours"),
  ];
  if (info.summary) {
    out.push(card(duration(info.summary.mean_jct_s), "mean JCT"), card(number(info.summary.makespan_s / 3600, 2) + "h", "makespan"));
  }
  return out;
}

function submitForm(info, onDone) {
  const message = el("span", { class: "small", role: "status" });
  const metrics = el("datalist", { id: "metric-names" }, info.metrics.map((m) => el("option", { value: m })));
  const input = (name, label, attrs = {}) => el("label", { class: attrs.wide ? "wide" : null }, label, el("input", { name, ...attrs, wide: null }));
  const form = el(
    "form",
    { class: "submit", "aria-label": "submit a job" },
    input("script", "script (absolute path, or relative to the working directory)", { required: true, wide: true, placeholder: "/path/to/train.py" }),
    input("args", "its arguments", { placeholder: "--epochs 3" }),
    input("name", "name", { placeholder: "(the script's)" }),
    input("metric", "metric", { value: "goodput", list: "metric-names" }),
    input("min_replicas", "min replicas", { type: "number", min: 0, value: 0 }),
    input("max_replicas", "max replicas", { type: "number", min: 1, value: 64 }),
    input("cwd", "working directory", { placeholder: "(the controller's)" }),
    el("div", {}, el("button", { type: "submit", class: "primary" }, "Submit"), " ", message),
    metrics,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = {
      command: [data.get("script").trim(), ...data.get("args").trim().split(/\s+/).filter(Boolean)],
      name: data.get("name").trim() || null,
      metric: data.get("metric").trim() || "goodput",
      min_replicas: Number(data.get("min_replicas") || 0),
      max_replicas: Number(data.get("max_replicas") || 64),
      cwd: data.get("cwd").trim() || null,
    };
    message.className = "small";
    message.textContent = "submitting…";
    try {
      const job = await api("jobs", { method: "POST", json: body });
      message.textContent = `submitted ${job.id}`;
      await onDone();
    } catch (err) {
      message.className = "small error";
      message.textContent = err.message;
    }
  });
  return form;
}

function row(job, info, onCancel) {
  const live = ACTIVE.has(job.state);
  const model = job.model || {};
  const cancel = !info.read_only && live
    ? el("button", { class: "danger", "data-cancel": job.id, onclick: () => onCancel(job) }, "Cancel")
    : null;
  const cells = [
    el("a", { href: `#/job/${encodeURIComponent(job.id)}` }, job.id),
    stateBadge(job),
    job.metric,
    String(job.replicas),
    job.nodes.join(", ") || "-",
    batchText(job.batch),
    number(model.goodput, 1),
    number(model.efficiency, 3),
    progressBar(job.progress),
    String(job.restarts),
    duration(job.age_s),
    cancel,
  ];
  return el("tr", { "data-job": job.id, "data-state": job.state }, cells.map((c, i) => el("td", { class: NUMERIC.has(COLUMNS[i]) ? "num" : null }, c)));
}

export function jobsPage(view, info) {
  const top = el("div", { class: "cards" });
  const body = el("tbody");
  const note = el("p", { class: "muted small" });
  const refresh = async () => {
    const [jobs, cluster] = await Promise.all([api("jobs"), api("cluster")]);
    clear(top, cards(cluster, jobs, info));
    const onCancel = async (job) => {
      if (!confirm(`Cancel ${job.id}? Its processes stop at once.`)) return;
      try { await api(`jobs/${encodeURIComponent(job.id)}`, { method: "DELETE" }); await refresh(); } catch (err) { note.textContent = err.message; }
    };
    clear(body, jobs.slice().reverse().map((job) => row(job, info, onCancel)));
    note.textContent = jobs.length ? "" : "No jobs yet.";
  };
  const parts = [top];
  if (!info.read_only) parts.push(el("h2", {}, "Submit a job"), submitForm(info, refresh));
  parts.push(
    el("h2", {}, info.read_only ? "Jobs (at the end of the run; batch and figures: the last configuration)" : "Jobs"),
    el("table", { class: "grid", id: "jobs" }, el("thead", {}, el("tr", {}, COLUMNS.map((c) => el("th", { class: NUMERIC.has(c) ? "num" : null }, c)))), body),
    note,
  );
  clear(view, parts);
  return { refresh, destroy() {}, every_ms: 2000 };
}
