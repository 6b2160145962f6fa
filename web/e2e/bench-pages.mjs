// The page-load bench (bench/web_pages.py): playwright-core driving Debian's chromium (headless,
// 1366x768) over a served platform of 10,000 trades. Signs in once per person (tokens stay in
// the tab's sessionStorage), then loads each page RUNS+1 times (the first a warm-up): the time
// of a load is from navigation start to the later of (a) the page's main content visible (its
// data-testid, with the drill-down's rows when it has one) and (b) the end of the last network
// answer (Resource Timing); network idle is awaited (bounded) but its 500 ms quiet period is
// not counted. The yardstick: GET /api/v1/health by fetch() in the same page. Prints one JSON
// line: {health_ms, pages: [{name, median_ms, p90_ms, runs, largest_bytes, slowest}]}.
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

async function load(page, path, ready) {
  await page.goto(`${BASE}${path}`, { waitUntil: "commit", timeout: STEP_MS });
  const visible = await page.waitForFunction(ready, null, { timeout: STEP_MS, polling: "raf" }).then(() => page.evaluate(() => performance.now()));
  await page.waitForLoadState("networkidle", { timeout: 15_000 }).catch(() => {});
  const net = await page.evaluate(() => {
    const entries = performance.getEntriesByType("resource");
    const last = entries.reduce((a, e) => (e.responseEnd > a.responseEnd ? e : a), { responseEnd: 0, name: "", transferSize: 0, duration: 0 });
    const api = entries.filter((e) => e.name.includes("/api/"));
    const largest = api.reduce((a, e) => Math.max(a, e.encodedBodySize || e.transferSize || 0), 0);
    const slowest = api.reduce((a, e) => (e.duration > a.duration ? e : a), { duration: 0, name: "" });
    return { end: last.responseEnd, largest, slowest: `${new URL(slowest.name || location.href).pathname} ${Math.round(slowest.duration)} ms` };
  });
  return { ms: Math.max(visible, net.end), largest: net.largest, slowest: net.slowest };
}

const ready = {
  // the KPI cards and the drill-down's first page of trades (rows, not the loading table)
  dashboard: () => Boolean(document.querySelector('[data-testid="kpis"]') && document.querySelector('[data-testid="drill"] .ant-table-tbody tr.ant-table-row')),
  network: () => Boolean(document.querySelector('[data-testid="network"] canvas')),
};

const browser = await chromium.launch({ executablePath: env("CHROMIUM"), headless: true, args: ["--no-sandbox"] });
const out = { pages: [] };
try {
  const regulator = await signedIn(browser, "regulator");
  const district = await signedIn(browser, "district");
  const pages = [
    ["supervision_all", regulator.page, "/supervision", ready.dashboard],
    ["supervision_scenario", regulator.page, "/supervision?scenario=manufacturing", ready.dashboard],
    ["supervision_platform", district.page, `/supervision?platform=${PLATFORM}`, ready.dashboard],
    ["network_all", regulator.page, "/supervision/network", ready.network],
    ["network_platform", district.page, `/supervision/network?platform=${PLATFORM}`, ready.network],
  ];
  for (const [name, page, path, check] of pages) {
    const runs = [];
    for (let i = 0; i <= RUNS; i++) runs.push(await load(page, path, check));
    const timed = runs.slice(1);
    const ms = timed.map((r) => r.ms);
    out.pages.push({ name, median_ms: Math.round(pct(ms, 0.5)), p90_ms: Math.round(pct(ms, 0.9)), runs: RUNS,
      largest_bytes: Math.max(...timed.map((r) => r.largest)), slowest: timed[timed.length - 1].slowest });
  }
  const health = [];
  for (let i = 0; i < 20; i++) {
    health.push(await regulator.page.evaluate(async () => {
      const t0 = performance.now();
      await (await fetch("/api/v1/health", { cache: "no-store" })).text();
      return performance.now() - t0;
    }));
  }
  out.health_ms = Math.round(pct(health.slice(5), 0.5) * 10) / 10;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
