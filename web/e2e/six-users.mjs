// The main path in Debian's chromium (playwright-core), run by tests/web/test_browser.py against
// a real `fourflow serve` (a fresh home, its own anvil node; a four-eyes limit below the
// financing asked for). Six people in six browser contexts, and the platform operator and a
// district's local government beside them:
//   1. the tier-2 supplier registers through /register (Chinese); the operator, signed in with
//      its TOTP, ticks the KYC checks and admits it on the admission screen;
//   2. each uploads its own documents by drag and drop: the tier-2 supplier public UBL examples
//      (a result per file, rejections in words), the core enterprise (English) its order and
//      receipt advice, the supplier (tier 1, Chinese) its invoice and despatch advice, which
//      complete the trade;
//   3. the supplier verifies the trade: the four flows side by side; the verification arrives
//      live in its notifications; it issues the item on the evidence from the trade view;
//   4. the core enterprise confirms its payable (the company's signature) and grants the bank
//      a data consent, reads the statement and revokes it with a reason;
//   5. the supplier splits its holding and transfers a part to the tier-2 supplier (the
//      provenance tree grows each time); the tier-2 supplier sees it and asks the bank to
//      finance it: the robot refers it to people;
//   6. the bank's approver tries a second approval before anyone proposed (refused in words);
//      the credit officer (English) opens the evidence and approves the referral: above the
//      four-eyes limit a proposal; the approver's second approval makes it approved; portfolio
//      and policy;
//   7. the tier-2 supplier sees its financing approved; the regulator reads the supervision
//      dashboard and finds it; the district's local government (English) its platform's trade.
// Phone (390x844): the trade, position and supervision views must not scroll sideways.
// axe-core runs on every page and state visited (serious or critical violations fail); a
// Content Security Policy violation or a page error fails; full-page screenshots of each go to
// OUT_DIR, and on failure one of every open page. With GALLERY_DIR set, the pages named for the
// docs are also shot at 1366x768 in Chinese and in English (docs/ui.md). Prints one JSON line.
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import {
  DESKTOP, STEP_MS, audit, dropFiles, env, finish, language, newPerson, onPhone, signIn, signedIn,
  startRun, toast, uploadResults,
} from "./lib.mjs";

const BASE = env("BASE_URL");
const PASSWORD = env("PASSWORD");
const PEOPLE = JSON.parse(env("PEOPLE")); // who -> {email, totp_secret}
const TIER2 = JSON.parse(env("TIER2")); // the tier-2 supplier's registration
const DOCUMENTS = JSON.parse(env("DOCUMENTS")); // who -> [paths]
const BANK = env("BANK"); // the bank's USCC
const PLATFORM_NAME = env("PLATFORM_NAME");
const GALLERY = process.env.GALLERY_DIR ?? "";
// An enterprise applying to the district's scenario platform (step 9): a USCC of its own.
const APPLICANT = {
  name: "苏州平江文创有限公司",
  uscc: withCheckCharacter("91320508MA1WEB0AP"),
  admin_email: "admin@applicant.example.cn",
};

/** A USCC's 18th character (GB 32100-2015) after its first 17. */
function withCheckCharacter(first17) {
  const chars = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  const weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  const sum = [...first17].reduce((s, c, i) => s + chars.indexOf(c) * weights[i], 0);
  return first17 + chars[(31 - (sum % 31)) % 31];
}

const run = await startRun(env("OUT_DIR"));
const r = run.report;
Object.assign(r, { registered: null, uploads: {}, trade_id: null, flows: [], notified: [], item_id: null, confirmed: null,
  consent: null, split: null, transfer: null, tree: 0, tier2Holding: null, financing_id: null, financing: null,
  refusal: null, proposed: null, approved: null, tier2Financing: null, evidence: null, supervision: null, platform: null, disputed: null, resolved: null, platformAdmitted: null, gallery: [] });

/** In gallery mode, the page as it is now at 1366x768 in Chinese and in English
 * (GALLERY_DIR/<doc>.zh.png, .en.png); the page's language is put back. */
async function doc(page, name, focus) {
  if (!GALLERY || r.gallery.includes(name)) return;
  mkdirSync(GALLERY, { recursive: true });
  const was = (await page.getAttribute("html", "lang")) === "en" ? "en" : "zh";
  for (const lang of [was, was === "en" ? "zh" : "en"]) {
    // the header's switch, clicked as a script would: a dialog's mask may cover it
    if (((await page.getAttribute("html", "lang")) === "en") !== (lang === "en")) {
      await page.getByTestId("language").evaluate((b) => b.click());
      await page.waitForFunction((l) => document.documentElement.lang === l, lang === "en" ? "en" : "zh-CN", { timeout: STEP_MS });
    }
    await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running" || a.effect?.getComputedTiming().iterations === Infinity), null, { timeout: STEP_MS });
    if (focus) await focus.scrollIntoViewIfNeeded({ timeout: STEP_MS });
    await chartsStill(page);
    await page.screenshot({ path: join(GALLERY, `${name}.${lang}.png`) });
  }
  if (((await page.getAttribute("html", "lang")) === "en") !== (was === "en")) {
    await page.getByTestId("language").evaluate((b) => b.click());
    await page.waitForFunction((l) => document.documentElement.lang === l, was === "en" ? "en" : "zh-CN", { timeout: STEP_MS });
  }
  r.gallery.push(name);
}

/** Until the page's charts (ECharts draws on canvases, outside the Web Animations the other
 * waits see) look the same twice 250 ms apart: a chart drawn again for the other language
 * animates in. Bounded by STEP_MS. */
async function chartsStill(page) {
  const look = () => page.evaluate(() => [...document.querySelectorAll("canvas")].map((c) => c.toDataURL()).join("|"));
  const until = Date.now() + STEP_MS;
  let last = await look();
  while (last && Date.now() < until) {
    await page.waitForTimeout(250);
    const now = await look();
    if (now === last) return;
    last = now;
  }
}

/** axe + the step's screenshot, and the docs' shot when `docName` is given (`focus`: an
 * element scrolled into view for it). */
async function see(page, name, docName, focus) {
  await audit(run, page, name);
  if (docName) await doc(page, docName, focus);
}

async function menu(page, name) {
  await page.getByRole("menuitem", { name }).click();
}

const treeNodes = (page) => page.getByTestId("item-tree").locator(".ant-tree-treenode").count();

let failure = null;
try {
  // 1. the tier-2 supplier registers; the operator admits it on the admission screen
  const tier2 = await newPerson(run, "tier2");
  const t2 = tier2.page;
  await t2.goto(BASE, { timeout: STEP_MS });
  await t2.getByRole("heading", { name: "登录" }).waitFor({ timeout: STEP_MS });
  if ((await t2.getAttribute("html", "lang")) !== "zh-CN") throw new Error("the page is not in Chinese by default");
  await see(t2, "sign-in-zh", "sign-in");
  await t2.goto(`${BASE}/register`, { timeout: STEP_MS });
  await t2.getByRole("heading", { name: "企业注册入驻" }).waitFor({ timeout: STEP_MS });
  await see(t2, "register-zh", "register");
  await t2.getByLabel("企业名称").fill(TIER2.name);
  await t2.getByLabel("统一社会信用代码").fill(TIER2.uscc);
  await t2.getByLabel("营业执照编号").fill(TIER2.uscc);
  await t2.getByLabel("法定代表人").fill(TIER2.legal_representative);
  await t2.getByLabel("住所").fill(TIER2.address);
  await t2.getByLabel("银行账号").fill(TIER2.account);
  await t2.getByLabel("管理员姓名").fill(TIER2.admin_name);
  await t2.getByLabel("管理员电子邮箱").fill(TIER2.admin_email);
  await t2.getByLabel(/管理员密码/).fill(PASSWORD);
  await t2.getByRole("button", { name: /提\s*交申请/ }).click();
  await t2.getByTestId("registered").waitFor({ timeout: STEP_MS });
  r.registered = await t2.getByTestId("registered").innerText();
  await see(t2, "registered-zh", "register-done");

  const operator = await signedIn(run, BASE, "operator", PEOPLE.operator, PASSWORD, "zh");
  const op = operator.page;
  await menu(op, "入驻审核");
  const review = op.getByRole("button", { name: `审核 ${TIER2.name}` });
  await review.waitFor({ timeout: STEP_MS });
  await see(op, "admissions-zh", "admissions");
  await review.click();
  const dialog = op.getByRole("dialog");
  await dialog.waitFor({ timeout: STEP_MS });
  await op.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"), null, { timeout: STEP_MS });
  for (const c of ["营业执照已核验", "法定代表人已核验", "制裁名单已筛查"]) {
    const box = dialog.getByLabel(c);
    for (let attempt = 0; attempt < 5 && !(await box.isChecked()); attempt += 1) {
      await dialog.getByText(c, { exact: true }).click();
      await op.waitForFunction((el) => el.checked, await box.elementHandle(), { timeout: 2000 }).catch(() => undefined);
    }
    if (!(await box.isChecked())) throw new Error(`the KYC check ${c} does not tick`);
  }
  await dialog.getByLabel("审核意见").fill("营业执照与法定代表人已核验");
  await see(op, "admission-review-zh", "admission-review");
  await dialog.getByRole("button", { name: /准予入驻/ }).click();
  await toast(op, `${TIER2.name} 已准予入驻`).waitFor({ timeout: STEP_MS });
  await review.waitFor({ state: "detached", timeout: STEP_MS });
  await see(op, "admissions-after-zh");

  // 2. each uploads its own documents: the tier-2 supplier (public UBL examples) ...
  await t2.getByRole("link", { name: "返回登录" }).click();
  await signIn(t2, { email: TIER2.admin_email }, PASSWORD);
  await menu(t2, "上传单据");
  await t2.getByRole("heading", { name: "上传单据" }).waitFor({ timeout: STEP_MS });
  await see(t2, "upload-zh-empty");
  await dropFiles(t2, DOCUMENTS.tier2);
  r.uploads.tier2 = await uploadResults(t2, DOCUMENTS.tier2.length);
  await see(t2, "upload-zh-results", "upload");

  // ... the core enterprise (English) its order and receipt advice ...
  const core = await signedIn(run, BASE, "core", PEOPLE.core, PASSWORD, "en");
  const c = core.page;
  await see(c, "home-en", "home");
  await menu(c, "Upload documents");
  await c.getByRole("heading", { name: "Upload documents" }).waitFor({ timeout: STEP_MS });
  await dropFiles(c, DOCUMENTS.core);
  r.uploads.core = await uploadResults(c, DOCUMENTS.core.length);
  await see(c, "upload-en-core");

  // ... and the supplier (tier 1, Chinese) its invoice and despatch advice: the trade is complete
  const tier1 = await signedIn(run, BASE, "tier1", PEOPLE.tier1, PASSWORD, "zh");
  const p = tier1.page;
  await menu(p, "上传单据");
  await dropFiles(p, DOCUMENTS.tier1);
  r.uploads.tier1 = await uploadResults(p, DOCUMENTS.tier1.length);
  await see(p, "upload-zh-tier1");
  r.trade_id = r.uploads.tier1.map((u) => /已归入贸易 (\S+)（/.exec(u.finding)?.[1]).find(Boolean) ?? null;
  if (!r.trade_id) throw new Error(`the supplier's documents were placed in no trade: ${JSON.stringify(r.uploads.tier1)}`);

  // 3. the supplier verifies the trade: four flows side by side; it arrives live in the bell
  await menu(p, "贸易与四流核验");
  await p.getByTestId(`trade-open-${r.trade_id}`).click(); // my trades, listed
  await p.getByTestId("trade-flows").waitFor({ timeout: STEP_MS });
  // the evidence chain: each document's submitter, signer, time and on-chain anchor
  await p.getByTestId("trade-evidence").locator("tr.ant-table-row").first().waitFor({ timeout: STEP_MS });
  r.evidence = await p.getByTestId("evidence-summary").innerText();
  r.flows = await p.getByTestId("trade-flows").locator("[data-flow]").evaluateAll((els) => els.map((e) => e.dataset.flow));
  await see(p, "trade-zh", "trade");
  await p.locator("[data-testid=notifications-count] .ant-badge-count").waitFor({ timeout: STEP_MS });
  await p.getByTestId("notifications").click();
  await p.getByRole("dialog").waitFor({ timeout: STEP_MS });
  r.notified = await p.getByTestId("notification").allInnerTexts();
  await see(p, "notifications-zh", "notifications");
  await p.keyboard.press("Escape");
  await p.getByRole("dialog").waitFor({ state: "hidden", timeout: STEP_MS });
  await onPhone(run, p, "trade-zh-phone", async () => {
    await p.getByTestId("trade-flows").waitFor({ timeout: STEP_MS });
    await p.getByTestId("trade-evidence").locator("tr.ant-table-row").first().waitFor({ timeout: STEP_MS });
  });
  // The supplier issues the item on the evidence from the trade view; the new item opens
  await p.getByTestId("issue-item").click();
  await p.getByTestId("issue-item-submit").waitFor({ timeout: STEP_MS });
  await see(p, "trade-issue-zh", "trade-issue");
  await p.getByTestId("issue-item-submit").click();
  const issued = p.getByTestId("trade-item"); // the new item's id in the trade's report
  const refused = p.getByTestId("issue-item-error");
  await issued.or(refused).waitFor({ timeout: STEP_MS });
  if (await refused.isVisible()) throw new Error(`issuing the item: ${await refused.innerText()}`);
  r.item_id = /^item-\S+$/.exec((await issued.innerText()).trim())?.[0] ?? null;
  if (!r.item_id) throw new Error(`the issued item's id is not shown: ${await issued.innerText()}`);
  const ITEM = r.item_id;
  await p.getByTestId("item-view").waitFor({ timeout: STEP_MS }); // the new item opened
  await see(p, "trade-issued-zh");
  await p.keyboard.press("Escape");
  await p.locator(".ant-drawer-mask").waitFor({ state: "hidden", timeout: STEP_MS });

  // 4. the core enterprise confirms its payable, grants the bank a consent, reads the statement
  await menu(c, "Payables");
  await c.getByTestId(`confirm-${ITEM}`).click();
  // the popconfirm zooms in: a click during the motion can be lost (seen under load)
  await c.locator(".ant-popconfirm").waitFor({ timeout: STEP_MS });
  await c.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"), null, { timeout: STEP_MS });
  await see(c, "payables-confirm-en", "payables-confirm");
  await c.locator(".ant-popconfirm").getByRole("button", { name: "Confirm" }).click();
  const confirmed = toast(c, `Item ${ITEM} confirmed`);
  await confirmed.waitFor({ timeout: STEP_MS });
  r.confirmed = await confirmed.innerText();
  await c.getByTestId(`confirm-${ITEM}`).waitFor({ state: "detached", timeout: STEP_MS });
  await see(c, "payables-en", "payables");
  await menu(c, "Data consents");
  await c.getByLabel("Bank (USCC or id)").fill(BANK);
  await c.getByRole("button", { name: "Let a bank read my data" }).click();
  await toast(c, /^Granted: /).waitFor({ timeout: STEP_MS });
  await c.getByTestId("statement-total").waitFor({ timeout: STEP_MS });
  await see(c, "consents-en", "consents");
  await c.getByTestId("consents").getByRole("button", { name: "Revoke" }).click();
  const revoke = c.getByRole("dialog");
  await revoke.getByLabel("Reason for revoking").fill("The credit review is finished");
  await see(c, "consents-revoke-en", "consents-revoke");
  await revoke.getByRole("button", { name: "Revoke" }).click();
  await c.getByTestId("consents").getByText("The credit review is finished").waitFor({ timeout: STEP_MS });
  await revoke.waitFor({ state: "hidden", timeout: STEP_MS });
  r.consent = await c.getByTestId("consents").locator("tr.ant-table-row").first().innerText();
  await see(c, "consents-revoked-en");

  // 5. the supplier splits its holding and passes a part to the tier-2 supplier
  await menu(p, "我的应收应付");
  await p.getByTestId("position-holds").getByRole("button", { name: ITEM }).first().click();
  await p.getByTestId("item-tree").waitFor({ timeout: STEP_MS });
  await see(p, "position-item-zh", "position");
  const before = await treeNodes(p);
  await p.locator("#split-amount").fill("1000.00");
  await p.getByRole("button", { name: "拆分", exact: true }).click();
  const split = toast(p, /^已拆分：新份额/);
  await split.waitFor({ timeout: STEP_MS });
  r.split = await split.innerText();
  await p.waitForFunction((n) => document.querySelectorAll('[data-testid="item-tree"] .ant-tree-treenode').length > n, before, { timeout: STEP_MS });
  await see(p, "position-split-zh", "position-split");
  const grown = await treeNodes(p);
  await p.locator("#transfer-amount").fill("300000.00");
  await p.locator("#transfer-to").fill(TIER2.uscc);
  await p.getByRole("button", { name: "转让", exact: true }).click();
  const passed = toast(p, /^已转让给 .+：新份额/);
  await passed.waitFor({ timeout: STEP_MS });
  r.transfer = await passed.innerText();
  r.tier2Holding = /holding-[0-9a-f]+/.exec(r.transfer)?.[0] ?? null;
  await p.waitForFunction((n) => document.querySelectorAll('[data-testid="item-tree"] .ant-tree-treenode').length > n, grown, { timeout: STEP_MS });
  r.tree = await treeNodes(p);
  await see(p, "position-transfer-zh", "position-transfer");

  // ... the tier-2 supplier sees its holding and asks the bank to finance it: referred
  await menu(t2, "我的应收应付");
  await t2.getByTestId("position-holds").getByRole("button", { name: ITEM }).first().click();
  await t2.getByTestId("item-tree").waitFor({ timeout: STEP_MS });
  await see(t2, "position-tier2-zh");
  await onPhone(run, t2, "position-tier2-zh-phone", () => t2.getByTestId("item-tree").waitFor({ timeout: STEP_MS }));
  await t2.keyboard.press("Escape");
  await t2.locator(".ant-drawer-mask").waitFor({ state: "hidden", timeout: STEP_MS });
  await menu(t2, "融资申请");
  await t2.locator("#fin-holding").click();
  await t2.locator(".ant-select-item-option").filter({ hasText: r.tier2Holding }).click();
  await t2.getByLabel("银行（统一社会信用代码或编号）").fill(BANK);
  await t2.getByLabel("金额").fill("225000.00");
  await t2.getByRole("button", { name: "申请融资", exact: true }).click();
  // the toast, or the refusal in the form's alert
  const submitted = toast(t2, /^申请 \S+ 已提交：/);
  const refusedFin = t2.getByTestId("financing-error");
  await submitted.or(refusedFin).first().waitFor({ timeout: STEP_MS });
  r.financing = await ((await refusedFin.isVisible()) ? refusedFin : submitted).innerText();
  r.financing_id = /^申请 (\S+) 已提交/.exec(r.financing)?.[1] ?? null;
  if (!r.financing_id) throw new Error(`the financing request was refused: ${r.financing}`);
  const FIN = r.financing_id;
  await t2.getByTestId("financings").locator("tr.ant-table-row").first().waitFor({ timeout: STEP_MS });
  await see(t2, "financing-zh", "financing");

  // 6. the approver first: no proposal yet, the API refuses and the page says so in words
  const approver = await signedIn(run, BASE, "approver", PEOPLE.approver, PASSWORD, "zh");
  const a = approver.page;
  await menu(a, "授信审批队列");
  const second = a.getByRole("button", { name: `复核（第二人） ${FIN}` });
  await second.waitFor({ timeout: STEP_MS });
  await see(a, "bank-queue-zh-approver");
  const approve = async (expectRefusal) => {
    await second.click();
    const d = a.getByRole("dialog");
    await d.waitFor({ timeout: STEP_MS });
    // what the approver agrees to: the officer's proposal, or that none waits yet
    await d.getByTestId(expectRefusal ? "no-proposal" : `proposal-${FIN}`).waitFor({ timeout: STEP_MS });
    if (!expectRefusal) await see(a, "bank-approval-zh", "bank-approval");
    await d.getByLabel("复核意见（可选）").fill("额度与核心企业确权均已复核");
    await d.getByRole("button", { name: "同意提议" }).click();
    if (expectRefusal) {
      await d.getByTestId("refusal").waitFor({ timeout: STEP_MS });
      r.refusal = await d.getByTestId("refusal").innerText();
      await see(a, "bank-approval-refused-zh", "bank-approval-refused");
      await d.getByRole("button", { name: /关闭|Close/ }).first().click();
      await d.waitFor({ state: "hidden", timeout: STEP_MS });
    } else {
      await a.getByTestId("queue-outcome").waitFor({ timeout: STEP_MS });
      r.approved = await a.getByTestId("queue-outcome").innerText();
      await second.waitFor({ state: "detached", timeout: STEP_MS });
    }
  };
  await approve(true);

  // ... the credit officer, in English: the evidence, then approves; above the limit a proposal
  const officer = await signedIn(run, BASE, "officer", PEOPLE.officer, PASSWORD, "en");
  const o = officer.page;
  await menu(o, "Review queue");
  const decide = o.getByRole("button", { name: `Decide ${FIN}` });
  await decide.waitFor({ timeout: STEP_MS });
  await see(o, "bank-queue-en-officer", "bank-queue");
  await o.getByRole("button", { name: "Open the item" }).first().click();
  await o.getByRole("dialog").waitFor({ timeout: STEP_MS });
  // the item's evidence, or the drawer's alert saying why it cannot be read
  await o.getByRole("dialog").getByTestId("item-evidence").or(o.getByRole("dialog").getByRole("alert")).first().waitFor({ timeout: STEP_MS });
  await see(o, "bank-evidence-en", "bank-evidence");
  await o.keyboard.press("Escape");
  await o.getByRole("dialog").waitFor({ state: "hidden", timeout: STEP_MS });
  await decide.click();
  const dd = o.getByRole("dialog");
  await dd.waitFor({ timeout: STEP_MS });
  await dd.getByLabel("Approve").check();
  await dd.getByLabel("Reason").fill("Core enterprise confirmed the item; within the borrower's limit");
  await see(o, "bank-decide-en", "bank-decide");
  await dd.getByRole("button", { name: "Submit" }).click();
  await o.getByTestId("queue-outcome").waitFor({ timeout: STEP_MS });
  r.proposed = await o.getByTestId("queue-outcome").innerText();
  await menu(o, "Portfolio");
  await o.getByRole("heading", { name: "Portfolio" }).waitFor({ timeout: STEP_MS });
  await o.getByText("By borrower").waitFor({ timeout: STEP_MS });
  await see(o, "bank-portfolio-en");
  await menu(o, "Policy and limits");
  await o.getByRole("cell", { name: "refer_pd", exact: true }).waitFor({ timeout: STEP_MS }); // the policy's row
  await see(o, "bank-policy-en", "bank-policy");

  // ... the approver's second approval takes effect
  await a.getByRole("button", { name: "刷新" }).click();
  await approve(false);
  await see(a, "bank-queue-zh-after");
  await menu(a, "资产组合");
  // the portfolio's row (the decision's toast may still show the same id beside it)
  await a.getByRole("cell", { name: FIN, exact: true }).waitFor({ timeout: STEP_MS });
  await see(a, "bank-portfolio-zh", "bank-portfolio");

  // 7. the tier-2 supplier sees its financing approved
  await t2.reload({ timeout: STEP_MS });
  const row = t2.getByTestId("financings").locator("tr.ant-table-row").filter({ hasText: FIN });
  await row.filter({ hasText: /已批准|已放款|approved|active/ }).waitFor({ timeout: STEP_MS });
  r.tier2Financing = await row.innerText();
  await see(t2, "financing-zh-approved");

  // ... the regulator reads the supervision dashboard and finds it (and on a phone)
  const regulator = await signedIn(run, BASE, "regulator", PEOPLE.regulator, PASSWORD, "zh");
  const g = regulator.page;
  await menu(g, "监管看板");
  await g.getByTestId("kpis").waitFor({ timeout: STEP_MS });
  await g.getByText(FIN).first().waitFor({ timeout: STEP_MS });
  r.supervision = await g.getByTestId("kpis").innerText();
  await see(g, "supervision-zh", "supervision");
  await onPhone(run, g, "supervision-zh-phone", async () => {
    await g.getByTestId("kpis").waitFor({ timeout: STEP_MS });
    await g.getByText(FIN).first().waitFor({ timeout: STEP_MS });
  });

  // ... and the district's local government (English) its scenario platform's trade
  const district = await signedIn(run, BASE, "district", PEOPLE.district, PASSWORD, "en");
  const dg = district.page;
  await menu(dg, "Supervision");
  await dg.getByTestId("kpis").waitFor({ timeout: STEP_MS });
  await dg.getByText(PLATFORM_NAME).first().waitFor({ timeout: STEP_MS });
  await dg.getByText(r.trade_id, { exact: true }).first().waitFor({ timeout: STEP_MS });
  r.platform = await dg.getByTestId("kpis").innerText();
  await see(dg, "supervision-platform-en", "supervision-platform");

  // 8. the core enterprise (English) disputes its payable; the operator (Chinese) finds it on
  //    the disputes screen and resolves it (rejected, with its reasons): the item is open again
  await menu(c, "Payables");
  await c.getByTestId(`dispute-${ITEM}`).click();
  const disputeDialog = c.getByRole("dialog").filter({ has: c.getByTestId("dispute-reason") });
  await disputeDialog.getByTestId("dispute-reason").fill("The second delivery was not received");
  await disputeDialog.getByTestId("dispute-submit").click();
  await toast(c, `Item ${ITEM} disputed`).waitFor({ timeout: STEP_MS });
  await c.getByTestId(`withdraw-dispute-${ITEM}`).waitFor({ timeout: STEP_MS });
  await menu(op, "争议处理");
  const resolveIt = op.getByTestId(`resolve-${ITEM}`);
  await resolveIt.waitFor({ timeout: STEP_MS });
  r.disputed = await op.getByTestId("disputes").locator("tr.ant-table-row").filter({ has: resolveIt }).innerText();
  await see(op, "disputes-zh", "disputes");
  await resolveIt.click();
  const resolveDialog = op.getByRole("dialog").filter({ has: op.getByTestId("resolution-reason") });
  await resolveDialog.waitFor({ timeout: STEP_MS });
  await op.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"), null, { timeout: STEP_MS });
  await resolveDialog.getByLabel("争议不成立（凭证按原样有效）").check();
  await resolveDialog.getByTestId("resolution-reason").fill("收货单显示第二批货物已全部签收");
  await see(op, "dispute-resolve-zh", "dispute-resolve");
  await resolveDialog.getByTestId("resolve-submit").click();
  const resolvedToast = toast(op, `${ITEM}：已处理，争议不成立`);
  await resolvedToast.waitFor({ timeout: STEP_MS });
  r.resolved = await resolvedToast.innerText();
  await resolveIt.waitFor({ state: "detached", timeout: STEP_MS });
  await see(op, "disputes-after-zh");
  await c.reload({ timeout: STEP_MS });
  await c.getByTestId(`dispute-${ITEM}`).waitFor({ timeout: STEP_MS }); // not disputed any more

  // 9. an enterprise applies to the district's platform (Chinese); the district's local
  //    government (English) reviews it on its platform's admission screen and admits it
  await menu(dg, "Platform admissions");
  await dg.getByRole("heading", { name: "Admissions to my scenario platform" }).waitFor({ timeout: STEP_MS });
  const platformId = (await dg.getByTestId("platform-id").innerText()).trim();
  const applicant = await newPerson(run, "applicant");
  const ap = applicant.page;
  await ap.goto(`${BASE}/register`, { timeout: STEP_MS });
  await ap.getByRole("heading", { name: "企业注册入驻" }).waitFor({ timeout: STEP_MS });
  await ap.getByLabel("企业名称").fill(APPLICANT.name);
  await ap.getByLabel("统一社会信用代码").fill(APPLICANT.uscc);
  await ap.getByLabel("申请加入的场景平台（可选）").fill(platformId);
  await ap.getByLabel("营业执照编号").fill(APPLICANT.uscc);
  await ap.getByLabel("法定代表人").fill("周文");
  await ap.getByLabel("住所").fill("苏州市姑苏区平江路 88 号");
  await ap.getByLabel("管理员姓名").fill("周文");
  await ap.getByLabel("管理员电子邮箱").fill(APPLICANT.admin_email);
  await ap.getByLabel(/管理员密码/).fill(PASSWORD);
  await ap.getByRole("button", { name: /提\s*交申请/ }).click();
  await ap.getByTestId("registered").waitFor({ timeout: STEP_MS });
  await applicant.context.close();
  await dg.getByRole("button", { name: "Refresh", exact: true }).click();
  const reviewIt = dg.getByRole("button", { name: `Review ${APPLICANT.name}`, exact: true });
  await reviewIt.waitFor({ timeout: STEP_MS });
  await see(dg, "platform-admissions-en", "platform-admissions");
  await reviewIt.click();
  const admitDialog = dg.getByRole("dialog");
  await admitDialog.waitFor({ timeout: STEP_MS });
  await dg.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"), null, { timeout: STEP_MS });
  for (const check of ["Licence verified", "Legal representative verified", "Sanctions screened"]) {
    const box = admitDialog.getByLabel(check, { exact: true });
    for (let attempt = 0; attempt < 5 && !(await box.isChecked()); attempt += 1) {
      await admitDialog.getByText(check, { exact: true }).click();
      await dg.waitForFunction((el) => el.checked, await box.elementHandle(), { timeout: 2000 }).catch(() => undefined);
    }
    if (!(await box.isChecked())) throw new Error(`the KYC check ${check} does not tick`);
  }
  await admitDialog.getByLabel("Review note").fill("Licence and legal representative checked against the registry");
  await see(dg, "platform-admission-review-en", "platform-admission-review");
  await admitDialog.getByRole("button", { name: "Admit", exact: true }).click();
  const admittedToast = toast(dg, `${APPLICANT.name} admitted`);
  await admittedToast.waitFor({ timeout: STEP_MS });
  r.platformAdmitted = await admittedToast.innerText();
  await reviewIt.waitFor({ state: "detached", timeout: STEP_MS });
  await see(dg, "platform-admissions-after-en");

  // The supplier closes the item and signs out.
  await p.keyboard.press("Escape");
  await p.locator(".ant-drawer-mask").waitFor({ state: "hidden", timeout: STEP_MS });
  await p.getByRole("button", { name: /退出登录|Sign out/ }).click();
  await p.getByRole("heading", { name: "登录" }).waitFor({ timeout: STEP_MS });

  // Gallery: the states a person works in that the main path passes by, each on its page
  // (nothing here changes what the run proves: the dispute is cancelled, the rest is new).
  if (GALLERY) {
    // the core enterprise's dispute dialog, filled in and then cancelled
    await menu(c, "Payables");
    await c.getByTestId(`dispute-${ITEM}`).click();
    const disputing = c.getByRole("dialog").filter({ has: c.getByTestId("dispute-reason") });
    await disputing.getByTestId("dispute-reason").fill("The second delivery was not received");
    await see(c, "gallery-payables-dispute-en", "payables-dispute");
    await c.keyboard.press("Escape");
    await disputing.waitFor({ state: "hidden", timeout: STEP_MS });
    // read-only views on a phone (390x844): none may scroll sideways
    await onPhone(run, c, "payables-en-phone", () => c.getByTestId("payables").locator("tr.ant-table-row").first().waitFor({ timeout: STEP_MS }));
    await onPhone(run, a, "bank-portfolio-zh-phone", () => a.getByRole("cell", { name: FIN, exact: true }).waitFor({ timeout: STEP_MS }));
    await menu(a, "授信审批队列");
    await onPhone(run, a, "bank-queue-zh-phone", () => a.getByTestId("review-queue").waitFor({ timeout: STEP_MS }));
    await menu(o, "Model registry");
    await onPhone(run, o, "bank-models-en-phone", () => o.getByTestId("model-registry").waitFor({ timeout: STEP_MS }));
    await menu(t2, "融资申请");
    await onPhone(run, t2, "financing-zh-phone", () => t2.getByTestId("financings").locator("tr.ant-table-row").first().waitFor({ timeout: STEP_MS }));
    // the regulator: a figure drilled down to its trades, a trade's on-chain evidence, the network
    await g.getByRole("button", { name: "明细: 融资发放金额", exact: true }).click();
    const drill = g.getByTestId("drill");
    await drill.getByRole("heading", { name: /^贸易明细: 已融资/ }).waitFor({ timeout: STEP_MS });
    const evidenceOf = drill.getByRole("button", { name: `查看链上证据 ${r.trade_id}`, exact: true }).first();
    await evidenceOf.waitFor({ timeout: STEP_MS });
    await see(g, "gallery-supervision-drill-zh", "supervision-drill", drill);
    await evidenceOf.click();
    await g.getByTestId("evidence").waitFor({ timeout: STEP_MS });
    await see(g, "gallery-supervision-evidence-zh", "supervision-evidence");
    await g.keyboard.press("Escape");
    await g.getByTestId("evidence").waitFor({ state: "hidden", timeout: STEP_MS });
    await g.getByTestId("network-link").click();
    await g.getByTestId("network").waitFor({ timeout: STEP_MS });
    await see(g, "gallery-supervision-network-zh", "supervision-network");
    await onPhone(run, g, "supervision-network-zh-phone", () => g.getByTestId("network").waitFor({ timeout: STEP_MS }));
    // the tier-2 supplier's administrator: a user invited, an API key and a webhook created
    // (each secret shown once)
    await menu(t2, "用户与角色");
    await t2.getByLabel("姓名", { exact: true }).fill("李明");
    await t2.getByLabel("电子邮箱", { exact: true }).fill("clerk@tier2.example.cn");
    await t2.getByRole("button", { name: "邀请用户", exact: true }).click();
    await t2.getByText("邀请码（仅显示一次，请交给被邀请人）：").waitFor({ timeout: STEP_MS });
    await see(t2, "gallery-users-zh", "users");
    // ... the invited person sets its password on the invitation page and signs in
    const code = (await t2.locator(".ant-alert").filter({ hasText: "邀请码（仅显示一次" }).locator("code").innerText()).trim();
    const invited = await newPerson(run, "invited");
    const iv = invited.page;
    await iv.goto(BASE, { timeout: STEP_MS });
    await iv.getByRole("link", { name: "收到了邀请码？", exact: true }).click();
    await iv.getByRole("heading", { name: "接受邀请" }).waitFor({ timeout: STEP_MS });
    await iv.getByLabel("邀请码", { exact: true }).fill(code);
    await iv.getByLabel("登录密码（至少 12 位）", { exact: true }).fill(PASSWORD);
    await iv.getByLabel("再次输入密码", { exact: true }).fill(PASSWORD);
    await see(iv, "gallery-invitation-zh", "invitation");
    await iv.getByRole("button", { name: "设置密码", exact: true }).click();
    await iv.getByTestId("invitation-accepted").waitFor({ timeout: STEP_MS });
    await see(iv, "gallery-invitation-done-zh", "invitation-done");
    await iv.getByRole("link", { name: "返回登录", exact: true }).click();
    await signIn(iv, { email: "clerk@tier2.example.cn" }, PASSWORD);
    await invited.context.close();
    await menu(t2, "API 密钥");
    await t2.getByLabel("名称", { exact: true }).fill("ERP 对接");
    await t2.getByRole("button", { name: "创建密钥", exact: true }).click();
    await t2.getByText("新密钥（仅显示一次，请妥善保存）：").waitFor({ timeout: STEP_MS });
    await t2.getByRole("cell", { name: "ERP 对接", exact: true }).waitFor({ timeout: STEP_MS });
    await see(t2, "gallery-api-keys-zh", "api-keys");
    await menu(t2, "Webhook 推送");
    await t2.getByLabel("接收地址（http 或 https）").fill("https://erp.tier2.example.cn/fourflow/events");
    await t2.getByTestId("webhook-create").click();
    await t2.getByTestId("webhook-secret").waitFor({ timeout: STEP_MS });
    await t2.getByTestId("webhooks").getByRole("cell", { name: "https://erp.tier2.example.cn/fourflow/events", exact: true }).waitFor({ timeout: STEP_MS });
    await see(t2, "gallery-webhooks-zh", "webhooks");
  }

  // Gallery: every other page a menu offers these people, in both languages.
  if (GALLERY) {
    for (const person of [tier2, core, operator, officer, regulator]) {
      const pg = person.page;
      await pg.setViewportSize(DESKTOP);
      await language(pg, "zh");
      const keys = await pg.locator("nav .ant-menu-item").evaluateAll((els) => els.map((e) => e.getAttribute("data-menu-id") ?? ""));
      for (const key of keys) {
        const path = key.replace(/^.*?-(\/.*)$/, "$1");
        const name = path === "/" ? "home" : path.slice(1).replaceAll("/", "-");
        if (!path.startsWith("/") || r.gallery.includes(name)) continue;
        await pg.goto(`${BASE}${path}`, { timeout: STEP_MS });
        await pg.getByRole("heading", { level: 1 }).first().waitFor({ timeout: STEP_MS });
        await see(pg, `gallery-${name}-zh`, name);
      }
    }
  }
} catch (e) {
  failure = String(e?.stack ?? e);
}
await finish(run, failure);
