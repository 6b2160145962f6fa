// An item's view (issue 17 item 2): its facts, its holdings, the provenance tree of the
// holdings (splits and transfers, from parent_id) and the split / transfer forms for the
// caller's own free holdings.
import { useCallback, useEffect, useState } from "react";
import { Alert, App as AntApp, Button, Card, Descriptions, Drawer, Form, Input, Select, Space, Spin, Table, Tree } from "antd";
import { Link } from "react-router-dom";
import { must } from "../../api/client";
import { Deferred } from "../../components/Deferred";
import { ScrollX } from "../../components/ScrollX";
import { useI18n } from "../../i18n";
import { useSession } from "../../session";
import { mayAct } from "./access";
import { money, useWords } from "./common";
import { ownFreeHoldings, plainAmount, provenanceTree, type ItemView, type ProvenanceNode, type Settlement } from "./model";

interface TreeRow {
  key: string;
  title: string;
  children: TreeRow[];
}

/** A choice is needed (a validator, not `required`: antd would put aria-required on the Select's div). */
const chosen = (words: string) => ({
  validator: (_: unknown, v: unknown) => (v ? Promise.resolve() : Promise.reject(new Error(words))),
});

export function ItemPanel({ itemId, onClose, onChanged }: { itemId: string | null; onClose: () => void; onChanged?: () => void }) {
  const { t, tOr } = useI18n();
  const { api, me } = useSession();
  const words = useWords();
  const [item, setItem] = useState<ItemView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => {
    setError(null);
    if (!itemId) return;
    try {
      setItem(must(await api.client.GET("/api/v1/items/{item_id}", { params: { path: { item_id: itemId } } })) as unknown as ItemView);
    } catch (e) {
      setError(words(e));
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, itemId]);
  useEffect(() => {
    setItem(null);
    void load();
  }, [load]);
  const changed = () => {
    void load();
    onChanged?.();
  };
  const treeData = (nodes: ProvenanceNode[]): TreeRow[] =>
    nodes.map((n) => ({
      key: n.key,
      title: [
        t("item.treeNode", { holder: n.holding.holder ?? n.holding.holder_id, amount: money(n.holding.value), outstanding: n.holding.outstanding.amount }),
        n.holding.acquired_from ? t("item.fromHolder", { from: n.holding.acquired_from }) : "",
        n.holding.pledge && n.holding.pledge.status === "active" ? t("item.pledged", { bank: n.holding.pledge.bank ?? "" }) : "",
      ]
        .filter(Boolean)
        .join(" · "),
      children: treeData(n.children),
    }));
  return (
    <Drawer open={itemId !== null} onClose={onClose} width={Math.min(760, window.innerWidth)} title={itemId ? t("item.title", { id: itemId }) : ""}>
      {error && <Alert type="error" showIcon message={error} />}
      {!error && !item && itemId && <Spin aria-label={t("common.loading")} />}
      {item && (
        <Space direction="vertical" size="middle" style={{ width: "100%" }} data-testid="item-view">
          <Descriptions column={1} size="small" bordered>
            <Descriptions.Item label={t("item.trade")}>
              <Link to={`/trade?trade=${encodeURIComponent(item.trade_id)}`}>{item.trade_id}</Link>
            </Descriptions.Item>
            <Descriptions.Item label={t("position.debtor")}>{item.debtor}</Descriptions.Item>
            <Descriptions.Item label={t("position.creditor")}>{item.creditor}</Descriptions.Item>
            <Descriptions.Item label={t("item.basis")}>{tOr(`item.basis.${item.basis}`, item.basis)}</Descriptions.Item>
            <Descriptions.Item label={t("item.status")}>
              {tOr(`item.status.${item.status}`, item.status)}
              {item.disputed ? ` · ${t("item.disputed")}` : ""}
            </Descriptions.Item>
            <Descriptions.Item label={t("item.maturity")}>{item.maturity_date}</Descriptions.Item>
            <Descriptions.Item label={t("item.face")}>{money(item.face_value)}</Descriptions.Item>
            <Descriptions.Item label={t("item.paid")}>{money(item.paid)}</Descriptions.Item>
            <Descriptions.Item label={t("position.outstanding")}>{money(item.outstanding)}</Descriptions.Item>
          </Descriptions>
          {item.pending.length > 0 && (
            <Alert type="info" showIcon message={t("item.pending", { ops: item.pending.map((p) => `${p.op} (${p.status})`).join(", ") })} />
          )}
          {/* below the facts: built after the drawer's first paint, once in view (Deferred) */}
          <Deferred height={160}>
            <Card size="small" title={<h2 style={{ fontSize: 15, margin: 0 }}>{t("item.tree")}</h2>}>
              <Tree
                data-testid="item-tree"
                key={item.holdings.map((h) => h.holding_id).join(" ")}
                defaultExpandAll selectable={false} treeData={treeData(provenanceTree(item.holdings))} />
            </Card>
          </Deferred>
          <h2 style={{ fontSize: 15, margin: 0 }}>{t("item.holdings")}</h2>
          <Deferred height={120}>
            <ScrollX label={t("item.holdings")}>
              <Table
                size="small"
                rowKey="holding_id"
                pagination={false}
                dataSource={item.holdings}
                columns={[
                  { title: t("position.holding"), dataIndex: "holding_id" },
                  { title: t("item.holder"), render: (_, h) => h.holder ?? h.holder_id },
                  { title: t("item.value"), render: (_, h) => money(h.value) },
                  { title: t("position.outstanding"), render: (_, h) => h.outstanding.amount },
                  { title: t("position.pledgedTo"), render: (_, h) => (h.pledge ? `${h.pledge.bank ?? ""} (${h.pledge.status})` : "—") },
                ]}
              />
            </ScrollX>
          </Deferred>
          <Deferred height={100}>
            <Repayments item={item as ItemView & Settlement} />
          </Deferred>
          {mayAct(me, "manage") && <HoldingForms item={item} onChanged={changed} />}
        </Space>
      )}
    </Drawer>
  );
}

function HoldingForms({ item, onChanged }: { item: ItemView; onChanged: () => void }) {
  const { t } = useI18n();
  const { api, me } = useSession();
  const { message } = AntApp.useApp();
  const words = useWords();
  const own = ownFreeHoldings(item, me?.org_id ?? "");
  const [busy, setBusy] = useState<"split" | "transfer" | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (!own.length) return <Alert type="info" showIcon message={t("item.noOwn")} />;
  const holdingOptions = own.map((h) => ({ value: h.holding_id, label: `${h.holding_id} · ${money(h.outstanding)}` }));
  const amountRule = {
    validator: (_: unknown, v: string) => (plainAmount(v ?? "") ? Promise.resolve() : Promise.reject(new Error(t("ent.amountBad")))),
  };

  async function split(v: { holding: string; amount: string }) {
    setBusy("split");
    setError(null);
    try {
      const done = must(
        await api.client.POST("/api/v1/holdings/{holding_id}/split", {
          params: { path: { holding_id: v.holding } },
          body: { amount: plainAmount(v.amount)! },
        }),
      ) as { holding_id: string };
      void message.success(t("item.splitDone", { id: done.holding_id }));
      onChanged();
    } catch (e) {
      setError(words(e));
    } finally {
      setBusy(null);
    }
  }

  async function transfer(v: { holding: string; amount: string; to: string; pays?: string }) {
    setBusy("transfer");
    setError(null);
    try {
      const pays = (v.pays ?? "").split(",").map((s) => s.trim()).filter(Boolean);
      const done = must(
        await api.client.POST("/api/v1/holdings/{holding_id}/transfers", {
          params: { path: { holding_id: v.holding } },
          body: { amount: plainAmount(v.amount)!, to: v.to.trim(), pays },
        }),
      ) as { holding_id: string; to: string };
      void message.success(t("item.transferDone", { id: done.holding_id, to: v.to.trim() }));
      onChanged();
    } catch (e) {
      setError(words(e));
    } finally {
      setBusy(null);
    }
  }

  const holdingField = (form: string) => (
    <Form.Item name="holding" label={t("item.fromHolding")} rules={[chosen(t("common.required"))]} htmlFor={`${form}-holding`}>
      <Select id={`${form}-holding`} options={holdingOptions} />
    </Form.Item>
  );
  const amountField = (form: string) => (
    <Form.Item name="amount" label={t("ent.amount")} rules={[amountRule]} htmlFor={`${form}-amount`}>
      <Input id={`${form}-amount`} inputMode="decimal" />
    </Form.Item>
  );
  return (
    <>
      {error && <Alert type="error" showIcon message={error} data-testid="holding-error" />}
      <Card size="small" title={<h2 style={{ fontSize: 15, margin: 0 }}>{t("item.split")}</h2>}>
        <p>{t("item.splitHelp")}</p>
        <Form layout="vertical" onFinish={(v) => void split(v)} initialValues={{ holding: own[0].holding_id }}>
          {holdingField("split")}
          {amountField("split")}
          <Button htmlType="submit" type="primary" loading={busy === "split"}>{t("item.split")}</Button>
        </Form>
      </Card>
      <Card size="small" title={<h2 style={{ fontSize: 15, margin: 0 }}>{t("item.transfer")}</h2>}>
        <p>{t("item.transferHelp")}</p>
        <Form layout="vertical" onFinish={(v) => void transfer(v)} initialValues={{ holding: own[0].holding_id }}>
          {holdingField("transfer")}
          {amountField("transfer")}
          <Form.Item name="to" label={t("item.transferTo")} rules={[{ required: true, message: t("common.required") }]} htmlFor="transfer-to">
            <Input id="transfer-to" />
          </Form.Item>
          <Form.Item name="pays" label={t("item.transferPays")} htmlFor="transfer-pays">
            <Input id="transfer-pays" />
          </Form.Item>
          <Button htmlType="submit" type="primary" loading={busy === "transfer"}>{t("item.transfer")}</Button>
        </Form>
      </Card>
    </>
  );
}

/** How the debtor's repayments were routed: to each party, and per holding to its holder or
 * its pledgee bank (render_item's settled_by_party, paid_to_holder, paid_to_bank). */
function Repayments({ item }: { item: ItemView & Settlement }) {
  const { t } = useI18n();
  const parties = item.settled_by_party ?? [];
  return (
    <Card size="small" title={<h2 style={{ fontSize: 15, margin: 0 }}>{t("item.repayments")}</h2>} data-testid="item-repayments">
      {parties.length === 0 ? (
        <span>{t("item.noRepayment")}</span>
      ) : (
        <Space direction="vertical" style={{ width: "100%" }}>
          <span>{t("item.settledTo", { parties: parties.map((p) => `${p.party ?? p.party_id} ${p.currency} ${p.amount}`).join("; ") })}</span>
          <ScrollX label={t("item.repayments")}>
            <Table
              size="small"
              rowKey="holding_id"
              pagination={false}
              dataSource={item.holdings}
              columns={[
                { title: t("position.holding"), dataIndex: "holding_id" },
                { title: t("item.holder"), render: (_, h) => h.holder ?? h.holder_id },
                { title: t("item.paidToHolder"), render: (_, h) => money(h.paid_to_holder), align: "right" },
                { title: t("item.paidToBank"), render: (_, h) => money(h.paid_to_bank), align: "right" },
              ]}
            />
          </ScrollX>
        </Space>
      )}
    </Card>
  );
}
