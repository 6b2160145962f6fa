// The page-load bench (bench/web_pages.py): playwright-core driving Debian's chromium (headless,
// 1366x768) over a served platform of 10,000 trades. Signs in once per person (PEOPLE: the
// supplier, the core enterprise, the bank, the operator, the regulator, the district; tokens stay
// in each tab's sessionStorage) and opens one tab signed in as no one (the visitor: the pages
// shown before signing in), then loads every page of the app (App.tsx's routes, for the role
// that uses each) RUNS+1 times, the first a warm-up. A navigation is timed from its start to the
// later of (a) rendered(): the page's main content there (its data-testid) and nothing in the
// content area or an open drawer still spinning, and (b) the end of the last network answer
// (Resource Timing), every request but the live notifications' stream answered and none for
// QUIET_MS (not counted). Two interactions on the dashboard are timed from the click the same way:
// a KPI's drill-down and a drill-down row's evidence drawer. The supervision pages are also
// loaded COLD_RUNS times right after a write to the tables they read (their cache cold): the
// script prints {"write": page} and waits for "written" on stdin (bench/web_pages.py writes).
// Yardsticks first, in the same browser: GET /api/v1/health by fetch(), and the load of a page
// with no app (the health answer opened as a page).
// Prints one JSON line as soon as each is known: {yardsticks: {health_ms, blank_page_ms}}, then
// per page {page: {name, role, path, kind, median_ms, max_ms, p90_ms, runs, largest_bytes,
// slowest[, cold_median_ms, cold_max_ms, cold_runs, cold_slowest]}} or {page: {name, role, path,
// kind, error}}: a page's first failure (not rendered within PAGE_MS, a request unanswered after
// SETTLE_MS) ends it, with what it shows. ONLY=name,name times those pages; no page is begun after
// TOTAL_MS. Progress on stderr.
import { createHmac } from "node:crypto";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`bench-pages: set ${name}`);
  return v;
};
const BASE = env("BASE_URL");
const PEOPLE = JSON.parse(env("PEOPLE"));
const PASSWORD = env("PASSWORD");
const PLATFORM = env("PLATFORM_ID");
const RUNS = Number(process.env.RUNS ?? 5);
const STEP_MS = 60_000;
// a page not rendered within this long is reported as failed at once (and the next page timed)
const PAGE_MS = Number(process.env.PAGE_MS ?? 15_000);
// the whole run's bound: the pages not begun by then are reported as not timed
const TOTAL_MS = Number(process.env.TOTAL_MS ?? 20 * 60_000);
// loads after a write (the supervision views' cache cold), for the supervision pages
const COLD_RUNS = Number(process.env.COLD_RUNS ?? 3);

function totp(secret, at = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const off = mac[mac.length - 1] & 0xf;
  const n = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  return String(n % 1_000_000).padStart(6, "0");
}

async function signedIn(browser, who) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: "zh-CN" });
  const page = await context.newPage();
  await page.goto(BASE, { timeout: STEP_MS });
  const person = PEOPLE[who];
  await page.getByLabel(/电子邮箱|E-mail/).fill(person.email, { timeout: STEP_MS });
  await page.getByLabel(/^(密码|Password)$/).fill(PASSWORD);
  if (person.totp_secret) await page.getByLabel(/动态验证码|One-time code/).fill(totp(person.totp_secret));
  await page.getByRole("button", { name: /登\s*录|Sign in/ }).click();
  await page.getByTestId("whoami").waitFor({ timeout: STEP_MS });
  return { context, page };
}

const pct = (values, q) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

// Rendered with its data: the page's main content (its data-testid when it has one) is there and
// nothing in the content area still spins (antd's Spin and Table loading, Skeleton).
function rendered(selector) {
  const main = document.querySelector("main.ant-layout-content") ?? document.body;
  if (main.querySelector(".ant-spin-spinning, .ant-skeleton-active")) return false;
  for (const drawer of document.querySelectorAll(".ant-drawer-open")) if (drawer.querySelector(".ant-spin-spinning")) return false;
  if (selector) return Boolean(document.querySelector(selector));
  return main.innerText.trim().length > 0;
}

// The live notifications' stream (server-sent events, open as long as a page is) is not waited for.
const LIVE = "/api/v1/events/stream";
const QUIET_MS = 300;
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 10_000);
const inflight = new Map(); // page -> Set of requests not answered yet (the stream aside)

// Where a load's time goes, beside its total: the main thread's long tasks (over 50 ms: parsing,
// running and rendering; the browser's Long Tasks API) summed from the navigation's start.
const LONG_TASKS = () => {
  window.__longTasksMs = 0;
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasksMs += e.duration;
    }).observe({ type: "longtask", buffered: true });
  } catch {
    window.__longTasksMs = null; // not offered by this browser
  }
};

async function track(page) {
  await page.addInitScript(LONG_TASKS);
  const open = new Set();
  inflight.set(page, open);
  page.on("request", (r) => { if (!r.url().includes(LIVE)) open.add(r); });
  const done = (r) => open.delete(r);
  page.on("requestfinished", done);
  page.on("requestfailed", done);
  return page;
}

// Every request answered (the stream aside) and none for QUIET_MS, within SETTLE_MS; then the
// end of the last answer since `since` (Resource Timing), the largest API answer, the slowest.
async function settle(page, since) {
  const open = inflight.get(page);
  const deadline = Date.now() + SETTLE_MS;
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    if (open.size > 0) quietSince = Date.now();
    else if (Date.now() - quietSince >= QUIET_MS) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const pending = [...open].map((r) => new URL(r.url()).pathname);
  const net = await page.evaluate(([t0, live]) => {
    const entries = performance.getEntriesByType("resource").filter((e) => e.startTime >= t0 && !e.name.includes(live));
    const end = entries.reduce((a, e) => Math.max(a, e.responseEnd), 0);
    const api = entries.filter((e) => e.name.includes("/api/"));
    const apiEnd = api.reduce((a, e) => Math.max(a, e.responseEnd), 0) - t0;
    const largest = api.reduce((a, e) => Math.max(a, e.encodedBodySize || e.transferSize || 0), 0);
    const slowest = api.reduce((a, e) => (e.duration > a.duration ? e : a), { duration: 0, name: "" });
    // the file whose answer ended last (a page's chunk, a font, an API answer): what the load waited for
    const last = entries.reduce((a, e) => (e.responseEnd > a.responseEnd ? e : a), { responseEnd: 0, name: "" });
    const lastFile = last.name ? `${new URL(last.name).pathname.replace(/-[\w-]{8}(\.\w+)$/, "$1")} ends ${Math.round(last.responseEnd - t0)} ms` : "";
    return { end, apiEnd: Math.max(0, apiEnd), longTasks: window.__longTasksMs ?? null, largest, lastFile, slowestMs: slowest.duration, slowest: slowest.name ? `${new URL(slowest.name).pathname} ${Math.round(slowest.duration)} ms` : "" };
  }, [since, LIVE]);
  if (pending.length) throw new Error(`requests still unanswered after ${SETTLE_MS} ms: ${pending.join(", ")}`);
  return net;
}

// One navigation: from its start (performance.now() = 0 in the new document) to the later of
// rendered() and the end of the last network answer.
async function load(page, path, selector) {
  await page.goto(`${BASE}${path}`, { waitUntil: "commit", timeout: PAGE_MS });
  await page.waitForFunction(rendered, selector, { timeout: PAGE_MS, polling: "raf" });
  const visible = await page.evaluate(() => performance.now());
  const net = await settle(page, 0);
  return { ms: Math.max(visible, net.end), visible, apiEnd: net.apiEnd, longTasks: net.longTasks,
    largest: net.largest, lastFile: net.lastFile, slowest: net.slowest, slowestMs: net.slowestMs };
}

// One more load under the browser's CPU profiler (PROFILE_DIR, bench/web_pages.py PROFILE): the
// profile written as <name>.cpuprofile, and its samples' self time by script and by function
// (the top ones) on stderr.
async function profile(page, name, path, selector) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
  await cdp.send("Profiler.start");
  await load(page, path, selector);
  const { profile: prof } = await cdp.send("Profiler.stop");
  await cdp.detach();
  const { writeFileSync, mkdirSync } = await import("node:fs");
  mkdirSync(process.env.PROFILE_DIR, { recursive: true });
  writeFileSync(`${process.env.PROFILE_DIR}/${name}.cpuprofile`, JSON.stringify(prof));
  const self = new Map(prof.nodes.map((n) => [n.id, 0]));
  const deltas = prof.timeDeltas;
  prof.samples.forEach((id, i) => self.set(id, self.get(id) + (deltas[i + 1] ?? 0) / 1000));
  const byScript = new Map();
  const byFunction = new Map();
  for (const n of prof.nodes) {
    const ms = self.get(n.id);
    const file = n.callFrame.url ? new URL(n.callFrame.url, BASE).pathname.replace(/-[\w-]{8}\.js$/, ".js") : `(${n.callFrame.functionName || "program"})`;
    byScript.set(file, (byScript.get(file) ?? 0) + ms);
    const fn = `${n.callFrame.functionName || "(anonymous)"} ${file}:${n.callFrame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms);
  }
  // Ant Design styles still made in the page (not in the stylesheet made at build time)
  const made = await page.evaluate(() =>
    [...document.querySelectorAll("style[data-css-hash]")].map((e) => e.textContent.slice(0, 60)));
  console.error(`${name} profile: ${made.length} Ant Design styles made in the page${made.length ? `: ${made.join(" | ")}` : ""}`);
  const top = (m, k) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([x, ms]) => `${Math.round(ms)} ms ${x}`);
  console.error(`${name} profile: by script: ${top(byScript, 10).join("; ")}`);
  console.error(`${name} profile: by function: ${top(byFunction, 15).join("; ")}`);
}

// One interaction on a loaded page: from the click to the later of rendered() and the end of
// the last network answer it caused (`between`: run after the page is loaded, before the click).
async function interact(page, path, before, click, selector, between) {
  await load(page, path, before);
  if (between) await between();
  const t0 = await page.evaluate(() => performance.now());
  await click(page);
  await page.waitForFunction(rendered, selector, { timeout: PAGE_MS, polling: "raf" });
  const visible = await page.evaluate(() => performance.now());
  const net = await settle(page, t0);
  return { ms: Math.max(visible, net.end) - t0, visible: visible - t0, apiEnd: net.apiEnd, longTasks: null,
    largest: net.largest, lastFile: net.lastFile, slowest: net.slowest, slowestMs: net.slowestMs };
}

// A write to the tables the supervision views read (a new change mark: their cache is cold),
// done by bench/web_pages.py when it reads {"write": ...} here; it answers one line on stdin.
const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function write(name) {
  console.log(JSON.stringify({ write: name }));
  const answer = await stdinLines.next();
  if (answer.done || answer.value.trim() !== "written") throw new Error(`bench-pages: the write before ${name} failed: ${answer.value}`);
}

const dashboard = '[data-testid="drill"] .ant-table-tbody tr.ant-table-row';
const rows = (id) => `[data-testid="${id}"] .ant-table-tbody tr`;
const table = ".ant-table-tbody tr";
const started = Date.now();
const emit = (what) => console.log(JSON.stringify(what));
const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;

const browser = await chromium.launch({ executablePath: env("CHROMIUM"), headless: true, args: ["--no-sandbox"] });
try {
  const who = {};
  for (const role of Object.keys(PEOPLE)) who[role] = await track((await signedIn(browser, role)).page);
  // the pages before signing in (an invitation's acceptance), in a context of their own
  const visitor = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: "zh-CN" });
  who.visitor = await track(await visitor.newPage());
  console.error(`signed in as ${Object.keys(PEOPLE).join(", ")} (${elapsed()})`);
  // the yardsticks: the health endpoint by fetch() in the page, and an empty page's load
  const health = [];
  for (let i = 0; i < 25; i++) {
    health.push(await who.regulator.evaluate(async () => {
      const t0 = performance.now();
      await (await fetch("/api/v1/health", { cache: "no-store" })).text();
      return performance.now() - t0;
    }));
  }
  const blank = [];
  for (let i = 0; i <= RUNS; i++) {
    await who.regulator.goto(`${BASE}/api/v1/health`, { waitUntil: "load", timeout: STEP_MS });
    blank.push(await who.regulator.evaluate(() => performance.getEntriesByType("navigation")[0].loadEventEnd));
  }
  emit({ yardsticks: { health_ms: Math.round(pct(health.slice(5), 0.5) * 10) / 10, blank_page_ms: Math.round(pct(blank.slice(1), 0.5) * 10) / 10 } });
  const supplier = PEOPLE.supplier;
  const kpis = '[data-testid="kpis"]';
  // [name, role, path, selector, cold] (a navigation) or [..., click, after] (an interaction);
  // cold: the supervision views' cache, also timed after a write
  const pages = [
    ["home", "supplier", "/", null],
    ["upload", "supplier", "/upload", '[data-testid="dropzone"]'],
    ["trade_list", "supplier", "/trade", rows("my-trades")],
    ["trade_evidence", "supplier", `/trade?trade=${supplier.trade_id}`, '[data-testid="trade-flows"]'],
    ["position", "supplier", "/position", '[data-testid="position-holds"]'],
    ["position_item", "supplier", `/position?item=${supplier.item_id}`, '[data-testid="item-view"]'],
    ["financings", "supplier", "/financing", '[data-testid="financings"]'],
    ["users", "supplier", "/users", table],
    ["api_keys", "supplier", "/api-keys", ".ant-table"],
    ["webhooks", "supplier", "/webhooks", '[data-testid="webhooks"]'],
    ["payables", "core", "/payables", '[data-testid="payables"]'],
    ["consents", "core", "/consents", '[data-testid="consents"]'],
    ["bank_queue", "bank", "/bank/queue", '[data-testid="review-queue"]'],
    ["bank_portfolio", "bank", "/bank/portfolio", '[data-testid="exposure-by-scenario"]'],
    ["bank_policy", "bank", "/bank/policy", null],
    ["bank_models", "bank", "/bank/models", '[data-testid="model-registry"]'],
    ["admissions", "operator", "/admissions", ".ant-table"],
    ["disputes", "operator", "/disputes", '[data-testid="disputes"]'],
    ["platform_admissions", "district", "/platform-admissions", ".ant-table-tbody"],
    ["invitation", "visitor", "/invitation", "input#invitation"],
    ["supervision_all", "regulator", "/supervision", dashboard, true],
    ["supervision_scenario", "regulator", "/supervision?scenario=manufacturing", dashboard, true],
    ["supervision_platform", "district", `/supervision?platform=${PLATFORM}`, dashboard, true],
    ["supervision_drill", "regulator", "/supervision", dashboard, true,
      (page) => page.locator(`${kpis} .ant-card button`).nth(3).click(), dashboard],
    ["supervision_evidence", "regulator", "/supervision", dashboard, true,
      (page) => page.locator(`${dashboard} button`).first().click(), '[data-testid="evidence"]'],
    ["network_all", "regulator", "/supervision/network", '[data-testid="network"] canvas', true],
    ["network_platform", "district", `/supervision/network?platform=${PLATFORM}`, '[data-testid="network"] canvas', true],
  ];
  const only = process.env.ONLY ? new Set(process.env.ONLY.split(",").map((x) => x.trim()).filter(Boolean)) : null;
  const unknown = only ? [...only].filter((n) => !pages.some((p) => p[0] === n)) : [];
  if (unknown.length) throw new Error(`bench-pages: ONLY names no page ${unknown.join(", ")}; pages: ${pages.map((p) => p[0]).join(", ")}`);
  for (const [name, role, path, selector, cold, click, after] of pages) {
    if (only && !only.has(name)) continue;
    const kind = click ? "interaction" : "navigation";
    const base = { name, role, path, kind };
    if (Date.now() - started > TOTAL_MS) {
      emit({ page: { ...base, error: `not timed: the run's time bound (${TOTAL_MS} ms) was reached` } });
      console.error(`${name}: not timed (time bound)`);
      continue;
    }
    const page = who[role];
    const once = (between) => (click ? interact(page, path, selector, click, after, between) : load(page, path, selector));
    const runs = [];
    const colds = [];
    try {
      for (let i = 0; i <= RUNS; i++) runs.push(await once());
      if (cold) {
        for (let i = 0; i < COLD_RUNS; i++) {
          if (click) colds.push(await once(() => write(name)));
          else {
            await write(name);
            colds.push(await once());
          }
        }
      }
    } catch (e) {
      // the first failure ends the page: said, with what the page shows, and the next page timed
      const shown = await page.evaluate(() => document.body.innerText.replace(/\s+/g, " ").slice(0, 600)).catch(() => "");
      const error = `${String(e).split("\n")[0]}; after ${runs.length + colds.length} loads; the page shows: ${shown}`;
      emit({ page: { ...base, error } });
      console.error(`${name}: FAILED ${error} (${elapsed()})`);
      continue;
    }
    const timed = runs.slice(1);
    const ms = timed.map((r) => r.ms);
    const found = { ...base,
      median_ms: Math.round(pct(ms, 0.5)), max_ms: Math.round(Math.max(...ms)), p90_ms: Math.round(pct(ms, 0.9)), runs: RUNS,
      largest_bytes: Math.max(...timed.map((r) => r.largest)), slowest: timed.reduce((a, r) => (r.slowestMs > a.slowestMs ? r : a)).slowest,
      // the medians of where it went: content visible, the last API answer's end, long tasks
      visible_median_ms: Math.round(pct(timed.map((r) => r.visible), 0.5)),
      api_end_median_ms: Math.round(pct(timed.map((r) => r.apiEnd), 0.5)),
      long_tasks_median_ms: timed.every((r) => typeof r.longTasks === "number") ? Math.round(pct(timed.map((r) => r.longTasks), 0.5)) : null,
      // the median load's last file to arrive (its end from the navigation's or the click's start)
      last_file: [...timed].sort((a, b) => a.ms - b.ms)[Math.floor(timed.length / 2)].lastFile };
    if (colds.length) {
      const c = colds.map((r) => r.ms);
      Object.assign(found, { cold_median_ms: Math.round(pct(c, 0.5)), cold_max_ms: Math.round(Math.max(...c)), cold_runs: c.length,
        cold_slowest: colds.reduce((a, r) => (r.slowestMs > a.slowestMs ? r : a)).slowest });
    }
    if (process.env.PROFILE_DIR && !click) await profile(page, name, path, selector);
    emit({ page: found });
    console.error(`${name}: median ${found.median_ms} ms, p90 ${found.p90_ms} ms, max ${found.max_ms} ms` +
      (colds.length ? `; after a write: median ${found.cold_median_ms} ms, max ${found.cold_max_ms} ms` : "") +
      `; slowest ${found.slowest} (${elapsed()})`);
  }
} finally {
  await browser.close();
}
process.exit(0);
