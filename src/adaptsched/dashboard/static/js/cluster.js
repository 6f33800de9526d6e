// The cluster: nodes alive over time next to the count the policy wanted, cluster utility
// with the autoscaler's band, GPUs in use, the policy's time per round, and every node's
// lifetime with its node-hours.
import { ChartSet } from "./charts.js";
import { api, clear, el, makeClock, number, timeAxis } from "./util.js";

export function clusterPage(view, info) {
  const charts = new ChartSet();
  const clock = makeClock(info.clock, 0);
  const grid = el("div", { class: "charts" });
  const canvases = {
    nodes: charts.card(grid, "nodes", "Nodes", "alive, and how many the policy wanted (autoscaling)"),
    utility: charts.card(grid, "utility", "Cluster utility", "sum of the jobs' speedups over the GPUs; the band is where the autoscaler keeps it"),
    gpus: charts.card(grid, "gpus", "GPUs", "allocated by the policy, and in the cluster"),
    latency: charts.card(grid, "latency", "Policy time per round (ms)"),
  };
  const totals = el("p");
  const table = el("div");
  clear(view, el("h2", {}, "Cluster over time"), grid, el("h2", {}, "Node lifetimes"), totals, table);

  const refresh = async () => {
    const data = await api("cluster/history");
    const rounds = data.rounds;
    const first = [rounds.length ? rounds[0].time_s : data.now_s, ...data.nodes.map((n) => n.joined_s)];
    clock.origin = info.clock === "wall" ? Math.min(...first) : 0;
    const x = timeAxis(clock, 0, clock.x(data.now_s));
    const pts = (key, scale = 1) => rounds.filter((r) => r[key] !== null && r[key] !== undefined).map((r) => ({ x: clock.x(r.time_s), y: r[key] * scale }));
    const ends = [rounds.length ? clock.x(rounds[0].time_s) : 0, clock.x(data.now_s)];
    const flat = (v) => ends.map((e) => ({ x: e, y: v }));
    charts.lines("nodes", canvases.nodes, [
      { label: "nodes alive", points: data.node_counts.map(([t, c]) => ({ x: clock.x(t), y: c })), stepped: true, colour: "#2e5aac" },
      { label: "desired (autoscaling)", points: pts("desired_nodes"), stepped: true, dashed: true, colour: "#b54708" },
    ], { x, y: { ticks: { precision: 0 } } });
    const [low, high] = data.band;
    charts.lines("utility", canvases.utility, [
      { label: "utility", points: pts("utility"), colour: "#2e5aac" },
      { label: `band low ${low}`, points: flat(low), dashed: true, colour: "#98a2b3" },
      { label: `band high ${high}`, points: flat(high), dashed: true, colour: "#98a2b3", fill: "-1", fillColour: "rgba(152,162,179,0.15)" },
    ], { x });
    charts.lines("gpus", canvases.gpus, [
      { label: "allocated", points: pts("gpus_in_use"), stepped: true, fill: true, colour: "#067647", fillColour: "rgba(6,118,71,0.12)" },
      { label: "total", points: pts("total_gpus"), stepped: true, dashed: true, colour: "#667085" },
    ], { x, y: { ticks: { precision: 0 } } });
    charts.lines("latency", canvases.latency, [{ label: "policy ms", points: pts("policy_s", 1000), showLine: true, colour: "#7a5af8" }], { x });
    const hours = data.nodes.reduce((sum, n) => sum + (n.node_hours || 0), 0);
    totals.textContent = `${data.nodes.length} node lifetimes, ${number(hours, 4)} node-hours${data.autoscale ? " (autoscaled)" : ""}`;
    clear(table, el("table", { class: "grid", id: "nodes" },
      el("thead", {}, el("tr", {}, ["node", "GPU slots", "joined", "left", "node-hours"].map((h) => el("th", {}, h)))),
      el("tbody", {}, data.nodes.map((n) => el("tr", {}, [n.id, String(n.slots), clock.at(n.joined_s), n.left_s === null ? "alive" : clock.at(n.left_s), number(n.node_hours, 4)].map((c) => el("td", {}, c)))))));
  };
  return { refresh, destroy: () => charts.destroy(), every_ms: 5000 };
}
