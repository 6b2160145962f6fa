// The core enterprise, holding its own key, confirms its payable in the browser with that key
// (EIP-712 signed in the page by viem), then disputes it with a reason and withdraws the
// dispute; run by
// tests/web/test_own_key_browser.py. Every request the page sends is recorded: the private key
// must appear in none. Prints one JSON line. Bounded: STEP_MS a step.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { toast } from "./lib.mjs";

const need = (n) => {
  const v = process.env[n];
  if (!v) throw new Error(`own-key.mjs: set ${n}`);
  return v;
};
const BASE_URL = need("BASE_URL");
const CHROMIUM = need("CHROMIUM");
const EMAIL = need("EMAIL");
const PASSWORD = need("PASSWORD");
const ITEM = need("ITEM");
const KEY = need("OWN_KEY"); // 0x + 64 hex: typed into the page only
const OUT = need("OUT_DIR");
const STEP_MS = Number(process.env.STEP_MS ?? 60_000);
mkdirSync(OUT, { recursive: true });

const report = { ok: false, sent: [], keySent: false, csp: [], errors: [] };
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: STEP_MS, args: ["--no-sandbox"] });
const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
const bare = KEY.slice(2).toLowerCase();
page.on("request", (r) => {
  const body = r.postData() ?? "";
  const all = (r.url() + body).toLowerCase();
  if (all.includes(bare)) report.keySent = true;
  if (r.method() !== "GET") report.sent.push(`${r.method()} ${new URL(r.url()).pathname}`);
});
page.on("console", (m) => {
  if (/Content Security Policy/i.test(m.text())) report.csp.push(m.text());
});
page.on("pageerror", (e) => report.errors.push(String(e)));
try {
  await page.goto(BASE_URL, { timeout: STEP_MS });
  await page.getByRole("heading", { name: "登录" }).waitFor({ timeout: STEP_MS });
  await page.getByLabel(/电子邮箱|E-mail/).fill(EMAIL);
  await page.getByLabel(/^(密码|Password)$/).fill(PASSWORD);
  await page.getByRole("button", { name: /登\s*录|Sign in/ }).click();
  await page.getByTestId("whoami").waitFor({ timeout: STEP_MS });
  await page.getByRole("menuitem", { name: "待确认应付" }).click();
  // a wrong key first: refused in the page, nothing sent
  await page.getByTestId(`own-key-${ITEM}`).click();
  await page.getByTestId("own-key-terms").waitFor({ timeout: STEP_MS });
  await page.getByTestId("own-key-input").fill("0x" + "12".repeat(32));
  await page.getByTestId("own-key-sign").click();
  await page.getByTestId("own-key-error").waitFor({ timeout: STEP_MS });
  report.wrongKey = await page.getByTestId("own-key-error").innerText();
  // the debtor's key: signed in the page, the signature sent, the item confirmed
  await page.getByTestId("own-key-input").fill(KEY);
  await page.getByTestId("own-key-sign").click();
  const confirmed = toast(page, `债权 ${ITEM} 已确认`);
  await confirmed.waitFor({ timeout: STEP_MS });
  report.confirmed = await confirmed.innerText();
  await page.getByTestId(`own-key-${ITEM}`).waitFor({ state: "detached", timeout: STEP_MS });
  // then the dispute, with a reason
  await page.getByTestId(`dispute-${ITEM}`).click();
  await page.getByTestId("dispute-reason").fill("到货短少 20 件，质量不符");
  await page.getByTestId("dispute-submit").click();
  const disputed = toast(page, `已对债权 ${ITEM} 提出异议`);
  await disputed.waitFor({ timeout: STEP_MS });
  report.disputed = await disputed.innerText();
  await page.getByTestId(`dispute-${ITEM}`).waitFor({ state: "detached", timeout: STEP_MS });
  await page.screenshot({ path: join(OUT, "payables-own-key-zh.png"), fullPage: true });
  // and its withdrawal, confirmed in the popconfirm: the item may be disputed again
  await page.getByTestId(`withdraw-dispute-${ITEM}`).click();
  // the popconfirm zooms in: a click during the motion can be lost under load (as 17-M found)
  await page.locator(".ant-popconfirm").waitFor({ timeout: STEP_MS });
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"), null, { timeout: STEP_MS });
  await page.locator(".ant-popconfirm").getByRole("button", { name: "撤回异议" }).click();
  const withdrawn = toast(page, `已撤回对债权 ${ITEM} 的异议`);
  await withdrawn.waitFor({ timeout: STEP_MS });
  report.withdrawn = await withdrawn.innerText();
  await page.getByTestId(`dispute-${ITEM}`).waitFor({ timeout: STEP_MS });
  report.ok = true;
} catch (e) {
  report.failure = String(e?.stack ?? e).replaceAll(bare, "<key>");
  await page.screenshot({ path: join(OUT, "failure.png"), fullPage: true }).catch(() => undefined);
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
process.exit(report.ok ? 0 : 1);
