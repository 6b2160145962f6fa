"""Screenshots of every page of the web app, in Chinese and in English, for docs/ui.md.

    make screenshots        # or: .venv/bin/python tools/ui_screenshots.py [--out docs/ui]

Runs the browser test's main path (tests/web/test_browser.py: `fourflow serve` on a fresh home
on 127.0.0.1, the world built over HTTP, web/e2e/six-users.mjs in Debian's chromium through
playwright-core) with GALLERY_DIR set: each page named for the docs is shot at 1366x768 in
both languages at the moment the main path shows it (then every other page a menu offers).
The PNGs are reduced to 256 colours (Pillow) into docs/ui/<page>.<zh|en>.png, and docs/ui.md is
written with a line per page saying what it is for. Needs `make setup`. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.web.test_browser import (  # noqa: E402
    FOUR_EYES_LIMIT,
    build_world,
    run_six_users,
    serve_home,
)

#: The pages and states in the order of the main path: each with the route it is on (App.tsx)
#: and what it is for. tests/web/test_ui_doc.py checks that docs/ui.md shows every route.
PAGES: dict[str, tuple[str, str]] = {
    "sign-in": (
        "/",
        "Sign in (everyone): e-mail, password and, for banks, the operator, "
        "regulators and local governments, the one-time code of the second factor "
        "(TOTP). Chinese by default; the header switches to English.",
    ),
    "register": (
        "/register",
        "Registration (anyone): an organisation applies to join with "
        "its USCC, licence details, bank account and first administrator; the operator "
        "(or a scenario platform's local government) reviews it.",
    ),
    "register-done": (
        "/register",
        "The application sent: its number, and that the operator "
        "reviews it before anyone can sign in.",
    ),
    "admissions": ("/admissions", "Admissions (the platform operator): the pending applications."),
    "admission-review": (
        "/admissions",
        "An admission review: the KYC checks (licence, legal "
        "representative, sanctions screening), a note, admit or reject.",
    ),
    "platform-admissions": (
        "/platform-admissions",
        "Admissions to a scenario platform (its local government): the platform it runs, the "
        "platform id applicants give when they register, and the applications to it.",
    ),
    "platform-admission-review": (
        "/platform-admissions",
        "A local government's admission review: the same KYC checks and note; admitted, the "
        "organisation is a member of FourFlow and of the platform at once.",
    ),
    "upload": (
        "/upload",
        "Upload documents (enterprises, core enterprises, logistics): many "
        "files dropped at once, two sent at a time with progress; a result per file with "
        "its finding in words (here public UBL examples: two accepted, an invoice "
        "rejected with each EN 16931 rule it breaks, a quotation FourFlow does not read).",
    ),
    "home": ("/", "Home (signed in): who I am, my organisation and role."),
    "trade": (
        "/trade",
        "Trades (enterprises, core enterprises): my trades; a trade's "
        "verification with its four flows side by side (commercial, logistics, capital, "
        "information, and the checks across them) and the evidence chain: each document's "
        "submitter, signer, time and on-chain anchor.",
    ),
    "notifications": (
        "/trade",
        "Live notifications (everyone signed in, from the bell in the "
        "header on every page): events of my organisation arriving over "
        "server-sent events (here the trade's verification).",
    ),
    "trade-issue": (
        "/trade",
        "Issuing the item on a verified trade I sell: the trade, an "
        "optional business date; face value and due date come from the invoice.",
    ),
    "payables-confirm": (
        "/payables",
        "Confirming a payable: what the company signs (the "
        "item and its amount) before the EIP-712 signature through custody.",
    ),
    "payables": (
        "/payables",
        "Payables (core enterprises): what I owe by item; confirm one "
        "(the company's EIP-712 signature, through custody or with its own key) or "
        "dispute it with a reason.",
    ),
    "payables-dispute": (
        "/payables",
        "Disputing a payable: the reason, recorded on the chain "
        "and sent to the creditor (a dispute can later be withdrawn).",
    ),
    "disputes": (
        "/disputes",
        "Disputes (the platform operator): the items their debtors dispute now, with the "
        "debtor, creditor, outstanding amount, due date, the dispute's day and reason; each "
        "item opens in the evidence drawer.",
    ),
    "dispute-resolve": (
        "/disputes",
        "Resolving a dispute (the operator's administrator): upheld or rejected, with the "
        "reasons recorded and their hash put on the chain; the item is open again.",
    ),
    "consents": (
        "/consents",
        "Data consents (core enterprises): let a bank read my data "
        "(kinds, purpose, counterparties, term), revoke with a reason; the monthly "
        "data-use statement per bank.",
    ),
    "consents-revoke": ("/consents", "Revoking a consent: the reason, kept with the consent."),
    "position": (
        "/position",
        "My position (enterprises): my receivables (holdings), payables "
        "and financings; an item's facts, the provenance tree of its holdings (split "
        "and transferred up the chain), repayments and how they were routed, and the "
        "split and transfer forms.",
    ),
    "position-split": (
        "/position",
        "After a split: the holding in two, the provenance tree grown by a branch.",
    ),
    "position-transfer": (
        "/position",
        "After a transfer to the tier-2 supplier: the new "
        "holding in the provenance tree, with its holder.",
    ),
    "financing": (
        "/financing",
        "Financing (enterprises): request financing on one of my free "
        "holdings from a bank; the robot's decision and reasons at once; my requests "
        "with their chain state.",
    ),
    "bank-approval-refused": (
        "/bank/queue",
        "A second approval before any proposal: the API's refusal in words, nothing changed.",
    ),
    "bank-queue": (
        "/bank/queue",
        "Review queue (a bank's credit officers and approvers): "
        "referred requests with the borrower, amount, the robot's PD and reasons, "
        "expected loss and value today.",
    ),
    "bank-evidence": (
        "/bank/queue",
        "The evidence behind a request: the item (trade, debtor, "
        "creditor, basis, dates, amounts, holdings and pledges).",
    ),
    "bank-decide": (
        "/bank/queue",
        "A credit officer's decision: approve or decline with a "
        "reason; above the four-eyes limit it becomes a proposal for a second "
        "person.",
    ),
    "bank-policy": (
        "/bank/policy",
        "Policy and limits (a bank): the product policy; a change "
        "proposed and approved by a second person.",
    ),
    "bank-approval": (
        "/bank/queue",
        "Second approval (a bank's approver): the credit "
        "officer's proposal above the four-eyes limit, shown before agreeing or "
        "disagreeing.",
    ),
    "bank-portfolio": (
        "/bank/portfolio",
        "Portfolio (a bank): live financings by borrower, "
        "debtor, scenario, tenor and days overdue, with totals and CSV exports.",
    ),
    "supervision": (
        "/supervision",
        "Supervision dashboard (the regulator): trades verified "
        "and failed, items, financing issued, outstanding and settled, overdue and "
        "non-performing ratios, days to pay against 60 days, terms against 6 months "
        "and 1 year, concentration, alerts; each figure drills down to the trades "
        "and financings behind it; exports (CSV, XLSX, a PDF report).",
    ),
    "supervision-platform": (
        "/supervision",
        "Supervision of a scenario platform (its local "
        "government): the platform's members, banks, trades, items and "
        "financings.",
    ),
    "supervision-drill": (
        "/supervision",
        "A figure drilled down (financing issued): the "
        "trades and financings behind it, page by page, with CSV.",
    ),
    "supervision-evidence": (
        "/supervision",
        "A trade's on-chain evidence, opened from the "
        "drill-down: its documents, their anchors and the verification.",
    ),
    "supervision-network": (
        "/supervision/network",
        "Supply network (supervision): the members drawn by tier, and listed.",
    ),
    "users": (
        "/users",
        "Users and roles (an organisation's administrator): the users, their "
        "roles and second factor, disable; invite (the invitation code shown once).",
    ),
    "invitation": (
        "/invitation",
        "Accepting an invitation (the invited person, signed out; linked from the sign-in "
        "page): the invitation code and a password; where the role needs a second factor, its "
        "TOTP enrolment shown once.",
    ),
    "invitation-done": (
        "/invitation",
        "The invitation accepted: the new user and its role; signing in follows.",
    ),
    "api-keys": (
        "/api-keys",
        "API keys (an organisation's administrator): create (the key shown once), list, revoke.",
    ),
    "webhooks": (
        "/webhooks",
        "Webhooks (an organisation's administrator): an endpoint for "
        "chosen event kinds (its signing secret shown once), list, delete; deliveries "
        "given up after the last attempt.",
    ),
    "bank-models": (
        "/bank/models",
        "Model registry (a bank): the champion and challengers, "
        "validation figures and drift alerts.",
    ),
}


def compress(source: Path, target: Path) -> int:
    """``source`` reduced to a 256-colour palette PNG at ``target``; its size in bytes."""
    with Image.open(source) as image:
        reduced = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        reduced.save(target, optimize=True)
    return target.stat().st_size


def write_markdown(out: Path, names: list[str]) -> Path:
    """docs/ui.md: a section per page with what it is for and its two screenshots."""
    lines = [
        "# The web app, page by page",
        "",
        "Every page of the web application (docs/web.md) at 1366×768, in Chinese (the default) "
        "and in English, as the main path shows it: the browser test's six people (supplier, "
        "tier-2 supplier, core enterprise, bank credit officer, bank approver, regulator), the "
        "platform operator and a district's local government, on a fresh platform with a "
        "trade generated by the simulator and public UBL examples, and the states people work "
        "in (dialogs, drawers, answers), each under the route it is on. Made by `make "
        "screenshots` (tools/ui_screenshots.py): re-run it after a change to a page; "
        "tests/web/test_ui_doc.py fails when a route of web/src/App.tsx has no section here.",
        "",
    ]
    ordered = [n for n in PAGES if n in names] + sorted(n for n in names if n not in PAGES)
    for name in ordered:
        route, what = PAGES.get(name, ("?", "(not described: add it to PAGES in this tool)"))
        lines += [
            f"## {name}",
            "",
            f"Route: `{route}`. {what}",
            "",
            f"![{name} (中文)](ui/{name}.zh.png)",
            f"![{name} (English)](ui/{name}.en.png)",
            "",
        ]
    path = out.parent / "ui.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "ui")
    args = parser.parse_args()
    out: Path = args.out
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fourflow-ui-") as tmp_name:
        tmp = Path(tmp_name)
        gallery = tmp / "gallery"
        with serve_home(tmp, FOURFLOW_FOUR_EYES_LIMIT=FOUR_EYES_LIMIT) as served:
            world = build_world(served, tmp)
            result = run_six_users(world, tmp / "screenshots", gallery)
        names: list[str] = result["gallery"]
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*.png"):
            old.unlink()
        size = 0
        for name in names:
            for lang in ("zh", "en"):
                size += compress(gallery / f"{name}.{lang}.png", out / f"{name}.{lang}.png")
    doc = write_markdown(out, names)
    seconds = round(time.monotonic() - started, 1)
    print(json.dumps({"pages": len(names), "pngs": 2 * len(names), "bytes": size,
                      "markdown": str(doc), "seconds": seconds}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
