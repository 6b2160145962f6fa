// Helpers shared by the browser scripts (six-users.mjs, the docs' screenshots): playwright-core
// driving Debian's chromium, axe-core on every page, screenshots, TOTP, sign-in, dropping files.
// Every wait is bounded (STEP_MS a step); nothing sleeps a fixed time.
import { createHmac } from "node:crypto";
import { readFileSync, mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`e2e: set ${name}`);
  return v;
};
export const STEP_MS = Number(process.env.STEP_MS ?? 60_000);
export const DESKTOP = { width: 1366, height: 768 };
export const PHONE = { width: 390, height: 844 };

/** RFC 6238 code of a base32 secret now (SHA-1, 6 digits, 30 s). */
export function totp(secret, at = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "").toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`totp: ${c} is not base32`);
    bits += v.toString(2).padStart(5, "0");
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const off = mac[mac.length - 1] & 0xf;
  const n = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  return String(n % 1_000_000).padStart(6, "0");
}

/** A run: its browser, its report (pages audited, violations, CSP breaks, endless animations)
 * and the directory its screenshots go to. */
export async function startRun(out) {
  mkdirSync(out, { recursive: true });
  const browser = await chromium.launch({ executablePath: env("CHROMIUM"), headless: true, timeout: STEP_MS, args: ["--no-sandbox"] });
  const report = { pages: [], violations: [], csp: [], endless: [], phone: [] };
  return { browser, report, out };
}

function watch(run, page, who) {
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) run.report.csp.push(`${who}: ${m.text()}`);
  });
  page.on("pageerror", (e) => run.report.csp.push(`${who}: page error: ${e.message}`));
}

/** A new browser context (one person), Chinese by default as a browser in China has it. */
export async function newPerson(run, who) {
  const context = await run.browser.newContext({ viewport: DESKTOP, locale: "zh-CN" });
  context.fourflowWho = who;
  const page = await context.newPage();
  watch(run, page, who);
  return { who, context, page };
}

/** Until data is loaded (no spinner) and Ant Design's finite motions have ended; an endless
 * animation is named in the report instead of waited for. */
export async function settled(run, page, name) {
  // (a hidden dialog may keep a loading button: only what is shown counts)
  await page.waitForFunction(
    () => ![...document.querySelectorAll(".ant-spin-spinning, .ant-btn-loading")].some((e) => e.getClientRects().length > 0),
    null,
    { timeout: STEP_MS },
  );
  await page.waitForFunction(
    () => document.getAnimations().every((a) => a.playState !== "running" || a.effect?.getComputedTiming().iterations === Infinity),
    null,
    { timeout: STEP_MS },
  );
  const endless = await page.evaluate(() =>
    document.getAnimations().filter((a) => a.playState === "running").map((a) => `${a.animationName ?? a.constructor.name} on ${a.effect?.target?.className ?? "?"}`),
  );
  if (endless.length) run.report.endless.push({ page: name, endless: endless.slice(0, 5) });
}

/** Mount every part a page builds only once it is in view (components/Deferred.tsx: charts and
 * tables below the fold): each placeholder scrolled into view and waited for until it is
 * replaced, then back to the top. So axe checks, and the screenshot shows, the whole page. */
async function mountDeferred(page) {
  for (let i = 0; i < 40; i++) {
    const box = await page.$("[data-deferred]");
    if (!box) break;
    // (it may be replaced while this runs: already near the view, it mounts by itself)
    await box.evaluate((el) => el.scrollIntoView({ block: "center" }));
    await page.waitForFunction((el) => !el.isConnected, box, { timeout: STEP_MS });
  }
  await page.evaluate(() => {
    window.scrollTo(0, 0);
    for (const el of document.querySelectorAll(".ant-drawer-body")) el.scrollTop = 0;
  });
}

/** axe-core on the page as it is now, its deferred parts mounted (serious and critical
 * violations kept), and a full-page screenshot `name`.png. */
export async function audit(run, page, name) {
  await settled(run, page, name);
  await mountDeferred(page);
  await settled(run, page, name);
  await page.evaluate(`${AXE}\n;0`);
  const found = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => `${n.target.join(" ")} ${n.html.slice(0, 160)}`) }));
  });
  const bad = found.filter((v) => v.impact === "serious" || v.impact === "critical");
  run.report.pages.push({ name, url: page.url(), violations: found.length, serious: bad.length });
  for (const v of bad) run.report.violations.push({ page: name, ...v });
  await page.screenshot({ path: join(run.out, `${name}.png`), fullPage: true });
}

/** The page at a phone's 390x844: audited, and its body must not scroll sideways (checked at
 * the end of the run, so that one run names every page that does, with its widest elements). */
export async function onPhone(run, page, name, ready) {
  await page.setViewportSize(PHONE);
  await page.reload({ timeout: STEP_MS });
  await ready();
  await audit(run, page, name);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  // the culprits: elements past the right edge none of whose children is (tables scroll inside)
  const wide = overflow > 4 ? await page.evaluate(() => {
    const past = (e) => e.getBoundingClientRect().right > window.innerWidth + 4 && !e.closest(".ant-table-content, .ant-table-body");
    return [...document.querySelectorAll("body *")].filter((e) => past(e) && ![...e.children].some(past)).slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}.${String(e.className).split(" ").slice(0, 2).join(".")} ${Math.round(e.getBoundingClientRect().left)}..${Math.round(e.getBoundingClientRect().right)} "${(e.textContent ?? "").slice(0, 40)}"`);
  }) : [];
  run.report.phone.push({ page: name, overflow, wide });
  await page.setViewportSize(DESKTOP);
}

/** The toast (Ant Design's message) whose text matches `text`, the newest if several do: never
 * a table cell, a dialog's title or an alert that shows the same words (a bare getByText
 * can match those too: a strict-mode failure, or a wait that ends on the wrong element). */
export function toast(page, text) {
  return page.locator(".ant-message-notice").filter({ hasText: text }).last();
}

/** Switch the page's language to `locale` ("zh" or "en") with the header's switch. */
export async function language(page, locale) {
  const want = locale === "en" ? "en" : "zh-CN";
  if ((await page.getAttribute("html", "lang")) === want) return;
  await page.getByTestId("language").click();
  await page.waitForFunction((l) => document.documentElement.lang === l, want, { timeout: STEP_MS });
}

/** Sign `person` in on the sign-in page (its TOTP when it has a secret). */
export async function signIn(page, person, password) {
  await page.getByLabel(/电子邮箱|E-mail/).fill(person.email);
  await page.getByLabel(/^(密码|Password)$/).fill(password);
  if (person.totp_secret) await page.getByLabel(/动态验证码|One-time code/).fill(totp(person.totp_secret));
  await page.getByRole("button", { name: /登\s*录|Sign in/ }).click();
  await page.getByTestId("whoami").waitFor({ timeout: STEP_MS });
}

/** A new context for `who`, signed in from the home page in `locale`. */
export async function signedIn(run, base, who, person, password, locale) {
  const p = await newPerson(run, who);
  await p.page.goto(base, { timeout: STEP_MS });
  await p.page.getByRole("heading", { name: "登录" }).waitFor({ timeout: STEP_MS });
  if (locale === "en") await language(p.page, "en");
  await signIn(p.page, person, password);
  return p;
}

/** Drop files (paths) on the page's upload zone as a user's drag and drop does. */
export async function dropFiles(page, paths) {
  const files = paths.map((p) => ({ name: basename(p), data: readFileSync(p).toString("base64") }));
  const transfer = await page.evaluateHandle((given) => {
    const dt = new DataTransfer();
    for (const f of given) {
      const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: f.name.endsWith(".json") ? "application/json" : "application/xml" }));
    }
    return dt;
  }, files);
  const zone = page.locator(".ant-upload-drag .ant-upload-btn").first();
  await zone.dispatchEvent("dragenter", { dataTransfer: transfer });
  await zone.dispatchEvent("dragover", { dataTransfer: transfer });
  await zone.dispatchEvent("drop", { dataTransfer: transfer });
}

/** Until the upload screen shows a result for each of `count` files; the rows as
 * {file, result, finding}. */
export async function uploadResults(page, count) {
  const results = page.getByTestId("upload-result");
  await results.nth(count - 1).waitFor({ timeout: 2 * STEP_MS });
  await page.waitForFunction(
    (n) => {
      const t = [...document.querySelectorAll('[data-testid="upload-result"]')].map((e) => e.textContent ?? "");
      return t.length === n && t.every((s) => /Accepted|Duplicate|Rejected|Upload failed|已接收|重复|已拒收|上传失败/.test(s));
    },
    count,
    { timeout: 4 * STEP_MS },
  );
  await page.getByTestId("upload-summary").waitFor({ timeout: STEP_MS });
  const rows = page.locator("[data-testid=upload-results] tbody tr.ant-table-row");
  const out = [];
  for (let i = 0; i < (await rows.count()); i += 1) {
    const cells = await rows.nth(i).locator("td").allInnerTexts();
    out.push({ file: cells[0], result: cells[2], finding: cells[3] });
  }
  return out;
}

/** Close the run: on failure a screenshot of every open page (failure-<who>.png); prints one
 * JSON line {ok, failure, ...report, ...extra} and exits 0 or 1. */
export async function finish(run, failure, extra = {}) {
  if (failure) {
    for (const ctx of run.browser.contexts()) {
      let i = 0;
      for (const pg of ctx.pages()) {
        i += 1;
        await pg.screenshot({ path: join(run.out, `failure-${ctx.fourflowWho ?? "page"}-${i}.png`), fullPage: true }).catch(() => undefined);
      }
    }
  }
  await run.browser.close();
  const r = run.report;
  if (r.violations.length) failure ??= `axe: ${r.violations.length} serious or critical violations`;
  const sideways = r.phone.filter((p) => p.overflow > 4);
  if (sideways.length) failure ??= `phone-sized pages scroll sideways: ${sideways.map((p) => `${p.page} by ${p.overflow}px (${p.wide.join("; ")})`).join(" / ")}`;
  if (r.csp.length) failure ??= `the page broke its Content Security Policy or threw: ${r.csp[0]}`;
  process.stdout.write(`${JSON.stringify({ ok: failure == null, failure: failure ?? null, screenshots: run.out, ...r, ...extra })}\n`);
  process.exit(failure == null ? 0 : 1);
}
