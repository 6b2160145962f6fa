// Financing (issue 17 item 2): the request form (a holding of mine, the bank, the amount) and
// my requests with the review robot's decision, its reasons and where the chain work stands.
import { useCallback, useEffect, useState } from "react";
import { Alert, App as AntApp, Button, Card, Form, Input, Select, Space, Table, Typography } from "antd";
import { StatusTag, type Tone } from "../../components/StatusTag";
import { ReloadOutlined } from "@ant-design/icons";
import { must } from "../../api/client";
import { ScrollX } from "../../components/ScrollX";
import { useI18n } from "../../i18n";
import { useSession } from "../../session";
import { mayAct } from "./access";
import { useWords } from "./common";
import { chainState, plainAmount, type FinancingView } from "./model";
import { usePosition } from "./Position";

const CHAIN_TONE: Record<string, Tone> = { pending: "info", applied: "good", refused: "bad", none: "plain" };
const OUTCOME_TONE: Record<string, Tone> = { approve: "good", decline: "bad", refer: "warn" };

/** A choice is needed (a validator, not `required`: antd would put aria-required on the Select's div). */
const chosen = (words: string) => ({
  validator: (_: unknown, v: unknown) => (v ? Promise.resolve() : Promise.reject(new Error(words))),
});

export function Financings() {
  const { t, tOr } = useI18n();
  const { api, me } = useSession();
  const words = useWords();
  const [rows, setRows] = useState<FinancingView[]>([]);
  const [details, setDetails] = useState<Record<string, FinancingView | string>>({});
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const load = useCallback(async () => {
    setLoading(true);
    setError(null);
    try {
      const all = must(await api.client.GET("/api/v1/financings", { params: { query: {} } })) as unknown as FinancingView[];
      setRows(all.filter((f) => f.borrower_id === me?.org_id));
      setDetails({});
    } catch (e) {
      setError(words(e));
    } finally {
      setLoading(false);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, me]);
  useEffect(() => void load(), [load]);

  async function detail(id: string) {
    try {
      const found = must(
        await api.client.GET("/api/v1/financings/{financing_id}", { params: { path: { financing_id: id } } }),
      ) as unknown as FinancingView;
      setDetails((d) => ({ ...d, [id]: found }));
    } catch (e) {
      setDetails((d) => ({ ...d, [id]: words(e) }));
    }
  }

  return (
    <Space direction="vertical" size="middle" style={{ width: "100%" }}>
      <Typography.Title level={1} style={{ fontSize: 22, margin: 0 }}>{t("financing.title")}</Typography.Title>
      {mayAct(me, "manage") && <RequestForm onDone={() => void load()} />}
      <Space wrap style={{ justifyContent: "space-between", width: "100%" }}>
        <h2 style={{ fontSize: 16, margin: 0 }}>{t("financing.list")}</h2>
        <Button icon={<ReloadOutlined />} onClick={() => void load()} loading={loading}>{t("common.refresh")}</Button>
      </Space>
      {error && <Alert type="error" showIcon message={error} />}
      <Typography.Text>{t("financing.chainHelp")}</Typography.Text>
      <ScrollX label={t("financing.list")}>
        <Table
          data-testid="financings"
          size="small"
          rowKey="financing_id"
          loading={loading}
          dataSource={rows}
          pagination={{ pageSize: 10, hideOnSinglePage: true }}
          expandable={{
            onExpand: (open, r) => void (open && !details[r.financing_id] && detail(r.financing_id)),
            expandedRowRender: (r) => {
              const d = details[r.financing_id];
              if (d === undefined) return t("common.loading");
              if (typeof d === "string") return <Alert type="error" showIcon message={d} />;
              const state = chainState(d);
              return (
                <Space direction="vertical">
                  <span>
                    {t("financing.chain")}: <StatusTag tone={CHAIN_TONE[state] ?? "plain"}>{tOr(`financing.chain.${state}`, state)}</StatusTag>
                  </span>
                  {d.chain?.refusal && <Alert type="error" showIcon message={t("financing.refusal", { reason: d.chain.refusal })} />}
                  {d.decision?.decided_by && <span>{t("financing.decidedBy", { who: d.decision.decided_by })}</span>}
                  {d.decision?.note && <span>{d.decision.note}</span>}
                </Space>
              );
            },
          }}
          columns={[
            { title: t("financing.id"), dataIndex: "financing_id" },
            { title: t("financing.item"), render: (_, r) => r.item_id ?? r.receipt_id ?? "—" },
            { title: t("financing.requested"), render: (_, r) => (r.requested ? `${r.currency} ${r.requested}` : "—"), align: "right" },
            { title: t("financing.principal"), render: (_, r) => (r.principal ? `${r.currency} ${r.principal}` : "—"), align: "right" },
            { title: t("financing.rate"), render: (_, r) => (r.rate_bps === null ? "—" : `${(r.rate_bps / 100).toFixed(2)}%`) },
            { title: t("financing.status"), dataIndex: "status", render: (s: string) => <StatusTag tone="plain">{tOr(`bank.finStatus.${s}`, s)}</StatusTag> },
            {
              title: t("financing.decision"),
              render: (_, r) =>
                r.decision ? (
                  <StatusTag tone={OUTCOME_TONE[r.decision.outcome] ?? "plain"}>{tOr(`bank.outcome.${r.decision.outcome}`, r.decision.outcome)}</StatusTag>
                ) : "—",
            },
            {
              title: t("financing.reasons"),
              width: 380,
              render: (_, r) =>
                r.decision?.reasons.length ? (
                  <ul style={{ margin: 0, paddingInlineStart: 16 }}>
                    {r.decision.reasons.map((x) => <li key={x.code}>{x.message}</li>)}
                  </ul>
                ) : "—",
            },
            {
              title: t("financing.chain"),
              render: (_, r) => {
                const d = details[r.financing_id];
                const state = chainState(typeof d === "object" ? d : r);
                return <StatusTag tone={CHAIN_TONE[state] ?? "plain"}>{tOr(`financing.chain.${state}`, state)}</StatusTag>;
              },
            },
          ]}
        />
      </ScrollX>
    </Space>
  );
}

function RequestForm({ onDone }: { onDone: () => void }) {
  const { t, tOr } = useI18n();
  const { api } = useSession();
  const { message } = AntApp.useApp();
  const words = useWords();
  const { position } = usePosition();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const free = (position?.holds ?? []).filter((h) => !h.pledged_to);
  async function submit(v: { holding: string; bank: string; amount: string }) {
    setBusy(true);
    setError(null);
    try {
      const done = must(
        await api.client.POST("/api/v1/financings", {
          body: { holding_id: v.holding, bank: v.bank.trim(), amount: plainAmount(v.amount)! },
        }),
      ) as unknown as FinancingView;
      const outcome = done.decision ? tOr(`bank.outcome.${done.decision.outcome}`, done.decision.outcome) : tOr(`bank.finStatus.${done.status}`, done.status);
      void message.success(t("financing.submitted", { id: done.financing_id, outcome }));
      onDone();
    } catch (e) {
      setError(words(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("financing.request")}</h2>}>
      {error && <Alert type="error" showIcon message={error} style={{ marginBottom: 12 }} data-testid="financing-error" />}
      {position && !free.length && <Alert type="info" showIcon message={t("financing.noHoldings")} />}
      <Form layout="vertical" onFinish={(v) => void submit(v)} style={{ maxWidth: 560 }}>
        <Form.Item name="holding" label={t("financing.holding")} htmlFor="fin-holding" rules={[chosen(t("common.required"))]}>
          <Select
            id="fin-holding"
            options={free.map((h) => ({ value: h.holding, label: `${h.holding} · ${h.debtor ?? ""} · ${h.outstanding.currency} ${h.outstanding.amount} · ${h.maturity}` }))}
          />
        </Form.Item>
        <Form.Item name="bank" label={t("financing.bank")} htmlFor="fin-bank" rules={[{ required: true, message: t("common.required") }]}>
          <Input id="fin-bank" />
        </Form.Item>
        <Form.Item
          name="amount"
          label={t("ent.amount")}
          htmlFor="fin-amount"
          rules={[{ validator: (_, v: string) => (plainAmount(v ?? "") ? Promise.resolve() : Promise.reject(new Error(t("ent.amountBad")))) }]}
        >
          <Input id="fin-amount" inputMode="decimal" />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={busy}>{t("financing.request")}</Button>
      </Form>
    </Card>
  );
}
