// The page-load bench (bench/web_pages.py): playwright-core driving Debian's chromium (headless,
// 1366x768) over a served platform of 10,000 trades. Signs in once per person (PEOPLE: the
// supplier, the core enterprise, the bank, the operator, the regulator, the district; tokens stay
// in each tab's sessionStorage), then loads every page of the app (App.tsx's routes, for the role
// that uses each) RUNS+1 times, the first a warm-up. A navigation is timed from its start to the
// later of (a) rendered(): the page's main content there (its data-testid) and nothing in the
// content area or an open drawer still spinning, and (b) the end of the last network answer
// (Resource Timing); network idle is awaited (bounded) but its 500 ms quiet period is not counted.
// Two interactions on the dashboard are timed from the click the same way: a KPI's drill-down
// and a drill-down row's evidence drawer. Yardsticks in the same browser: GET /api/v1/health by
// fetch(), and the load of a page with no app (the health answer opened as a page). Prints one
// JSON line: {health_ms, blank_page_ms, pages: [{name, role, path, kind, median_ms, max_ms,
// p90_ms, runs, largest_bytes, slowest}]}.
import { createHmac } from "node:crypto";
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
// a page not rendered within this long is reported as failed (and the run goes on)
const PAGE_MS = Number(process.env.PAGE_MS ?? 30_000);

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

async function settle(page, since) {
  await page.waitForLoadState("networkidle", { timeout: 15_000 }).catch(() => {});
  return page.evaluate((t0) => {
    const entries = performance.getEntriesByType("resource").filter((e) => e.startTime >= t0);
    const end = entries.reduce((a, e) => Math.max(a, e.responseEnd), 0);
    const api = entries.filter((e) => e.name.includes("/api/"));
    const largest = api.reduce((a, e) => Math.max(a, e.encodedBodySize || e.transferSize || 0), 0);
    const slowest = api.reduce((a, e) => (e.duration > a.duration ? e : a), { duration: 0, name: "" });
    return { end, largest, slowestMs: slowest.duration, slowest: slowest.name ? `${new URL(slowest.name).pathname} ${Math.round(slowest.duration)} ms` : "" };
  }, since);
}

// One navigation: from its start (performance.now() = 0 in the new document) to the later of
// rendered() and the end of the last network answer.
async function load(page, path, selector) {
  await page.goto(`${BASE}${path}`, { waitUntil: "commit", timeout: STEP_MS });
  await page.waitForFunction(rendered, selector, { timeout: PAGE_MS, polling: "raf" });
  const visible = await page.evaluate(() => performance.now());
  const net = await settle(page, 0);
  return { ms: Math.max(visible, net.end), largest: net.largest, slowest: net.slowest, slowestMs: net.slowestMs };
}

// One interaction on a loaded page: from the click to the later of rendered() and the end of
// the last network answer it caused.
async function interact(page, path, before, click, selector) {
  await load(page, path, before);
  const t0 = await page.evaluate(() => performance.now());
  await click(page);
  await page.waitForFunction(rendered, selector, { timeout: PAGE_MS, polling: "raf" });
  const visible = await page.evaluate(() => performance.now());
  const net = await settle(page, t0);
  return { ms: Math.max(visible, net.end) - t0, largest: net.largest, slowest: net.slowest, slowestMs: net.slowestMs };
}

const dashboard = '[data-testid="drill"] .ant-table-tbody tr.ant-table-row';
const rows = (id) => `[data-testid="${id}"] .ant-table-tbody tr`;
const table = ".ant-table-tbody tr";

const browser = await chromium.launch({ executablePath: env("CHROMIUM"), headless: true, args: ["--no-sandbox"] });
const out = { pages: [] };
try {
  const who = {};
  for (const role of Object.keys(PEOPLE)) who[role] = (await signedIn(browser, role)).page;
  const supplier = PEOPLE.supplier;
  const kpis = '[data-testid="kpis"]';
  // [name, role, path, selector] (a navigation) or [name, role, path, selector, click, after] (an interaction)
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
    ["supervision_all", "regulator", "/supervision", dashboard],
    ["supervision_scenario", "regulator", "/supervision?scenario=manufacturing", dashboard],
    ["supervision_platform", "district", `/supervision?platform=${PLATFORM}`, dashboard],
    ["supervision_drill", "regulator", "/supervision", dashboard,
      (page) => page.locator(`${kpis} .ant-card button`).nth(3).click(), dashboard],
    ["supervision_evidence", "regulator", "/supervision", dashboard,
      (page) => page.locator(`${dashboard} button`).first().click(), '[data-testid="evidence"]'],
    ["network_all", "regulator", "/supervision/network", '[data-testid="network"] canvas'],
    ["network_platform", "district", `/supervision/network?platform=${PLATFORM}`, '[data-testid="network"] canvas'],
  ];
  const only = process.env.ONLY ? new Set(process.env.ONLY.split(",")) : null;
  for (const [name, role, path, selector, click, after] of pages) {
    if (only && !only.has(name)) continue;
    const page = who[role];
    const runs = [];
    try {
      for (let i = 0; i <= RUNS; i++) {
        runs.push(click ? await interact(page, path, selector, click, after) : await load(page, path, selector));
      }
    } catch (e) {
      // not rendered in time: said, with what the page shows, and the other pages still timed
      const shown = await page.evaluate(() => document.body.innerText.slice(0, 600)).catch(() => "");
      out.pages.push({ name, role, path, kind: click ? "interaction" : "navigation", error: `${String(e).split("\n")[0]}; the page shows: ${shown}` });
      console.error(`${name}: ${out.pages.at(-1).error}`);
      continue;
    }
    const timed = runs.slice(1);
    const ms = timed.map((r) => r.ms);
    out.pages.push({ name, role, path, kind: click ? "interaction" : "navigation",
      median_ms: Math.round(pct(ms, 0.5)), max_ms: Math.round(Math.max(...ms)), p90_ms: Math.round(pct(ms, 0.9)), runs: RUNS,
      largest_bytes: Math.max(...timed.map((r) => r.largest)), slowest: timed.reduce((a, r) => (r.slowestMs > a.slowestMs ? r : a)).slowest });
    console.error(`${name}: median ${out.pages.at(-1).median_ms} ms, max ${out.pages.at(-1).max_ms} ms`);
  }
  // the yardsticks: the health endpoint by fetch() in the page, and an empty page's load
  const health = [];
  for (let i = 0; i < 25; i++) {
    health.push(await who.regulator.evaluate(async () => {
      const t0 = performance.now();
      await (await fetch("/api/v1/health", { cache: "no-store" })).text();
      return performance.now() - t0;
    }));
  }
  out.health_ms = Math.round(pct(health.slice(5), 0.5) * 10) / 10;
  const blank = [];
  for (let i = 0; i <= RUNS; i++) {
    await who.regulator.goto(`${BASE}/api/v1/health`, { waitUntil: "load", timeout: STEP_MS });
    blank.push(await who.regulator.evaluate(() => performance.getEntriesByType("navigation")[0].loadEventEnd));
  }
  out.blank_page_ms = Math.round(pct(blank.slice(1), 0.5) * 10) / 10;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
