// The bank's review queue (issue 17 item 4): requests the review robot referred to people,
// with its reasons and PD; a credit officer approves or declines with a reason (above the
// four-eyes limit that is a proposal: 202), an approver gives the second approval seeing the
// proposal's content. Expected loss and value today come from GET /bank/review-queue (the
// credit review's PD, the policy's LGD and discount rate, the item's due date), the limit from
// GET /bank/four-eyes. The API's refusals (problem details) are shown in words.
import { useCallback, useEffect, useState } from "react";
import { Alert, App, Button, Card, Descriptions, Form, Input, Modal, Radio, Segmented, Space, Table, Tooltip, Typography } from "antd";
import { must } from "../../api/client";
import { StatusTag, type Tone } from "../../components/StatusTag";
import { useI18n } from "../../i18n";
import { useSession } from "../../session";
import { ItemDrawer, emptyText, useRefusal } from "./common";
import { pdText, type FinancingView } from "./model";
import { aboveFourEyes, proposalLines, valuationText, type FourEyes, type QueueRow } from "./queue";

type Row = FinancingView & Partial<Omit<QueueRow, keyof FinancingView>>;

const STATUS_TONE: Record<string, Tone> = {
  referred: "warn", approved: "info", active: "good", repaid: "good", declined: "bad", failed: "bad", defaulted: "bad",
};

interface DecideForm {
  approve: boolean;
  reason: string;
}

export function ReviewQueue() {
  const { t, tOr } = useI18n();
  const { api, me } = useSession();
  const { message } = App.useApp();
  const words = useRefusal();
  const [which, setWhich] = useState<"referred" | "all">("referred");
  const [rows, setRows] = useState<Row[]>([]);
  const [fourEyes, setFourEyes] = useState<FourEyes | null>(null);
  const [loading, setLoading] = useState(false);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [deciding, setDeciding] = useState<Row | null>(null);
  const [approving, setApproving] = useState<Row | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [itemId, setItemId] = useState<string | null>(null);
  const [form] = Form.useForm<DecideForm>();
  const [note, setNote] = useState("");
  const [expanded, setExpanded] = useState<string[]>([]);
  const officer = me?.role === "credit_officer";
  const approver = me?.role === "approver";

  const load = useCallback(async () => {
    setLoading(true);
    try {
      // the referrals valued today with their proposals; "all" adds the rest of the bank's requests
      const queue = must(await api.client.GET("/api/v1/bank/review-queue")) as unknown as QueueRow[];
      const byId = new Map<string, Row>(queue.map((q) => [q.financing_id, q]));
      const found: Row[] =
        which === "referred"
          ? queue
          : (must(await api.client.GET("/api/v1/financings", { params: { query: {} } })) as unknown as FinancingView[]).map(
              (f) => byId.get(f.financing_id) ?? f,
            );
      setRows(found);
      if (!fourEyes) setFourEyes(must(await api.client.GET("/api/v1/bank/four-eyes")) as unknown as FourEyes);
      // the robot's reasons in full for the requests waiting for people
      setExpanded(found.filter((f) => f.status === "referred").map((f) => f.financing_id));
      setLoadError(null);
    } catch (e) {
      setLoadError(words(e));
    } finally {
      setLoading(false);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, which]);
  useEffect(() => void load(), [load]);

  const close = () => {
    setDeciding(null);
    setApproving(null);
    setRefusal(null);
    setNote("");
    form.resetFields();
  };

  const decide = async () => {
    if (!deciding) return;
    const f = await form.validateFields();
    setBusy(true);
    setRefusal(null);
    try {
      const answer = await api.client.POST("/api/v1/financings/{financing_id}/decision", {
        params: { path: { financing_id: deciding.financing_id } },
        body: { approve: f.approve, reason: f.reason },
      });
      const view = must(answer) as unknown as FinancingView;
      const text =
        answer.response.status === 202 && view.awaiting_approval
          ? t("bank.proposed", { id: deciding.financing_id, proposal: view.awaiting_approval.proposal_id })
          : t("bank.decided", { id: deciding.financing_id, outcome: tOr(`bank.finStatus.${view.status}`, view.status) });
      setOutcome(text);
      void message.success(text);
      close();
      await load();
    } catch (e) {
      setRefusal(words(e));
    } finally {
      setBusy(false);
    }
  };

  const approve = async (agree: boolean) => {
    if (!approving) return;
    setBusy(true);
    setRefusal(null);
    try {
      const view = must(
        await api.client.POST("/api/v1/financings/{financing_id}/decision/approval", {
          params: { path: { financing_id: approving.financing_id } },
          body: { agree, note },
        }),
      ) as unknown as FinancingView & { proposal?: string };
      const text =
        view.proposal === "rejected"
          ? t("bank.approval.rejected", { id: approving.financing_id })
          : t("bank.decided", { id: approving.financing_id, outcome: tOr(`bank.finStatus.${view.status}`, view.status) });
      setOutcome(text);
      void message.success(text);
      close();
      await load();
    } catch (e) {
      setRefusal(words(e));
    } finally {
      setBusy(false);
    }
  };

  const notGiven = (
    <Tooltip title={t("bank.notGivenHelp")}>
      <span style={{ color: "#595959" }}>{t("bank.notGiven")}</span>
    </Tooltip>
  );

  return (
    <Card>
      <Space style={{ width: "100%", justifyContent: "space-between" }} wrap>
        <Typography.Title level={1} style={{ fontSize: 22, margin: 0 }}>{t("bank.queue.title")}</Typography.Title>
        <Space>
          <Segmented
            value={which}
            onChange={(v) => setWhich(v as "referred" | "all")}
            options={[
              { value: "referred", label: t("bank.queue.referred") },
              { value: "all", label: t("bank.queue.all") },
            ]}
          />
          <Button onClick={() => void load()}>{t("common.refresh")}</Button>
        </Space>
      </Space>
      {loadError && <Alert style={{ marginTop: 12 }} type="error" showIcon message={loadError} />}
      {outcome && (
        <Alert style={{ marginTop: 12 }} type="info" showIcon closable onClose={() => setOutcome(null)} message={outcome} data-testid="queue-outcome" />
      )}
      {fourEyes && (
        <Typography.Paragraph style={{ marginTop: 8, marginBottom: 0 }} data-testid="four-eyes-limit">
          {t("bank.fourEyesLimit", { limit: `${fourEyes.currency} ${fourEyes.limit}` })}
        </Typography.Paragraph>
      )}
      <Table<Row>
        data-testid="review-queue"
        style={{ marginTop: 16 }}
        rowKey="financing_id"
        loading={loading}
        dataSource={rows}
        size="small"
        scroll={{ x: 1000 }}
        locale={emptyText(t("bank.queue.empty"))}
        expandable={{
          expandedRowKeys: expanded,
          onExpandedRowsChange: (keys) => setExpanded(keys.map(String)),
          expandedRowRender: (f) => (
            <Space direction="vertical" style={{ width: "100%" }}>
              <div>
                <Typography.Text strong>{t("bank.col.reasons")}</Typography.Text>
                <ul style={{ margin: "4px 0 0", paddingInlineStart: 20 }}>
                  {(f.decision?.reasons ?? []).map((r) => (
                    <li key={r.code}>
                      <code>{r.code}</code> {r.message}
                    </li>
                  ))}
                </ul>
              </div>
              <Descriptions size="small" column={{ xs: 1, md: 2 }} bordered>
                <Descriptions.Item label={t("bank.detail.decidedBy")}>{f.decision?.decided_by ?? "—"}</Descriptions.Item>
                <Descriptions.Item label={t("bank.detail.note")}>{f.decision?.note || "—"}</Descriptions.Item>
                <Descriptions.Item label={t("bank.detail.inputHash")}>
                  <code style={{ wordBreak: "break-all" }}>{f.decision?.input_hash ?? "—"}</code>
                </Descriptions.Item>
                <Descriptions.Item label={t("bank.col.principal")}>{f.principal ?? "—"}</Descriptions.Item>
                {f.valuation?.state === "valued" && (
                  <>
                    <Descriptions.Item label={t("bank.val.basis")}>
                      {t("bank.val.basisText", {
                        pd: pdText(f.valuation.pd) ?? "—",
                        lgd: `${((f.valuation.lgd ?? 0) * 100).toFixed(1)}%`,
                        exposure: `${f.currency} ${f.valuation.exposure ?? ""}`,
                      })}
                    </Descriptions.Item>
                    <Descriptions.Item label={t("bank.val.discount")}>
                      {t("bank.val.discountText", {
                        rate: `${((f.valuation.discount_rate_bps ?? 0) / 100).toFixed(2)}%`,
                        days: f.valuation.days_to_maturity ?? 0,
                        maturity: f.valuation.maturity_date ?? "—",
                      })}
                    </Descriptions.Item>
                    <Descriptions.Item label={t("bank.val.atDecision")}>
                      {`${f.currency} ${f.valuation.expected_loss_at_decision ?? "—"} / ${f.currency} ${f.valuation.value_at_decision ?? "—"}`}
                    </Descriptions.Item>
                    <Descriptions.Item label={t("bank.val.scenario")}>{f.scenario ?? "—"}</Descriptions.Item>
                  </>
                )}
              </Descriptions>
              {f.proposal && <ProposalCard row={f} />}
            </Space>
          ),
        }}
        columns={[
          { title: t("bank.col.id"), dataIndex: "financing_id", width: 150, render: (v: string) => <code style={{ wordBreak: "break-all" }}>{v}</code> },
          {
            title: t("bank.col.borrower"),
            width: 150,
            render: (_, f) => (
              <span style={{ wordBreak: "break-all" }}>
                {f.borrower_name || f.borrower_id}
                {f.debtor_name && <span style={{ display: "block", fontSize: 12 }}>{t("bank.col.debtorOf", { debtor: f.debtor_name })}</span>}
              </span>
            ),
          },
          { title: t("bank.col.requested"), align: "right", width: 130, render: (_, f) => `${f.currency} ${f.requested ?? ""}` },
          { title: t("bank.col.pd"), align: "right", width: 80, render: (_, f) => pdText(f.decision?.pd) ?? "—" },
          {
            title: `${t("bank.col.el")} / ${t("bank.col.value")}`,
            width: 140,
            align: "right",
            render: (_, f) => {
              const v = valuationText(f.valuation, f.currency);
              return v ? (
                <span data-testid={`valuation-${f.financing_id}`}>
                  <span style={{ display: "block" }}>{v.el}</span>
                  <span style={{ display: "block" }}>{v.value}</span>
                </span>
              ) : (
                notGiven
              );
            },
          },
          {
            title: t("bank.col.reasons"),
            width: 200,
            render: (_, f) => (
              <div style={{ display: "grid", gap: 2 }}>
                {(f.decision?.reasons ?? []).map((r) => (
                  <code key={r.code} style={{ wordBreak: "break-all", fontSize: 12 }}>{r.code}</code>
                ))}
              </div>
            ),
          },
          {
            title: t("bank.col.status"),
            dataIndex: "status",
            width: 120,
            render: (v: string) => <StatusTag tone={STATUS_TONE[v] ?? "plain"}>{tOr(`bank.finStatus.${v}`, v)}</StatusTag>,
          },
          {
            title: t("bank.col.actions"),
            width: 140,
            fixed: "right",
            render: (_, f) => (
              <Space direction="vertical" size={4}>
                {f.status === "referred" && officer && (
                  <Button size="small" type="primary" onClick={() => setDeciding(f)} aria-label={`${t("bank.decide")} ${f.financing_id}`}>
                    {t("bank.decide")}
                  </Button>
                )}
                {f.status === "referred" && approver && (
                  <Button size="small" type="primary" onClick={() => setApproving(f)} aria-label={`${t("bank.secondApproval")} ${f.financing_id}`}>
                    {t("bank.secondApproval")}
                  </Button>
                )}
                {f.item_id && (
                  <Button type="link" size="small" style={{ paddingInline: 0 }} onClick={() => setItemId(f.item_id)} aria-label={`${t("bank.evidence")} ${f.item_id}`}>
                    {t("bank.evidence")}
                  </Button>
                )}
              </Space>
            ),
          },
        ]}
      />
      <Modal
        open={deciding !== null}
        title={deciding ? t("bank.decide.title", { id: deciding.financing_id }) : ""}
        onCancel={close}
        okText={t("common.submit")}
        cancelText={t("common.cancel")}
        confirmLoading={busy}
        onOk={() => void decide()}
      >
        <Typography.Paragraph>{t("bank.decide.fourEyes")}</Typography.Paragraph>
        {deciding && fourEyes && aboveFourEyes(deciding.requested, fourEyes.limit) && (
          <Alert style={{ marginBottom: 12 }} type="info" showIcon message={t("bank.decide.aboveLimit", { limit: `${fourEyes.currency} ${fourEyes.limit}` })} />
        )}
        <Form<DecideForm> form={form} layout="vertical" initialValues={{ approve: true }}>
          <Form.Item name="approve" label={t("bank.decide.outcome")}>
            <Radio.Group
              options={[
                { value: true, label: t("bank.decide.approve") },
                { value: false, label: t("bank.decide.decline") },
              ]}
            />
          </Form.Item>
          <Form.Item name="reason" label={t("bank.decide.reason")} rules={[{ required: true, whitespace: true, message: t("common.required") }]}>
            <Input.TextArea rows={3} maxLength={2000} />
          </Form.Item>
        </Form>
        {refusal && <Alert type="error" showIcon message={refusal} data-testid="refusal" />}
      </Modal>
      <Modal
        open={approving !== null}
        title={approving ? t("bank.approval.title", { id: approving.financing_id }) : ""}
        onCancel={close}
        footer={[
          <Button key="no" danger loading={busy} onClick={() => void approve(false)}>{t("bank.approval.disagree")}</Button>,
          <Button key="yes" type="primary" loading={busy} onClick={() => void approve(true)}>{t("bank.approval.agree")}</Button>,
        ]}
      >
        <Typography.Paragraph>{t("bank.approval.help")}</Typography.Paragraph>
        {approving?.proposal ? (
          <ProposalCard row={approving} />
        ) : (
          <Alert style={{ marginBottom: 12 }} type="warning" showIcon message={t("bank.proposal.none")} data-testid="no-proposal" />
        )}
        <label htmlFor="approval-note">{t("bank.approval.note")}</label>
        <Input.TextArea id="approval-note" rows={2} maxLength={2000} value={note} onChange={(e) => setNote(e.target.value)} />
        {refusal && <Alert style={{ marginTop: 12 }} type="error" showIcon message={refusal} data-testid="refusal" />}
      </Modal>
      <ItemDrawer itemId={itemId} onClose={() => setItemId(null)} />
    </Card>
  );
}

/** What the approver agrees to: the officer's proposed outcome and reason, who proposed it, when. */
function ProposalCard({ row }: { row: Row }) {
  const { t, tOr } = useI18n();
  const p = row.proposal;
  if (!p) return null;
  return (
    <Descriptions
      data-testid={`proposal-${row.financing_id}`}
      size="small"
      bordered
      column={1}
      title={<span style={{ fontSize: 14 }}>{t("bank.proposal.title", { by: p.proposed_by, at: p.proposed_at.replace("T", " ").slice(0, 16) })}</span>}
      style={{ marginBottom: 12 }}
    >
      {proposalLines(p).map((l) => (
        <Descriptions.Item key={l.label} label={tOr(`bank.proposal.${l.label}`, l.label)}>
          {l.label === "outcome" ? (
            <StatusTag tone={l.value === "approve" ? "good" : "bad"}>{tOr(`bank.decide.${l.value}`, l.value)}</StatusTag>
          ) : (
            l.value
          )}
        </Descriptions.Item>
      ))}
    </Descriptions>
  );
}
