// The enterprise's and the core enterprise's screens in Debian's chromium (playwright-core),
// run by tests/web/test_enterprise_browser.py against a real `fourflow serve` holding a trade
// verified and its item issued by tier 1 on the evidence. Two browser contexts:
//   1. tier 1 (Chinese) verifies the trade: its four flows side by side with the findings;
//      opens its position and the item (holdings, provenance tree), splits 1000.00 off its
//      holding, passes 500.00 to the carrier and sees the tree grow; asks the bank to finance;
//   2. the core enterprise (English) confirms the payable, grants the bank a consent and
//      reads this month's data-use statement.
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
const PEOPLE = JSON.parse(env("PEOPLE")); // {tier1|core: {email, totp_secret}}
const TRADE = env("TRADE_ID");
const ITEM = env("ITEM_ID");
const BANK = env("BANK_ID");
const CARRIER = env("CARRIER_ID");
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

const report = { pages: [], violations: [], csp: [], endless: [], flows: [], tree: 0, split: null, transfer: null, financing: null, financingRow: null, confirmed: null, granted: null };

function watch(page, who) {
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) report.csp.push(`${who}: ${m.text()}`);
  });
  page.on("pageerror", (e) => report.csp.push(`${who}: page error: ${e.message}`));
}

async function audit(page, name) {
  // Finite animations (drawers, messages, waves) end; an infinite one (a spinner) is named in the report.
  await page.waitForFunction(
    () => document.getAnimations().every((a) => a.playState !== "running" || a.effect?.getComputedTiming().iterations === Infinity),
    null,
    { timeout: STEP_MS },
  );
  const endless = await page.evaluate(() =>
    document.getAnimations().filter((a) => a.playState === "running").map((a) => `${a.animationName ?? a.constructor.name} on ${a.effect?.target?.className ?? "?"}`),
  );
  if (endless.length) report.endless.push({ page: name, endless: endless.slice(0, 5) });
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

const treeNodes = (page) => page.getByTestId("item-tree").locator(".ant-tree-treenode").count();

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: STEP_MS, args: ["--no-sandbox"] });
let failure = null;
try {
  // 1. tier 1, in Chinese: the trade's four flows, its position, the item and a split
  const tier1 = await signedIn(browser, "tier1", "zh");
  const p = tier1.page;
  await p.getByRole("menuitem", { name: "贸易与四流核验" }).click();
  // my trades are offered from my items: pick this one
  await p.getByLabel("贸易编号").click();
  await p.getByLabel("贸易编号").pressSequentially(TRADE.slice(0, 12));
  await p.locator(".ant-select-item-option").filter({ hasText: TRADE }).click();
  await p.getByTestId("trade-verify").click();
  await p.getByTestId("trade-flows").waitFor({ timeout: STEP_MS });
  report.flows = await p.getByTestId("trade-flows").locator("[data-flow]").evaluateAll((els) => els.map((e) => e.dataset.flow));
  await audit(p, "trade-zh");
  await p.getByRole("menuitem", { name: "我的应收应付" }).click();
  await p.getByTestId("position-holds").getByRole("button", { name: ITEM }).first().click();
  await p.getByTestId("item-tree").waitFor({ timeout: STEP_MS });
  await audit(p, "position-item-zh");
  const before = await treeNodes(p);
  await p.locator("#split-amount").fill("1000.00");
  await p.getByRole("button", { name: "拆分" }).click();
  const done = p.getByText(/已拆分：新份额/);
  await done.waitFor({ timeout: STEP_MS });
  report.split = await done.innerText();
  await p.waitForFunction(
    (n) => document.querySelectorAll('[data-testid="item-tree"] .ant-tree-treenode').length > n, before, { timeout: STEP_MS },
  );
  report.tree = await treeNodes(p);
  await audit(p, "position-split-zh");
  // ... passes 500.00 of its first holding to the carrier: the tree grows again
  await p.locator("#transfer-amount").fill("500.00");
  await p.locator("#transfer-to").fill(CARRIER);
  await p.getByRole("button", { name: "转让" }).click();
  const passed = p.getByText(/^已转让给 /);
  await passed.waitFor({ timeout: STEP_MS });
  report.transfer = await passed.innerText();
  await p.waitForFunction(
    (n) => document.querySelectorAll('[data-testid="item-tree"] .ant-tree-treenode').length > n, report.tree, { timeout: STEP_MS },
  );
  report.tree = await treeNodes(p);
  await audit(p, "position-transfer-zh");
  // ... and asks the bank to finance the new holding: the robot's answer, then the row
  const child = /holding-[0-9a-f]+/.exec(report.split)[0];
  await p.keyboard.press("Escape");
  await p.getByRole("menuitem", { name: "融资申请" }).click();
  await p.locator("#fin-holding").click();
  await p.locator(".ant-select-item-option").filter({ hasText: child }).click();
  await p.getByLabel("银行（统一社会信用代码或编号）").fill(BANK);
  await p.getByLabel("金额").fill("900.00");
  await p.getByRole("button", { name: "申请融资" }).click();
  const answer = p.getByText(/^申请 .+ 已提交：|^接口拒绝/);
  await answer.waitFor({ timeout: STEP_MS });
  report.financing = await answer.innerText();
  const row = p.getByTestId("financings").locator("tr.ant-table-row").first();
  await row.waitFor({ timeout: STEP_MS });
  await row.locator(".ant-table-row-expand-icon").click();
  await p.getByText(/^链上状态: /).waitFor({ timeout: STEP_MS });
  report.financingRow = await row.innerText();
  await audit(p, "financing-zh");
  await tier1.context.close();

  // 2. the core enterprise, in English: confirm the payable, grant a consent, the statement
  const core = await signedIn(browser, "core", "en");
  const c = core.page;
  await c.getByRole("menuitem", { name: "Payables" }).click();
  await c.getByTestId(`confirm-${ITEM}`).click();
  await c.locator(".ant-popconfirm").getByRole("button", { name: "Confirm" }).click();
  const confirmed = c.getByText(`Item ${ITEM} confirmed`);
  await confirmed.waitFor({ timeout: STEP_MS });
  report.confirmed = await confirmed.innerText();
  await c.getByTestId(`confirm-${ITEM}`).waitFor({ state: "detached", timeout: STEP_MS });
  await audit(c, "payables-en");
  await c.getByRole("menuitem", { name: "Data consents" }).click();
  await c.getByLabel("Bank (USCC or id)").fill(BANK);
  await c.getByRole("button", { name: "Let a bank read my data" }).click();
  const granted = c.getByText(/^Granted: /);
  await granted.waitFor({ timeout: STEP_MS });
  report.granted = await granted.innerText();
  await c.getByTestId("consents").getByText(BANK).waitFor({ timeout: STEP_MS });
  await c.getByTestId("statement-total").waitFor({ timeout: STEP_MS });
  await audit(c, "consents-en");
  // ... and revokes it with a reason
  await c.getByTestId("consents").getByRole("button", { name: "Revoke" }).click();
  const revoke = c.getByRole("dialog");
  await revoke.getByLabel("Reason for revoking").fill("The credit review is finished");
  await revoke.getByRole("button", { name: "Revoke" }).click();
  await c.getByText(/^Revoked: /).waitFor({ timeout: STEP_MS });
  await c.getByTestId("consents").getByText("The credit review is finished").waitFor({ timeout: STEP_MS });
  await revoke.waitFor({ state: "hidden", timeout: STEP_MS });
  await audit(c, "consents-revoked-en");
  await core.context.close();
} catch (e) {
  failure = String(e?.stack ?? e);
  for (const ctx of browser.contexts()) {
    for (const pg of ctx.pages()) await pg.screenshot({ path: join(OUT, "failure.png"), fullPage: true }).catch(() => undefined);
  }
} finally {
  await browser.close();
}
if (report.violations.length) failure ??= `axe: ${report.violations.length} serious or critical violations`;
if (report.csp.length) failure ??= `the page broke its Content Security Policy or threw: ${report.csp[0]}`;
process.stdout.write(`${JSON.stringify({ ok: failure === null, failure, ...report })}\n`);
process.exit(failure === null ? 0 : 1);
