// The served app under its nonce Content-Security-Policy (entrypoints/api/webui.py), run by
// tests/web/test_csp.py: the app loads and renders with its styles, no CSP violation while it
// does; Ant Design's styles are the app's own stylesheet, none made in the page; a <style> the
// app's code inserts gets the nonce; markup injected as HTML (an inline event handler, a
// <style> element) is refused by the browser. Prints one JSON line.
import { chromium } from "playwright-core";

const BASE_URL = process.env.BASE_URL;
const CHROMIUM = process.env.CHROMIUM;
const STEP_MS = Number(process.env.STEP_MS ?? 60_000);
if (!BASE_URL || !CHROMIUM) throw new Error("csp.mjs: set BASE_URL and CHROMIUM");

const report = { ok: false, violations: [], errors: [], header: null, nonceInPage: null };
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: STEP_MS, args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample }),
    );
  });
  page.on("pageerror", (e) => report.errors.push(String(e)));
  const answer = await page.goto(BASE_URL + "/", { waitUntil: "load", timeout: STEP_MS });
  report.header = answer.headers()["content-security-policy"];
  // the app rendered: the sign-in heading and a styled primary button
  await page.getByRole("heading", { name: /登录|Sign in/ }).waitFor({ timeout: STEP_MS });
  const button = page.getByRole("button", { name: /登\s*录|Sign in/ });
  await button.waitFor({ timeout: STEP_MS });
  report.buttonBackground = await button.evaluate((b) => getComputedStyle(b).backgroundColor);
  report.nonceInPage = await page.evaluate(() => document.querySelector('meta[name="csp-nonce"]')?.content ?? null);
  report.styleElements = await page.evaluate(() => [...document.querySelectorAll("style")].map((s) => Boolean(s.nonce)));
  // Ant Design's styles come from the app's stylesheet, made at build time (vite.config.ts
  // antdStyles): none made in the browser (@ant-design/cssinjs marks those data-css-hash)
  report.antdStylesMadeHere = await page.evaluate(() => document.querySelectorAll("style[data-css-hash]").length);
  report.stylesheets = await page.evaluate(() =>
    [...document.styleSheets].filter((s) => s.href).map((s) => ({ path: new URL(s.href).pathname, rules: s.cssRules.length })),
  );
  report.loadViolations = await page.evaluate(() => [...window.__violations]);
  // a <style> inserted by code gets the nonce and applies
  report.codeStyleApplied = await page.evaluate(() => {
    const s = document.createElement("style");
    s.textContent = "#root { outline: 3px solid rgb(1, 2, 3); }";
    document.head.appendChild(s);
    return getComputedStyle(document.getElementById("root")).outlineColor === "rgb(1, 2, 3)";
  });
  // injected markup is refused: an inline handler and a parsed <style>
  report.injectedHandlerRan = await page.evaluate(async () => {
    const box = document.createElement("div");
    box.innerHTML = '<img src="data:," onload="window.__pwned = 1"><style>#root { outline-color: rgb(9, 9, 9) !important; }</style>';
    document.body.appendChild(box);
    await new Promise((r) => setTimeout(r, 300)); // bounded: the image's load event, if allowed
    return { ran: window.__pwned === 1, styled: getComputedStyle(document.getElementById("root")).outlineColor === "rgb(9, 9, 9)" };
  });
  report.afterInjection = await page.evaluate(() => [...window.__violations]);
  report.ok = true;
} catch (e) {
  report.failure = String(e?.stack ?? e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
process.exit(report.ok ? 0 : 1);
