"""``fourflow platform``: scenario platforms as tenants (issue 16 item 5, docs/api.md).

FourFlow's operator creates a platform run by a local government (``create``), and may manage
it from its own home (``admit``, ``bank add``, ``product add``); over the API the platform's
local government does this itself, as itself. Acting ``--as`` another organisation (the local
government, a bank) exists only in demo and simulation homes.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer
from rich.table import Table

from fourflow.domain.errors import DomainValueError
from fourflow.domain.identity import KYC_CHECKS
from fourflow.domain.money import Money
from fourflow.entrypoints.cli import home_mode
from fourflow.entrypoints.cli.common import JsonOpt, platform
from fourflow.entrypoints.cli.output import console, emit_json
from fourflow.services import onboarding
from fourflow.services import scenario_platforms as sp

platform_app = typer.Typer(
    help="Scenario platforms run by local governments: members, banks, products, figures.",
    no_args_is_help=True,
)
bank_app = typer.Typer(help="Banks taking part in a scenario platform.", no_args_is_help=True)
product_app = typer.Typer(help="Banks' products on a scenario platform.", no_args_is_help=True)

AsOrg = Annotated[
    str,
    typer.Option(
        "--as",
        help="The organisation acting (USCC or id): `operator` (FourFlow's), or the platform's "
        "local government or a bank in demo and simulation homes only.",
        callback=home_mode.as_org_callback,
    ),
]
By = Annotated[str, typer.Option("--by", help="The person acting (recorded).")]


def register(app: typer.Typer) -> None:
    """Add ``fourflow platform`` to the CLI."""
    app.add_typer(platform_app, name="platform")
    platform_app.add_typer(bank_app, name="bank")
    platform_app.add_typer(product_app, name="product")


def _viewer(p: Any, as_org: str = "operator") -> sp.Viewer:
    ref = p.operator_id() if as_org == "operator" else as_org
    return sp.viewer_of(p.uow_factory, onboarding.org_id(uow_factory=p.uow_factory, ref=ref))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _view(p: Any, platform_id: str) -> dict[str, Any]:
    v = sp.details(p.scenario_platforms, p.uow_factory, viewer=_viewer(p), platform_id=platform_id)
    return {
        **_platform(v.platform),
        "operator_name": v.operator_name,
        "members": [
            {"org_id": m.org_id, "name": n, "kyc": dict(m.kyc), "admitted_by": m.admitted_by,
             "admitted_at": m.admitted_at.isoformat()}
            for m, n in v.members
        ],
        "banks": [
            {"bank_id": b.bank_id, "name": n, "added_at": b.added_at.isoformat()}
            for b, n in v.banks
        ],
        "products": [_product(x) for x in v.products],
    }  # fmt: skip


def _platform(x: sp.ScenarioPlatform) -> dict[str, Any]:
    return {
        "id": x.id, "name": x.name, "operator_org_id": x.operator_org_id,
        "scenarios": [s.value for s in x.scenarios], "region": x.region,
        "created_at": x.created_at.isoformat(),
    }  # fmt: skip


def _product(x: sp.PlatformProduct) -> dict[str, Any]:
    return {
        "id": x.id, "bank_id": x.bank_id, "name": x.name, "scenario": x.scenario.value,
        "currency": x.currency, "max_amount": Money.from_minor(x.max_amount, x.currency).plain(),
        "max_term_days": x.max_term_days,
    }  # fmt: skip


def _checks(text: str) -> dict[str, bool]:
    names = [c.strip() for c in text.split(",") if c.strip()]
    return {c: True for c in names}


@platform_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The platform's name (unique).")],
    operator: Annotated[
        str, typer.Option("--operator", help="The local government running it (USCC or id).")
    ],
    scenario: Annotated[
        list[str],
        typer.Option(
            "--scenario",
            help="A scenario it serves (repeat): manufacturing, "
            "culture_tourism, travel, agriculture, medical, bulk_commodities, "
            "cross_border, government_procurement.",
        ),
    ],
    region: Annotated[str, typer.Option(help="The district or region it serves.")] = "",
    by: By = "operator (CLI)",
    as_json: JsonOpt = False,
) -> None:
    """Create a scenario platform run by a local government (FourFlow's operator does)."""
    with platform() as p:
        created = sp.create(
            p.scenario_platforms, p.uow_factory, name=name, operator=operator, scenarios=scenario,
            region=region, by=by, now=_now(),
        )  # fmt: skip
    if as_json:
        emit_json(_platform(created))
        return
    console.print(f"created {created.id}  {created.name}  run by {created.operator_org_id}")


@platform_app.command("list")
def list_platforms(as_json: JsonOpt = False) -> None:
    """Every scenario platform (FourFlow's operator sees them all)."""
    with platform() as p:
        found = sp.visible(p.scenario_platforms, _viewer(p))
    if as_json:
        emit_json([_platform(x) for x in found])
        return
    table = Table("id", "name", "operator", "scenarios", "region")
    for x in found:
        table.add_row(x.id, x.name, x.operator_org_id, ", ".join(s.value for s in x.scenarios),
                      x.region)  # fmt: skip
    console.print(table)


@platform_app.command("show")
def show(
    platform_id: Annotated[str, typer.Argument(help="The platform's id.")],
    as_json: JsonOpt = False,
) -> None:
    """A platform with its members (and their KYC review), banks and products."""
    with platform() as p:
        view = _view(p, platform_id)
    if as_json:
        emit_json(view)
        return
    console.print(f"{view['id']}  {view['name']}  run by {view['operator_name']}")
    console.print(f"scenarios: {', '.join(view['scenarios'])}  region: {view['region'] or '-'}")
    for m in view["members"]:
        console.print(f"  member {m['org_id']}  {m['name']}  admitted by {m['admitted_by']}")
    for b in view["banks"]:
        console.print(f"  bank   {b['bank_id']}  {b['name']}")
    for x in view["products"]:
        console.print(
            f"  product {x['name']} ({x['bank_id']}): {x['scenario']}, up to "
            f"{x['max_amount']} {x['currency']} for {x['max_term_days']} days"
        )


@platform_app.command("figures")
def figures(
    platform_id: Annotated[str, typer.Argument(help="The platform's id.")],
    as_of: Annotated[str | None, typer.Option(help="The day, YYYY-MM-DD (today).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The platform's figures: members, trades between them in its scenarios, items,
    financings by its banks, amounts, overdue."""
    with platform() as p:
        try:
            day = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise DomainValueError(f"--as-of {as_of!r} is not a date YYYY-MM-DD") from None
        found = sp.figures(
            p.scenario_platforms, p.uow_factory, viewer=_viewer(p), platform_id=platform_id,
            as_of=day or p.clock.today(),
        ).as_dict()  # fmt: skip
    if as_json:
        emit_json(found)
        return
    for key, value in found.items():
        console.print(f"{key:<20} {value}")


@platform_app.command("trades")
def trades(
    platform_id: Annotated[str, typer.Argument(help="The platform's id.")],
    as_of: Annotated[str | None, typer.Option(help="The day, YYYY-MM-DD (today).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The trades behind the platform's figures, with their items and financings."""
    with platform() as p:
        try:
            day = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError:
            raise DomainValueError(f"--as-of {as_of!r} is not a date YYYY-MM-DD") from None
        rows = sp.trades(
            p.scenario_platforms, p.uow_factory, viewer=_viewer(p), platform_id=platform_id,
            as_of=day or p.clock.today(),
        )  # fmt: skip
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        items = ", ".join(
            f"{i['item_id']} {i['face_value']} {i['currency']} {i['status']}" for i in r["items"]
        )
        console.print(
            f"{r['trade_id']}  {r['scenario']}  {r['seller_id']} -> {r['buyer_id']}  "
            f"{r['status']}  items: {items or '-'}  financings: {len(r['financings'])}"
        )


@platform_app.command("admit")
def admit(
    platform_id: Annotated[str, typer.Argument(help="The platform's id.")],
    org: Annotated[str, typer.Argument(help="The organisation admitted (USCC or id).")],
    note: Annotated[str, typer.Option("--note", help="What the KYC review found.")],
    checks: Annotated[
        str,
        typer.Option(
            "--checks", help=f"The KYC checks done, comma-separated: {','.join(KYC_CHECKS)}."
        ),
    ] = "",
    as_org: AsOrg = "operator",
    by: By = "operator (CLI)",
    as_json: JsonOpt = False,
) -> None:
    """Admit a member into the platform after a KYC review (recorded against it)."""
    with platform() as p:
        member = sp.admit(
            p.scenario_platforms, p.uow_factory, viewer=_viewer(p, as_org),
            platform_id=platform_id, org=org, checks=_checks(checks), note=note, by=by,
            now=_now(),
        )  # fmt: skip
    if as_json:
        emit_json({"platform_id": member.platform_id, "org_id": member.org_id,
                   "kyc": dict(member.kyc), "admitted_by": member.admitted_by})  # fmt: skip
        return
    console.print(f"admitted {member.org_id} into {member.platform_id}")


@bank_app.command("add")
def add_bank(
    platform_id: Annotated[str, typer.Argument(help="The platform's id.")],
    bank: Annotated[str, typer.Argument(help="The bank (USCC or id).")],
    as_org: AsOrg = "operator",
    by: By = "operator (CLI)",
) -> None:
    """Name a bank as taking part in the platform."""
    with platform() as p:
        added = sp.add_bank(
            p.scenario_platforms, p.uow_factory, viewer=_viewer(p, as_org),
            platform_id=platform_id, bank=bank, by=by, now=_now(),
        )  # fmt: skip
    console.print(f"bank {added.bank_id} takes part in {added.platform_id}")


@product_app.command("add")
def add_product(
    platform_id: Annotated[str, typer.Argument(help="The platform's id.")],
    bank: Annotated[str, typer.Option("--bank", help="The bank offering it (USCC or id).")],
    name: Annotated[str, typer.Option("--name", help="The product's name.")],
    scenario: Annotated[str, typer.Option("--scenario", help="The scenario it finances.")],
    max_amount: Annotated[str, typer.Option("--max-amount", help="The largest principal.")],
    max_term_days: Annotated[int, typer.Option("--max-term-days", help="The longest term.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 currency.")] = "CNY",
    as_org: AsOrg = "operator",
    by: By = "operator (CLI)",
    as_json: JsonOpt = False,
) -> None:
    """Add a participating bank's financing product to the platform."""
    with platform() as p:
        bank_id = onboarding.org_id(uow_factory=p.uow_factory, ref=bank)
        product = sp.add_product(
            p.scenario_platforms, viewer=_viewer(p, as_org), platform_id=platform_id,
            bank_id=bank_id, name=name, scenario=scenario, max_amount=max_amount,
            currency=currency, max_term_days=max_term_days, by=by, now=_now(),
        )  # fmt: skip
    if as_json:
        emit_json(_product(product))
        return
    console.print(f"product {product.id} {product.name} on {product.platform_id}")
