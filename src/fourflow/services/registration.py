"""Registration exports: every financing's pledge as a 中登网 registration record.

A receivable financing's pledged holding is an 应收账款质押 registration; a goods financing's
pledged warehouse receipt a 仓单质押 one (``every_registration`` exports both kinds, the whole
book or one bank's; ``pledge_registrations`` one debt item's).

Under the Civil Code (art. 445) a pledge of receivables is created on registration, and since
2021 the registry is the PBoC Credit Reference Center's 动产融资统一登记公示系统 (中登网,
www.zhongdengwang.org.cn; 《动产和权利担保统一登记办法》, PBoC order [2021] No. 7). FourFlow
cannot file for a member: the pledgee (the bank) files through its own registry account. This
module prepares the record: every field the registry asks for, filled from the store where
FourFlow knows it and marked for the member to fill where it does not (docs/registration.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from fourflow.domain.debt import DebtItem, Holding
from fourflow.domain.documents import DocumentKind
from fourflow.domain.errors import DomainValueError, NotFoundError
from fourflow.domain.financing import Financing, FinancingKind, FinancingStatus, GoodsFinancing
from fourflow.domain.identifiers import IdScheme
from fourflow.domain.money import Money
from fourflow.domain.parties import Organisation, Role
from fourflow.services.common import find_org, get_item, get_org, get_trade
from fourflow.services.ports import UnitOfWork, UnitOfWorkFactory

PLEDGE_TYPE = "应收账款质押"
GOODS_PLEDGE_TYPE = "仓单质押"
MIN_PERIOD_MONTHS = 1
MAX_PERIOD_MONTHS = 360  # the registry accepts 1 month to 30 years
DEFAULT_MARGIN_MONTHS = 6  # beyond maturity, to cover overdue collection and grace
FOURFLOW = "fourflow"
MEMBER = "member"
_REGISTERED = (
    FinancingStatus.APPROVED,
    FinancingStatus.ACTIVE,
    FinancingStatus.REPAID,
    FinancingStatus.DEFAULTED,
)


@dataclass(frozen=True, slots=True)
class RegistrationField:
    """One field of the registration form.

    Attributes:
        key: stable machine key (``pledgor.uscc``).
        label: the registry's label (Chinese) and an English gloss.
        value: the value, or None when a member must fill it.
        source: ``fourflow`` (from the store) or ``member`` (the filer fills it).
        required: whether the registry requires it.
    """

    key: str
    label: str
    value: str | None
    source: str
    required: bool = True


@dataclass(frozen=True, slots=True)
class RegistrationRecord:
    """The registration of one financing's pledge.

    Attributes:
        item_id: the debt item (a receivable pledge; ``""`` for goods).
        holding_id: the pledged holding (a receivable pledge; ``""`` for goods).
        financing_id: the financing the pledge secures.
        fields: the form's fields in the registry's order.
        kind: ``receivable`` (应收账款质押) or ``goods`` (仓单质押).
        receipt_id: the pledged warehouse receipt (goods).
    """

    item_id: str
    holding_id: str
    financing_id: str
    fields: tuple[RegistrationField, ...]
    kind: FinancingKind = FinancingKind.RECEIVABLE
    receipt_id: str | None = None

    def value(self, key: str) -> str | None:
        """The value of field ``key`` (KeyError if no such field)."""
        for f in self.fields:
            if f.key == key:
                return f.value
        raise KeyError(key)

    @property
    def to_fill(self) -> tuple[str, ...]:
        """Keys of required fields still without a value: what the member must add."""
        return tuple(f.key for f in self.fields if f.required and f.value is None)

    def as_dict(self) -> dict[str, object]:
        """Plain data for JSON output."""
        return {
            "kind": self.kind.value,
            "item_id": self.item_id or None,
            "holding_id": self.holding_id or None,
            "receipt_id": self.receipt_id,
            "financing_id": self.financing_id,
            "to_fill": list(self.to_fill),
            "fields": [
                {
                    "key": f.key,
                    "label": f.label,
                    "value": f.value,
                    "source": f.source,
                    "required": f.required,
                }
                for f in self.fields
            ],
        }


def period_months(start: dt.date, maturity: dt.date, margin_months: int) -> int:
    """The registration period suggested for a financing: its term plus a margin, in months."""
    months = (maturity.year - start.year) * 12 + maturity.month - start.month
    if maturity.day > start.day:
        months += 1
    return max(MIN_PERIOD_MONTHS, min(MAX_PERIOD_MONTHS, months + margin_months))


def _ours(key: str, label: str, value: object, *, required: bool = True) -> RegistrationField:
    """A field FourFlow fills (None when the store lacks the value: the member then fills it)."""
    text = None if value is None or value == "" else str(value)
    return RegistrationField(key, label, text, FOURFLOW if text is not None else MEMBER, required)


#: What the filer does with the record: register a live pledge; discharge one that ended.
INITIAL, DISCHARGE = "初始登记", "注销登记"


def _action(financing: Financing | GoodsFinancing) -> list[RegistrationField]:
    """The filing the record is for: an initial registration of a live pledge (approved,
    active, defaulted), or the discharge of one the bank was repaid on (its release), which
    names the initial registration's number (the filer's to fill)."""
    ended = financing.status is FinancingStatus.REPAID
    action = _ours(
        "registration.action",
        "登记业务 / filing (初始登记: register; 注销登记: discharge, once repaid)",
        DISCHARGE if ended else INITIAL,
    )
    if not ended:
        return [action]
    return [action, _theirs("registration.number", "登记编号 / the initial registration's number")]


def _theirs(key: str, label: str, *, required: bool = True) -> RegistrationField:
    """A field only the member can fill."""
    return RegistrationField(key, label, None, MEMBER, required)


def _identifier(org: Organisation, scheme: IdScheme) -> str | None:
    """The organisation's first identifier of ``scheme``, if it has one."""
    return next((i.value for i in org.identifiers if i.scheme is scheme), None)


def _party(prefix: str, title: str, org: Organisation, *, bank: bool) -> list[RegistrationField]:
    """The fields describing a pledgor (出质人) or pledgee (质权人)."""
    fields = [
        _ours(f"{prefix}.name", f"{title}名称 / legal name", org.name),
        _ours(f"{prefix}.type", f"{title}类型 / party type", "金融机构" if bank else "企业"),
        _ours(f"{prefix}.id_type", "证件类型 / identifier type", "统一社会信用代码"),
        _ours(f"{prefix}.uscc", "统一社会信用代码 / USCC", org.uscc),
        _ours(f"{prefix}.lei", "全球法人识别编码 / LEI", _identifier(org, IdScheme.LEI),
              required=False),
        _theirs(f"{prefix}.legal_representative", "法定代表人或负责人 / legal representative"),
        _theirs(f"{prefix}.address", "住所 / registered address"),
    ]  # fmt: skip
    if bank:
        fields.append(_theirs(f"{prefix}.institution_code", "金融机构编码 / PBoC institution code"))
    else:
        fields.append(_theirs(f"{prefix}.industry", "所属行业 / industry (GB/T 4754)"))
        fields.append(_theirs(f"{prefix}.size", "企业规模 / enterprise size (大/中/小/微)"))
    return fields


def _numbers(uow: UnitOfWork, item: DebtItem, *kinds: DocumentKind) -> list[str]:
    """Numbers of the trade's documents of ``kinds``, in link order."""
    trade = get_trade(uow, item.trade_id)
    numbers: list[str] = []
    for doc_id in trade.document_ids:
        stored = uow.documents.get(doc_id)
        if stored is not None and stored.document.kind in kinds:
            numbers.append(stored.document.number)
    return numbers


def _description(
    item: DebtItem,
    holding: Holding,
    debtor: Organisation,
    invoices: Sequence[str],
    contracts: Sequence[str],
    pledge_tx: str | None,
) -> str:
    """The pledged property's description (应收账款描述), as the registry publishes it."""
    face = Money.from_minor(item.face_value, item.currency)
    part = Money.from_minor(holding.amount, item.currency)
    lines = [
        f"出质人对{debtor.name}(统一社会信用代码{debtor.uscc})享有的应收账款:",
        f"应收账款总额{face.currency} {face.plain()},其中出质部分{part.currency} {part.plain()};",
        f"到期日{item.maturity_date.isoformat()};",
        f"发票号码:{'、'.join(invoices) or '无'};",
        f"基础合同/订单号码:{'、'.join(contracts) or '无'};",
        f"FourFlow数字债项{item.id},持有份额{holding.id}",
    ]
    if pledge_tx:
        lines[-1] += f",链上质押交易{pledge_tx}"
    return "".join(lines) + "。"


def _record(
    uow: UnitOfWork, item: DebtItem, holding: Holding, financing: Financing, margin_months: int
) -> RegistrationRecord:
    """The registration record of one financing's pledge."""
    pledgor = get_org(uow, financing.borrower_id)
    pledgee = get_org(uow, financing.bank_id)
    debtor = get_org(uow, item.debtor_id)
    invoices = _numbers(uow, item, DocumentKind.INVOICE)
    contracts = _numbers(uow, item, DocumentKind.CONTRACT, DocumentKind.ORDER)
    pledge_op = next(
        (o for o in uow.outbox.for_subject(financing.id) if o.kind.value == "pledge"), None
    )
    principal = Money.from_minor(financing.principal, item.currency)
    months = period_months(financing.start_date, financing.maturity_date, margin_months)
    fields = [
        *_action(financing),
        _ours("registration.type", "登记类型 / registration type", PLEDGE_TYPE),
        _ours("registration.period_months", "登记期限(月) / registration period, months "
              "(1-360; suggested: the financing term plus a margin)", months),
        *_party("pledgor", "出质人", pledgor, bank=False),
        *_party("pledgee", "质权人", pledgee, bank=pledgee.has_role(Role.BANK)),
        _ours("secured.principal", "主债权金额 / principal amount secured", principal.plain()),
        _ours("secured.currency", "币种 / currency", principal.currency),
        _ours("secured.term_start", "主债权履行期限起 / financing term from",
              financing.start_date.isoformat()),
        _ours("secured.term_end", "主债权履行期限止 / financing term to",
              financing.maturity_date.isoformat()),
        _theirs("secured.contract_number", "主合同号码 / financing contract number",
                required=False),
        _ours("secured.maximum_amount", "是否最高额担保 / maximum-amount security", "否"),
        _ours("property.debtor_name", "应收账款债务人 / receivable debtor", debtor.name),
        _ours("property.debtor_uscc", "债务人统一社会信用代码 / debtor USCC", debtor.uscc),
        _ours("property.amount", "应收账款金额 / receivable amount pledged",
              Money.from_minor(holding.amount, item.currency).plain()),
        _ours("property.invoice_numbers", "发票号码 / invoice numbers", "、".join(invoices),
              required=False),
        _ours("property.contract_numbers", "合同/订单号码 / contract or order numbers",
              "、".join(contracts), required=False),
        _ours("property.maturity", "应收账款到期日 / receivable maturity",
              item.maturity_date.isoformat()),
        _ours("property.description", "担保财产描述 / description of the pledged property",
              _description(item, holding, debtor, invoices, contracts,
                           pledge_op.tx_hash if pledge_op else None)),
        _theirs("property.transfer_restricted",
                "是否存在禁止或限制转让 / transfer prohibited or restricted", required=False),
        _theirs("filer.account", "填表人(中登网用户) / filer's registry account"),
    ]  # fmt: skip
    return RegistrationRecord(item.id, holding.id, financing.id, tuple(fields))


def pledge_registrations(
    *,
    uow_factory: UnitOfWorkFactory,
    item_id: str,
    margin_months: int = DEFAULT_MARGIN_MONTHS,
    overrides: Mapping[str, str] | None = None,
) -> list[RegistrationRecord]:
    """The registration record of every pledge of a debt item (approved, active or repaid).

    ``overrides`` fills member fields (``{"pledgor.address": "..."}``) for every record.
    """
    with uow_factory() as uow:
        item = get_item(uow, item_id)
        records: list[RegistrationRecord] = []
        for holding in uow.items.holdings(item_id):
            financing = uow.financings.by_holding(holding.id)
            if financing is None or financing.status not in _REGISTERED:
                continue
            records.append(_record(uow, item, holding, financing, margin_months))
    if overrides:
        records = [_fill(r, overrides) for r in records]
    return records


def _fill(record: RegistrationRecord, overrides: Mapping[str, str]) -> RegistrationRecord:
    """The record with member-supplied values put into their fields."""
    known = {f.key for f in record.fields}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise NotFoundError(f"no registration field named {', '.join(unknown)}")
    fields = tuple(
        RegistrationField(f.key, f.label, overrides[f.key], MEMBER, f.required)
        if f.key in overrides
        else f
        for f in record.fields
    )
    return replace(record, fields=fields)


CSV_COLUMNS = (
    "financing_id", "holding_id", "key", "label", "value", "source", "required", "kind",
    "receipt_id",
)  # fmt: skip


def to_csv(records: Sequence[RegistrationRecord]) -> str:
    """The records as CSV, one row per field (UTF-8 text; Excel wants a BOM added)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        for f in r.fields:
            writer.writerow(
                [r.financing_id, r.holding_id, f.key, f.label, f.value or "", f.source,
                 "yes" if f.required else "no", r.kind.value, r.receipt_id or ""]
            )  # fmt: skip
    return out.getvalue()


def _goods_record(
    uow: UnitOfWork, financing: GoodsFinancing, margin_months: int
) -> RegistrationRecord:
    """The 仓单质押 registration record of one goods financing's pledged receipt."""
    receipt = uow.receipts.get(financing.receipt_id)
    if receipt is None:
        raise NotFoundError(
            f"warehouse receipt {financing.receipt_id} of financing {financing.id} is not in "
            "the store"
        )
    pledgor = get_org(uow, financing.borrower_id)
    pledgee = get_org(uow, financing.bank_id)
    warehouse = get_org(uow, receipt.warehouse_id)
    pledge_op = uow.outbox.get(financing.pledge_op_id) if financing.pledge_op_id else None
    principal = Money.from_minor(financing.principal, financing.currency)
    value = financing.decision.value if financing.decision else None
    worth = None if value is None else Money.from_minor(value, financing.currency)
    end = financing.maturity_date
    months = None if end is None else period_months(financing.start_date, end, margin_months)
    lines = [
        f"出质人持有的{warehouse.name}(统一社会信用代码{warehouse.uscc})签发的仓单{receipt.id}:",
        f"货物{receipt.description}(编码{receipt.goods_code}),数量{financing.quantity}{receipt.unit},",
        f"存放于{receipt.location};",
    ]
    if worth is not None:
        lines.append(f"质押时估值(扣除折扣后){worth.currency} {worth.plain()};")
    lines.append(f"FourFlow融资{financing.id}")
    if pledge_op is not None and pledge_op.tx_hash:
        lines[-1] += f",链上质押交易{pledge_op.tx_hash}"
    fields = [
        *_action(financing),
        _ours("registration.type", "登记类型 / registration type", GOODS_PLEDGE_TYPE),
        _ours("registration.period_months", "登记期限(月) / registration period, months "
              "(1-360; suggested: the financing term plus a margin)", months),
        *_party("pledgor", "出质人", pledgor, bank=False),
        *_party("pledgee", "质权人", pledgee, bank=pledgee.has_role(Role.BANK)),
        _ours("secured.principal", "主债权金额 / principal amount secured", principal.plain()),
        _ours("secured.currency", "币种 / currency", principal.currency),
        _ours("secured.term_start", "主债权履行期限起 / financing term from",
              financing.start_date.isoformat()),
        _ours("secured.term_end", "主债权履行期限止 / financing term to",
              None if end is None else end.isoformat()),
        _theirs("secured.contract_number", "主合同号码 / financing contract number",
                required=False),
        _ours("secured.maximum_amount", "是否最高额担保 / maximum-amount security", "否"),
        _ours("property.receipt_number", "仓单编号 / warehouse receipt number", receipt.id),
        _ours("property.warehouse_name", "保管人(仓储企业) / warehouse keeper", warehouse.name),
        _ours("property.warehouse_uscc", "保管人统一社会信用代码 / warehouse keeper USCC",
              warehouse.uscc),
        _ours("property.goods", "货物名称 / goods", receipt.description),
        _ours("property.goods_code", "货物编码 / goods code", receipt.goods_code,
              required=False),
        _ours("property.quantity", "数量 / quantity", financing.quantity),
        _ours("property.unit", "计量单位 / unit", receipt.unit),
        _ours("property.location", "存放地点 / where the goods are kept", receipt.location),
        _ours("property.value", "担保财产价值 / value (after haircut) when pledged",
              None if worth is None else worth.plain(), required=False),
        _ours("property.description", "担保财产描述 / description of the pledged property",
              "".join(lines) + "。"),
        _theirs("filer.account", "填表人(中登网用户) / filer's registry account"),
    ]  # fmt: skip
    return RegistrationRecord(
        "", "", financing.id, tuple(fields), FinancingKind.GOODS, financing.receipt_id
    )


def every_registration(
    *,
    uow_factory: UnitOfWorkFactory,
    bank: str | None = None,
    kind: str | None = None,
    margin_months: int = DEFAULT_MARGIN_MONTHS,
    overrides: Mapping[str, str] | None = None,
) -> list[RegistrationRecord]:
    """The registration record of every financing's pledge, receivable and goods: approved,
    active, repaid or defaulted (of ``bank`` (USCC or id) and of ``kind`` (``receivable``,
    ``goods``), if given), receivable financings first, each kind oldest first.

    ``overrides`` fills member fields for every record (a key no record has is refused).
    """
    if kind is not None and kind not in {k.value for k in FinancingKind}:
        raise DomainValueError(f"kind {kind!r} is not one of {[k.value for k in FinancingKind]}")
    records: list[RegistrationRecord] = []
    with uow_factory() as uow:
        bank_id = None if bank is None else find_org(uow, bank).id
        if kind in (None, FinancingKind.RECEIVABLE.value):
            for fin in uow.financings.list():
                if fin.status not in _REGISTERED or bank_id not in (None, fin.bank_id):
                    continue
                holding = uow.items.get_holding(fin.holding_id)
                if holding is None:
                    raise NotFoundError(f"holding {fin.holding_id} of financing {fin.id} is gone")
                item = get_item(uow, fin.item_id)
                records.append(_record(uow, item, holding, fin, margin_months))
        if kind in (None, FinancingKind.GOODS.value):
            for goods in uow.goods_financings.list():
                if goods.status in _REGISTERED and bank_id in (None, goods.bank_id):
                    records.append(_goods_record(uow, goods, margin_months))
    if overrides:
        known = {f.key for r in records for f in r.fields}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise NotFoundError(f"no registration field named {', '.join(unknown)}")
        records = [
            _fill(r, {k: v for k, v in overrides.items() if k in {f.key for f in r.fields}})
            for r in records
        ]
    return records
