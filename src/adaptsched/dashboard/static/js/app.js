// The dashboard's router: one page at a time (#/, #/timeline, #/cluster, #/job/ID), each
// drawn once and refreshed in place while the run is live (a controller); a simulation's
// output is drawn once.
import { api, clear, el, LoginNeeded } from "./util.js";
import { jobsPage } from "./jobs.js";
import { jobPage } from "./job.js";
import { timelinePage } from "./timeline.js";
import { clusterPage } from "./cluster.js";

const PAGES = { jobs: jobsPage, job: jobPage, timeline: timelinePage, cluster: clusterPage };
const view = document.getElementById("view");
const status = document.getElementById("status");
let current = null; // {page, timer}
let info = null;

function route() {
  const parts = (location.hash.replace(/^#\/?/, "") || "jobs").split("/");
  const name = PAGES[parts[0]] ? parts[0] : "jobs";
  return { name, arg: parts.slice(1).map(decodeURIComponent).join("/") };
}

function showLogin() {
  clear(view, el("p", {}, "This dashboard needs its token. ", el("a", { href: location.pathname }, "Log in"), "."));
}

async function show() {
  if (current) { clearTimeout(current.timer); current.page.destroy(); current = null; }
  const { name, arg } = route();
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.page === (name === "job" ? "jobs" : name));
  clear(view, el("p", { class: "muted" }, "Loading…"));
  const page = PAGES[name](view, info, arg);
  current = { page, timer: null };
  const mine = current;
  const tick = async () => {
    try {
      await page.refresh();
      status.textContent = info.live ? `updated ${new Date().toLocaleTimeString()}` : "simulated run (not live)";
      status.classList.remove("error");
    } catch (err) {
      if (err instanceof LoginNeeded) { showLogin(); return; }
      status.textContent = `cannot update: ${err.message}`;
      status.classList.add("error");
    }
    if (info.live && current === mine) mine.timer = setTimeout(tick, page.every_ms || 2500);
  };
  await tick();
}

async function start() {
  try {
    info = await api("dashboard.json");
  } catch (err) {
    if (err instanceof LoginNeeded) { showLogin(); return; }
    clear(view, el("p", { class: "error" }, `cannot reach the server: ${err.message}`));
    return;
  }
  document.getElementById("title").textContent = info.title;
  document.title = `adaptsched: ${info.title}`;
  window.addEventListener("hashchange", show);
  await show();
}

start();
