// The allocation timeline: which job held which GPU slot of which node, over time (one bar per
// generation and slot, a colour per job), and what each slot holds now.
import { ChartSet } from "./charts.js";
import { api, clear, el, makeClock } from "./util.js";

export function timelinePage(view, info) {
  const charts = new ChartSet();
  const clock = makeClock(info.clock, 0);
  const box = el("div", { class: "chart timeline" });
  const canvas = el("canvas", { "data-chart": "timeline", "aria-label": "allocation timeline" });
  box.append(el("h3", {}, "Which job held which GPU"), el("p", { class: "muted small" }, "a row per GPU slot of a node, a bar per generation of a job; hover for details"), el("div", { class: "box" }, canvas));
  const now = el("div");
  clear(view, el("h2", {}, "Allocation timeline"), box, el("h2", {}, info.live ? "Held now" : "Held at the end"), now);

  const refresh = async () => {
    const data = await api("timeline");
    const lanes = data.lanes.map((l) => `${l.node} / gpu ${l.slot}`);
    const starts = data.bars.map((b) => b.start_s);
    clock.origin = info.clock === "wall" ? (starts.length ? Math.min(...starts) : data.now_s - 60) : 0;
    charts.timeline("timeline", canvas, lanes, data.bars, clock, clock.x(data.now_s));
    const running = data.bars.filter((b) => b.running);
    clear(now, running.length
      ? el("table", { class: "grid", id: "held" }, el("thead", {}, el("tr", {}, ["GPU", "job", "generation", "since"].map((h) => el("th", {}, h)))),
        el("tbody", {}, running.map((b) => el("tr", { "data-job": b.job_id }, [lanes[b.lane], el("a", { href: `#/job/${encodeURIComponent(b.job_id)}` }, b.job_id), String(b.generation), clock.at(b.start_s)].map((c) => el("td", {}, c))))))
      : el("p", { class: "muted" }, "No GPU is held."));
  };
  return { refresh, destroy: () => charts.destroy(), every_ms: 3000 };
}
