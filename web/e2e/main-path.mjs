// The web app's main path in Debian's chromium (playwright-core, no downloaded browser), run
// by tests/web/test_browser.py against a real `fourflow serve`. Two browser contexts:
//   1. a supplier signs in in Chinese, switches to English, drops real documents and its part
//      of a trade on the upload screen and sees a result per file; the trade's verification
//      arrives live (event stream) in the open page; the phone-sized home page; signs out;
//   2. an enterprise registers, then the platform operator signs in with its TOTP and
//      admits it.
// axe-core runs on every page visited (serious or critical violations fail); a Content
// Security Policy violation fails; screenshots go to OUT_DIR. Prints one JSON line.
import { createHmac } from "node:crypto";
import { readFileSync, mkdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`e2e: set ${name}`);
  return v;
};
const BASE = env("BASE_URL");
const OUT = env("OUT_DIR");
const CHROMIUM = env("CHROMIUM");
const PASSWORD = env("PASSWORD");
const SUPPLIER = env("SUPPLIER_EMAIL");
const OPERATOR = env("OPERATOR_EMAIL");
const OPERATOR_TOTP = env("OPERATOR_TOTP_SECRET");
const DOCUMENTS = JSON.parse(env("DOCUMENTS"));
const APPLICANT = JSON.parse(env("APPLICANT"));
const STEP_MS = Number(process.env.STEP_MS ?? 60_000);
mkdirSync(OUT, { recursive: true });

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

const report = { pages: [], uploads: [], violations: [], csp: [], registered: null, admitted: false };

let current = null; // the page being driven: its screenshot is taken on failure

function watch(page, who) {
  current = page;
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) report.csp.push(`${who}: ${m.text()}`);
  });
  page.on("pageerror", (e) => report.csp.push(`${who}: page error: ${e.message}`));
}

/** Until no CSS animation or transition runs on the page. */
async function settled(page) {
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"), null, { timeout: STEP_MS });
}

/** axe-core on the page as it is now; serious and critical violations are kept. */
async function audit(page, name) {
  // Colours are judged after Ant Design's motions end (a fading drawer is not a contrast bug).
  await settled(page);
  await page.evaluate(`${AXE}\n;0`);
  const found = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => `${n.target.join(" ")} ${n.html.slice(0, 160)}`) }));
  });
  const bad = found.filter((v) => v.impact === "serious" || v.impact === "critical");
  report.pages.push({ name, url: page.url(), violations: found.length, serious: bad.length });
  for (const v of bad) report.violations.push({ page: name, ...v });
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}

async function signIn(page, email, code) {
  await page.getByLabel(/电子邮箱|E-mail/).fill(email);
  await page.getByLabel(/^(密码|Password)$/).fill(PASSWORD);
  if (code) await page.getByLabel(/动态验证码|One-time code/).fill(code);
  await page.getByRole("button", { name: /登\s*录|Sign in/ }).click();
  await page.getByTestId("whoami").waitFor({ timeout: STEP_MS });
}

async function dropFiles(page, paths) {
  const files = paths.map((p) => ({ name: basename(p), data: readFileSync(p).toString("base64") }));
  const transfer = await page.evaluateHandle((given) => {
    const dt = new DataTransfer();
    for (const f of given) {
      const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: "application/xml" }));
    }
    return dt;
  }, files);
  const zone = page.locator(".ant-upload-drag .ant-upload-btn").first();
  await zone.dispatchEvent("dragenter", { dataTransfer: transfer });
  await zone.dispatchEvent("dragover", { dataTransfer: transfer });
  await zone.dispatchEvent("drop", { dataTransfer: transfer });
}

async function supplier(browser) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: "zh-CN" });
  const page = await context.newPage();
  watch(page, "supplier");
  await page.goto(BASE, { timeout: STEP_MS });
  await page.getByRole("heading", { name: "登录" }).waitFor({ timeout: STEP_MS });
  if ((await page.getAttribute("html", "lang")) !== "zh-CN") throw new Error("the page is not in Chinese by default");
  await audit(page, "sign-in-zh");
  await signIn(page, SUPPLIER);
  await page.getByRole("menuitem", { name: "上传单据" }).waitFor({ timeout: STEP_MS });
  await audit(page, "home-zh");
  await page.getByTestId("language").click();
  await page.getByRole("menuitem", { name: "Upload documents" }).waitFor({ timeout: STEP_MS });
  if ((await page.getAttribute("html", "lang")) !== "en") throw new Error("the switch did not turn the page to English");
  await page.getByRole("menuitem", { name: "Upload documents" }).click();
  await page.getByRole("heading", { name: "Upload documents" }).waitFor({ timeout: STEP_MS });
  await audit(page, "upload-en-empty");
  await dropFiles(page, DOCUMENTS);
  const results = page.getByTestId("upload-result");
  await results.nth(DOCUMENTS.length - 1).waitFor({ timeout: STEP_MS });
  const deadline = Date.now() + 4 * STEP_MS;
  for (;;) {
    const texts = await results.allInnerTexts();
    if (texts.length === DOCUMENTS.length && texts.every((t) => /Accepted|Duplicate|Rejected|Upload failed/.test(t))) break;
    if (Date.now() > deadline) throw new Error(`uploads did not finish: ${JSON.stringify(texts)}`);
    await page.waitForTimeout(250);
  }
  const rows = page.locator("[data-testid=upload-results] tbody tr.ant-table-row");
  for (let i = 0; i < (await rows.count()); i += 1) {
    const cells = await rows.nth(i).locator("td").allInnerTexts();
    report.uploads.push({ file: cells[0], result: cells[2], finding: cells[3] });
  }
  await page.getByTestId("upload-summary").waitFor();
  await audit(page, "upload-en-results");
  // The seller's bundle completed a trade: the seller verifies it over the API (a second
  // client) and the page, open all along, hears of it on its event stream.
  const placed = report.uploads.map((u) => /Placed in trade (\S+) /.exec(u.finding)?.[1]).find(Boolean);
  if (placed) {
    report.trade_id = placed;
    const signed = await fetch(`${BASE}/api/v1/sessions`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: SUPPLIER, password: PASSWORD }),
    });
    const token = (await signed.json()).access_token;
    const verified = await fetch(`${BASE}/api/v1/trades/${placed}/verification`, {
      method: "POST", headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: "{}",
    });
    if (verified.status !== 200) throw new Error(`verification: ${verified.status} ${await verified.text()}`);
    report.verification = (await verified.json()).status;
    await page.locator("[data-testid=notifications-count] .ant-badge-count").waitFor({ timeout: STEP_MS });
  }
  await page.getByTestId("notifications").click();
  await page.getByRole("dialog").waitFor({ timeout: STEP_MS });
  report.notifications = await page.getByTestId("notification").count();
  report.notified = await page.getByTestId("notification").allInnerTexts();
  await audit(page, "notifications-en");
  await page.keyboard.press("Escape");
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(BASE, { timeout: STEP_MS });
  await page.getByTestId("whoami").waitFor({ timeout: STEP_MS });
  await audit(page, "home-en-phone");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 4) throw new Error(`the phone-sized home page scrolls sideways by ${overflow}px`);
  await page.setViewportSize({ width: 1366, height: 768 });
  await page.getByRole("button", { name: /Sign out/ }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: STEP_MS });
  await context.close();
}

async function operator(browser) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: "zh-CN" });
  const page = await context.newPage();
  watch(page, "operator");
  await page.goto(`${BASE}/register`, { timeout: STEP_MS });
  await page.getByRole("heading", { name: "企业注册入驻" }).waitFor({ timeout: STEP_MS });
  await audit(page, "register-zh");
  const a = APPLICANT;
  await page.getByLabel("企业名称").fill(a.name);
  await page.getByLabel("统一社会信用代码").fill(a.uscc);
  await page.getByLabel("营业执照编号").fill(a.uscc);
  await page.getByLabel("法定代表人").fill(a.legal_representative);
  await page.getByLabel("住所").fill(a.address);
  await page.getByLabel("管理员姓名").fill(a.admin_name);
  await page.getByLabel("管理员电子邮箱").fill(a.admin_email);
  await page.getByLabel(/管理员密码/).fill(PASSWORD);
  await page.getByRole("button", { name: /提\s*交申请/ }).click();
  await page.getByTestId("registered").waitFor({ timeout: STEP_MS });
  report.registered = await page.getByTestId("registered").innerText();
  await audit(page, "registered-zh");
  await page.getByRole("link", { name: "返回登录" }).click();
  await signIn(page, OPERATOR, totp(OPERATOR_TOTP));
  await page.getByRole("menuitem", { name: "入驻审核" }).click();
  const review = page.getByRole("button", { name: `审核 ${a.name}` });
  await review.waitFor({ timeout: STEP_MS });
  await audit(page, "admissions-zh");
  await review.click();
  const dialog = page.getByRole("dialog");
  await dialog.waitFor({ timeout: STEP_MS });
  await settled(page); // the dialog zooms in: a click during the motion can land elsewhere
  for (const c of ["营业执照已核验", "法定代表人已核验", "制裁名单已筛查"]) {
    const box = dialog.getByLabel(c);
    for (let attempt = 0; attempt < 5 && !(await box.isChecked()); attempt += 1) {
      await dialog.getByText(c, { exact: true }).click();
      await page.waitForFunction((el) => el.checked, await box.elementHandle(), { timeout: 2000 }).catch(() => {});
    }
    if (!(await box.isChecked())) throw new Error(`the KYC check ${c} does not tick`);
  }
  await dialog.getByLabel("审核意见").fill("营业执照与法定代表人已核验");
  await audit(page, "admission-review-zh");
  await dialog.getByRole("button", { name: /准予入驻/ }).click();
  await page.getByText(`${a.name} 已准予入驻`).waitFor({ timeout: STEP_MS });
  await review.waitFor({ state: "detached", timeout: STEP_MS });
  report.admitted = true;
  await audit(page, "admissions-after-zh");
  await context.close();
}

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: STEP_MS, args: ["--no-sandbox"] });
let failure = null;
try {
  await supplier(browser);
  await operator(browser);
} catch (e) {
  failure = String(e?.stack ?? e);
  await current?.screenshot({ path: join(OUT, "failure.png"), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
if (report.violations.length) failure ??= `axe: ${report.violations.length} serious or critical violations`;
if (report.csp.length) failure ??= `the page broke its Content Security Policy or threw: ${report.csp[0]}`;
process.stdout.write(`${JSON.stringify({ ok: failure === null, failure, ...report })}\n`);
process.exit(failure === null ? 0 : 1);
