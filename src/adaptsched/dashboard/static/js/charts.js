// Chart.js wrappers: line charts over time, an x-y curve, and the allocation timeline (one
// horizontal floating bar per generation and GPU slot). Charts are created once per page and
// updated in place on every refresh (no animation), so a live page does not flicker.
/* global Chart */
import { colour, el, timeAxis } from "./util.js";

const BASE = {
  animation: false,
  responsive: true,
  maintainAspectRatio: false,
  parsing: false,
  normalized: true,
  interaction: { mode: "nearest", intersect: false },
  plugins: { legend: { labels: { boxWidth: 12 } } },
};

export class ChartSet {
  constructor() { this.charts = new Map(); }
  destroy() { for (const chart of this.charts.values()) chart.destroy(); this.charts.clear(); }
  get(name) { return this.charts.get(name); }

  // A titled card with a canvas, for ``parent``.
  card(parent, name, title, note) {
    const canvas = el("canvas", { "data-chart": name });
    parent.append(el("div", { class: "chart" }, el("h3", {}, title), note ? el("p", { class: "muted small" }, note) : null, el("div", { class: "box" }, canvas)));
    return canvas;
  }

  // series: [{label, points: [{x, y}], stepped?, dashed?, fill?, colour?, axis?, showLine?}]
  lines(name, canvas, series, axes) {
    const datasets = series.map((s, i) => ({
      label: s.label,
      data: s.points,
      borderColor: s.colour || colour(s.label + i),
      backgroundColor: s.fillColour || s.colour || colour(s.label + i, 0.15),
      stepped: s.stepped ? "before" : false,
      borderDash: s.dashed ? [5, 4] : [],
      fill: s.fill ?? false,
      pointRadius: s.showLine === false ? 3 : 0,
      showLine: s.showLine !== false,
      borderWidth: 1.8,
      yAxisID: s.axis || "y",
      spanGaps: true,
    }));
    let chart = this.charts.get(name);
    if (chart) {
      chart.data.datasets.forEach((d, i) => { if (datasets[i]) d.data = datasets[i].data; });
      if (axes && axes.x) Object.assign(chart.options.scales.x, axes.x);
      chart.update("none");
      return chart;
    }
    const scales = {
      x: { type: "linear", ticks: { maxTicksLimit: 8 }, ...(axes && axes.x) },
      y: { type: "linear", beginAtZero: true, ...(axes && axes.y) },
    };
    if (axes && axes.y2) scales.y2 = { type: "linear", position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ...axes.y2 };
    chart = new Chart(canvas, { type: "line", data: { datasets }, options: { ...BASE, scales } });
    this.charts.set(name, chart);
    return chart;
  }

  // The allocation timeline. lanes: ["node-1 / gpu 0", ...]; bars: [{lane, job, x0, x1, ...}].
  timeline(name, canvas, lanes, bars, clock, end) {
    const byJob = new Map();
    for (const bar of bars) {
      if (!byJob.has(bar.job_id)) byJob.set(bar.job_id, []);
      byJob.get(bar.job_id).push({ x: [clock.x(bar.start_s), clock.x(bar.end_s)], y: lanes[bar.lane], bar });
    }
    const datasets = [...byJob.entries()].map(([job, data]) => ({
      label: job,
      data,
      backgroundColor: colour(job, 0.75),
      borderColor: colour(job),
      borderWidth: 1,
      borderSkipped: false,
      grouped: false,
      barPercentage: 0.82,
      categoryPercentage: 1.0,
      minBarLength: 2,
    }));
    canvas.parentElement.style.height = `${Math.max(lanes.length * 26 + 90, 160)}px`;
    const old = this.charts.get(name);
    if (old) old.destroy();
    const chart = new Chart(canvas, {
      type: "bar",
      data: { labels: lanes, datasets },
      options: {
        ...BASE,
        parsing: true,
        indexAxis: "y",
        interaction: { mode: "nearest", intersect: true },
        scales: {
          x: { type: "linear", ...timeAxis(clock, 0, Math.max(end, 1)) },
          y: { type: "category", labels: lanes },
        },
        plugins: {
          legend: { display: datasets.length <= 24, position: "bottom", labels: { boxWidth: 12 } },
          tooltip: {
            callbacks: {
              title: (items) => items[0].raw.bar.job_id,
              label: (item) => {
                const b = item.raw.bar;
                const end = b.running ? "running" : `ended ${clock.at(b.end_s)}${b.exit_code !== null ? ` (exit ${b.exit_code})` : ""}`;
                return `generation ${b.generation} on ${b.node} gpu ${b.slot}: ${clock.at(b.start_s)}, ${end}`;
              },
            },
          },
        },
      },
    });
    this.charts.set(name, chart);
    return chart;
  }
}
