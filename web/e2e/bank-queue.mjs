// The bank's review queue and the supervision dashboard in Debian's chromium (playwright-core),
// run by tests/web/test_bank_browser.py against a real `fourflow serve` whose four-eyes limit
// is below the referred request. Three browser contexts:
//   1. the bank's approver (Chinese) tries the second approval before anyone proposed: the
//      API's refusal is shown in words;
//   2. the credit officer (English) approves the referral with a reason: above the limit it
//      becomes a proposal waiting for a second person; it opens the portfolio and policy;
//   3. the approver gives the second approval: the request is approved and leaves the queue;
//   4. the regulator opens the supervision dashboard and finds the financing in its rows;
//   5. the district's local government (English) finds its platform's trade on the dashboard.
// axe-core runs on every page visited (serious or critical violations fail); a Content
// Security Policy violation or a page error fails; screenshots go to OUT_DIR. Prints one JSON line.
import { createHmac } from "node:crypto";
import { readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
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
const PEOPLE = JSON.parse(env("PEOPLE")); // {officer|approver|regulator: {email, totp_secret}}
const FINANCING = env("FINANCING_ID");
const TRADE = env("TRADE_ID");
const PLATFORM_NAME = env("PLATFORM_NAME");
const STEP_MS = Number(process.env.STEP_MS ?? 60_000);
mkdirSync(OUT, { recursive: true });

/** RFC 6238 code of a base32 secret now (SHA-1, 6 digits, 30 s). */
function totp(secret, at = Date.now()) {
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

const report = { pages: [], violations: [], csp: [], refusal: null, proposed: null, approved: null, supervision: null };

function watch(page, who) {
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) report.csp.push(`${who}: ${m.text()}`);
  });
  page.on("pageerror", (e) => report.csp.push(`${who}: page error: ${e.message}`));
}

async function audit(page, name) {
  // Colours are judged after Ant Design's motions end; an endless one (a spinner) is named.
  try {
    await page.waitForFunction(() => !document.querySelector(".ant-spin-spinning, .anticon-spin"), null, { timeout: STEP_MS });
    await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"), null, { timeout: 15_000 });
  } catch {
    const running = await page.evaluate(() => document.getAnimations().filter((a) => a.playState === "running")
      .map((a) => `${a.animationName ?? a.id ?? "?"} on ${a.effect?.target?.className ?? "?"}`));
    report.endless = [...(report.endless ?? []), { page: name, running }];
  }
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

async function signedIn(browser, who, locale) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: "zh-CN" });
  const page = await context.newPage();
  watch(page, who);
  await page.goto(BASE, { timeout: STEP_MS });
  await page.getByRole("heading", { name: "登录" }).waitFor({ timeout: STEP_MS });
  if (locale === "en") {
    await page.getByTestId("language").click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: STEP_MS });
  }
  const person = PEOPLE[who];
  await page.getByLabel(/电子邮箱|E-mail/).fill(person.email);
  await page.getByLabel(/^(密码|Password)$/).fill(PASSWORD);
  if (person.totp_secret) await page.getByLabel(/动态验证码|One-time code/).fill(totp(person.totp_secret));
  await page.getByRole("button", { name: /登\s*录|Sign in/ }).click();
  await page.getByTestId("whoami").waitFor({ timeout: STEP_MS });
  return { context, page };
}

async function secondApproval(page, { expectRefusal }) {
  const open = page.getByRole("button", { name: `复核（第二人） ${FINANCING}` });
  await open.waitFor({ timeout: STEP_MS });
  await open.click();
  const dialog = page.getByRole("dialog");
  await dialog.waitFor({ timeout: STEP_MS });
  await dialog.getByLabel("复核意见（可选）").fill("额度与核心企业确权均已复核");
  await dialog.getByRole("button", { name: "同意提议" }).click();
  if (expectRefusal) {
    const refusal = dialog.getByTestId("refusal");
    await refusal.waitFor({ timeout: STEP_MS });
    report.refusal = await refusal.innerText();
    await audit(page, "bank-approval-refused-zh");
    await dialog.getByRole("button", { name: /关闭|Close/ }).first().click();
    await dialog.waitFor({ state: "hidden", timeout: STEP_MS });
  } else {
    const outcome = page.getByTestId("queue-outcome");
    await outcome.waitFor({ timeout: STEP_MS });
    report.approved = await outcome.innerText();
    await open.waitFor({ state: "detached", timeout: STEP_MS });
  }
}

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: STEP_MS, args: ["--no-sandbox"] });
let failure = null;
try {
  // 1. the approver first: no proposal yet, the API refuses (404) and the page says so
  const approver = await signedIn(browser, "approver", "zh");
  await approver.page.getByRole("menuitem", { name: "授信审批队列" }).click();
  await approver.page.getByRole("heading", { name: "授信审批队列（转人工）" }).waitFor({ timeout: STEP_MS });
  await approver.page.getByRole("button", { name: `复核（第二人） ${FINANCING}` }).waitFor({ timeout: STEP_MS });
  await audit(approver.page, "bank-queue-zh-approver");
  await secondApproval(approver.page, { expectRefusal: true });

  // 2. the officer, in English: approves with a reason; above the limit it is a proposal
  const officer = await signedIn(browser, "officer", "en");
  await officer.page.getByRole("menuitem", { name: "Review queue" }).click();
  const decide = officer.page.getByRole("button", { name: `Decide ${FINANCING}` });
  await decide.waitFor({ timeout: STEP_MS });
  await audit(officer.page, "bank-queue-en-officer");
  await officer.page.getByRole("button", { name: `Open the item` }).first().click();
  await officer.page.getByRole("dialog").waitFor({ timeout: STEP_MS });
  await officer.page.getByText(/The item cannot be read|Trade/).first().waitFor({ timeout: STEP_MS });
  await audit(officer.page, "bank-evidence-en");
  await officer.page.keyboard.press("Escape");
  await officer.page.getByRole("dialog").waitFor({ state: "hidden", timeout: STEP_MS });
  await decide.click();
  const dialog = officer.page.getByRole("dialog");
  await dialog.waitFor({ timeout: STEP_MS });
  await dialog.getByLabel("Approve").check();
  await dialog.getByLabel("Reason").fill("Core enterprise confirmed the item; within the borrower's limit");
  await audit(officer.page, "bank-decide-en");
  await dialog.getByRole("button", { name: "Submit" }).click();
  const outcome = officer.page.getByTestId("queue-outcome");
  await outcome.waitFor({ timeout: STEP_MS });
  report.proposed = await outcome.innerText();
  await officer.page.getByRole("menuitem", { name: "Portfolio" }).click();
  await officer.page.getByRole("heading", { name: "Portfolio" }).waitFor({ timeout: STEP_MS });
  await officer.page.getByText("By borrower").waitFor({ timeout: STEP_MS });
  await audit(officer.page, "bank-portfolio-en");
  await officer.page.getByRole("menuitem", { name: "Policy and limits" }).click();
  await officer.page.getByText("refer_pd", { exact: true }).waitFor({ timeout: STEP_MS });
  await audit(officer.page, "bank-policy-en");
  await officer.context.close();

  // 3. the approver again: the second approval takes effect
  await approver.page.getByRole("button", { name: "刷新" }).click();
  await secondApproval(approver.page, { expectRefusal: false });
  await audit(approver.page, "bank-queue-zh-after");
  await approver.page.getByRole("menuitem", { name: "资产组合" }).click();
  await approver.page.getByText(FINANCING).waitFor({ timeout: STEP_MS });
  await audit(approver.page, "bank-portfolio-zh");
  await approver.context.close();

  // 4. the regulator's dashboard, with the financing in its rows
  const regulator = await signedIn(browser, "regulator", "zh");
  await regulator.page.getByRole("menuitem", { name: "监管看板" }).click();
  await regulator.page.getByTestId("kpis").waitFor({ timeout: STEP_MS });
  await regulator.page.getByText(FINANCING).waitFor({ timeout: STEP_MS });
  await regulator.page.getByTestId("missing-figures").waitFor({ timeout: STEP_MS });
  report.supervision = await regulator.page.getByTestId("kpis").innerText();
  await audit(regulator.page, "supervision-zh");
  await regulator.context.close();

  // 5. the district's local government, in English: its scenario platform's figures and trades
  const district = await signedIn(browser, "district", "en");
  await district.page.getByRole("menuitem", { name: "Supervision" }).click();
  await district.page.getByTestId("kpis").waitFor({ timeout: STEP_MS });
  await district.page.getByText(PLATFORM_NAME).first().waitFor({ timeout: STEP_MS });
  await district.page.getByText(TRADE, { exact: true }).waitFor({ timeout: STEP_MS });
  report.platform = await district.page.getByTestId("kpis").innerText();
  await audit(district.page, "supervision-platform-en");
  await district.context.close();
} catch (e) {
  failure = String(e?.stack ?? e);
} finally {
  await browser.close();
}
if (report.violations.length) failure ??= `axe: ${report.violations.length} serious or critical violations`;
if (report.csp.length) failure ??= `the page broke its Content Security Policy or threw: ${report.csp[0]}`;
process.stdout.write(`${JSON.stringify({ ok: failure === null, failure, ...report })}\n`);
process.exit(failure === null ? 0 : 1);
