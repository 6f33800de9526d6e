// Shared helpers: requests to the dashboard's own server (relative addresses), DOM building
// (text only, never HTML from data: job names and commands come from users), and formats.

export class LoginNeeded extends Error {}

// GET or send JSON; throws Error(detail) for an HTTP error, LoginNeeded for 401.
export async function api(path, options = {}) {
  const init = { credentials: "same-origin", ...options };
  init.headers = { Accept: "application/json", "X-Adaptsched-Dashboard": "1", ...(options.headers || {}) };
  if (options.json !== undefined) {
    init.body = JSON.stringify(options.json);
    init.headers["Content-Type"] = "application/json";
    delete init.json;
  }
  const response = await fetch(path, init);
  if (response.status === 401) throw new LoginNeeded("log in first");
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  if (!response.ok) {
    let detail = body && body.detail !== undefined ? body.detail : text;
    if (Array.isArray(detail)) detail = detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
    throw new Error(`${detail} (HTTP ${response.status})`);
  }
  return body;
}

// el("td", {class: "num"}, "text", child, ...): an element with attributes and children.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
  return node;
}

// Seconds as 45s, 12m, 3.2h.
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "-";
  const s = Math.max(seconds, 0);
  if (s < 120) return `${s.toFixed(0)}s`;
  if (s < 7200) return `${(s / 60).toFixed(0)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}

export function number(value, digits = 1) {
  if (value === null || value === undefined || !isFinite(value)) return "-";
  return Number(value).toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

// A clock for one run: wall (epoch seconds, shown as local times) or virtual (seconds from
// the start, shown as h:mm:ss). Charts plot seconds since ``origin``.
export function makeClock(kind, origin = 0) {
  const pad = (n) => String(Math.floor(n)).padStart(2, "0");
  const elapsed = (s) => `${Math.floor(s / 3600)}:${pad((s % 3600) / 60)}:${pad(s % 60)}`;
  const clock = { origin, kind };
  clock.x = (t) => t - clock.origin;
  clock.now = (fallback) => (kind === "wall" ? Date.now() / 1000 : fallback);
  clock.tick = (v) => (kind === "wall" ? new Date((clock.origin + v) * 1000).toLocaleTimeString([], { hourCycle: "h23" }) : elapsed(Math.max(v, 0)));
  clock.at = (t) => {
    if (t === null || t === undefined) return "-";
    return kind === "wall" ? new Date(t * 1000).toLocaleString() : elapsed(Math.max(t, 0));
  };
  return clock;
}

// A tick step for a time axis spanning ``span`` seconds: whole seconds, minutes, hours, days.
const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
export function niceStep(span, target = 7) {
  for (const step of STEPS) if (span / step <= target) return step;
  return 86400 * Math.ceil(span / target / 86400);
}

// A time axis for Chart.js over [min, max] seconds since the clock's origin.
export function timeAxis(clock, min, max) {
  const span = Math.max((max ?? 1) - (min ?? 0), 1);
  const axis = { ticks: { callback: clock.tick, stepSize: niceStep(span), maxTicksLimit: 12, includeBounds: false } };
  if (min !== null) axis.min = min;
  if (max !== null) axis.max = max;
  return axis;
}

// A stable colour per job id.
export function colour(key, alpha = 1) {
  let h = 0;
  for (const ch of String(key)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `hsla(${(h * 137.508) % 360}, 62%, 48%, ${alpha})`;
}

export function stateBadge(job) {
  return el("span", {}, el("span", { class: `state ${job.state}` }, job.state), job.reason ? el("span", { class: "reason" }, job.reason) : null);
}

// local × replicas (× micro-steps when the job accumulates) = total, as `adaptsched jobs`
export function batchText(batch) {
  if (!batch) return "-";
  const steps = batch.accum_steps ? `×${batch.accum_steps + 1}` : "";
  return `${batch.local_bsz}×${batch.replicas ?? 1}${steps} = ${batch.total}`;
}

export function progressBar(share) {
  if (share === null || share === undefined) return "-";
  const pct = Math.round(100 * share);
  return el("span", { title: `${pct}%` }, el("span", { class: "bar" }, el("i", { style: `width:${pct}%` })), ` ${pct}%`);
}

export const ACTIVE = new Set(["pending", "starting", "running", "resizing", "stopping"]);
