// Core enterprise (issue 17 item 3): payables issued on the verified four flows alone, to
// confirm with the company's signature (POST /items/{id}/confirmation), or to dispute with a
// reason (POST /items/{id}/dispute: recorded on the chain, the creditor told) and to withdraw
// that dispute (POST /items/{id}/dispute/withdrawal: lifted on the chain, told). An organisation
// holding its own key signs the EIP-712 confirmation in the page (ownKey.ts): the key stays here.
import { useCallback, useEffect, useState } from "react";
import { Alert, App as AntApp, Button, Descriptions, Form, Input, Modal, Popconfirm, Space, Table, Typography } from "antd";
import { StatusTag } from "../../components/StatusTag";
import { ReloadOutlined } from "@ant-design/icons";
import { must } from "../../api/client";
import { ScrollX } from "../../components/ScrollX";
import { useI18n } from "../../i18n";
import { useSession } from "../../session";
import { money, useWords } from "../enterprise/common";
import { ItemPanel } from "../enterprise/ItemPanel";
import { awaitsConfirmation, type ItemView, type PositionView } from "../enterprise/model";
import { readItemsAt } from "../bank/model";
import { disputable, withdrawable } from "../enterprise/evidence";
import { normaliseKey, signTypedData, signsAsDebtor, type ToSign } from "./ownKey";

/** At most this many payables are read per visit (in one GET /items?ids=). */
const MAX_READ = 100;

export function Payables() {
  const { t, tOr } = useI18n();
  const { api } = useSession();
  const { message } = AntApp.useApp();
  const words = useWords();
  const [rows, setRows] = useState<ItemView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [disputing, setDisputing] = useState<ItemView | null>(null);
  const [disputeError, setDisputeError] = useState<string | null>(null);
  const [form] = Form.useForm<{ reason: string }>();
  const [signing, setSigning] = useState<{ item: ItemView; toSign: ToSign | null } | null>(null);
  const [signError, setSignError] = useState<string | null>(null);
  const [key, setKey] = useState("");
  const load = useCallback(async () => {
    setError(null);
    try {
      const position = must(await api.client.GET("/api/v1/position")) as unknown as PositionView;
      const ids = position.owes.slice(0, MAX_READ).map((o) => o.item);
      const found = await readItemsAt<ItemView>(ids, async (joined) =>
        must(await api.client.GET("/api/v1/items", { params: { query: { ids: joined } } })) as unknown as ItemView[],
      );
      setRows(ids.map((id) => found.get(id)).filter((v): v is ItemView => Boolean(v)));
    } catch (e) {
      setError(words(e));
      setRows([]);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api]);
  useEffect(() => void load(), [load]);

  async function confirm(id: string) {
    setBusy(id);
    setError(null);
    try {
      must(await api.client.POST("/api/v1/items/{item_id}/confirmation", { params: { path: { item_id: id } } }));
      void message.success(t("payables.confirmed", { id }));
      await load();
    } catch (e) {
      setError(words(e));
    } finally {
      setBusy(null);
    }
  }

  async function dispute() {
    if (!disputing) return;
    const { reason } = await form.validateFields();
    const id = disputing.item_id;
    setBusy(id);
    setDisputeError(null);
    try {
      must(await api.client.POST("/api/v1/items/{item_id}/dispute", { params: { path: { item_id: id } }, body: { reason } }));
      void message.success(t("payables.disputed", { id }));
      setDisputing(null);
      form.resetFields();
      await load();
    } catch (e) {
      setDisputeError(words(e));
    } finally {
      setBusy(null);
    }
  }

  async function withdraw(id: string) {
    setBusy(id);
    setError(null);
    try {
      must(await api.client.POST("/api/v1/items/{item_id}/dispute/withdrawal", { params: { path: { item_id: id } } }));
      void message.success(t("payables.withdrawn", { id }));
      await load();
    } catch (e) {
      setError(words(e));
    } finally {
      setBusy(null);
    }
  }

  async function openOwnKey(item: ItemView) {
    setSignError(null);
    setKey("");
    setSigning({ item, toSign: null });
    try {
      const toSign = must(
        await api.client.GET("/api/v1/items/{item_id}/confirmation/typed-data", { params: { path: { item_id: item.item_id } } }),
      ) as unknown as ToSign;
      setSigning({ item, toSign });
    } catch (e) {
      setSignError(words(e));
    }
  }

  async function signAndSend() {
    const toSign = signing?.toSign;
    if (!signing || !toSign) return;
    const parsed = normaliseKey(key);
    if ("error" in parsed) {
      setSignError(t(parsed.error === "empty" ? "payables.ownKey.empty" : "payables.ownKey.format"));
      return;
    }
    if (!signsAsDebtor(toSign.typed_data, parsed.key)) {
      setSignError(t("payables.ownKey.notDebtor", { debtor: String(toSign.typed_data.message.debtor) }));
      return;
    }
    const id = signing.item.item_id;
    setBusy(id);
    setSignError(null);
    try {
      const signature = await signTypedData(toSign.typed_data, parsed.key);
      setKey(""); // the key is forgotten as soon as it has signed
      must(
        await api.client.POST("/api/v1/items/{item_id}/confirmation/signature", {
          params: { path: { item_id: id } },
          body: { nonce: toSign.nonce, deadline: toSign.deadline, signature },
        }),
      );
      void message.success(t("payables.confirmed", { id }));
      setSigning(null);
      await load();
    } catch (e) {
      setSignError(words(e));
    } finally {
      setBusy(null);
    }
  }

  const waiting = (rows ?? []).filter(awaitsConfirmation);
  return (
    <Space direction="vertical" size="middle" style={{ width: "100%" }}>
      <Space wrap style={{ justifyContent: "space-between", width: "100%" }}>
        <Typography.Title level={1} style={{ fontSize: 22, margin: 0 }}>{t("payables.title")}</Typography.Title>
        <Button icon={<ReloadOutlined />} onClick={() => void load()}>{t("common.refresh")}</Button>
      </Space>
      <Alert type="info" showIcon message={t("payables.help")} />
      {error && <Alert type="error" showIcon message={error} data-testid="payables-error" />}
      <ScrollX label={t("payables.title")}>
        <Table
          data-testid="payables"
          size="small"
          rowKey="item_id"
          loading={rows === null}
          dataSource={rows ?? []}
          pagination={{ pageSize: 10, hideOnSinglePage: true }}
          locale={{ emptyText: t("payables.allConfirmed") }}
          columns={[
            {
              title: t("position.item"),
              dataIndex: "item_id",
              render: (id: string) => <Button type="link" size="small" style={{ padding: 0 }} onClick={() => setOpen(id)}>{id}</Button>,
            },
            { title: t("position.creditor"), dataIndex: "creditor" },
            { title: t("item.maturity"), dataIndex: "maturity_date" },
            { title: t("item.face"), render: (_, r) => money(r.face_value), align: "right" },
            { title: t("position.outstanding"), render: (_, r) => money(r.outstanding), align: "right" },
            {
              title: t("payables.basis"),
              render: (_, r) => (
                <StatusTag tone={r.basis === "confirmed" ? "good" : "warn"}>{tOr(`item.basis.${r.basis}`, r.basis)}</StatusTag>
              ),
            },
            { title: t("item.status"), render: (_, r) => `${tOr(`item.status.${r.status}`, r.status)}${r.disputed ? ` · ${t("item.disputed")}` : ""}` },
            {
              title: t("bank.col.actions"),
              render: (_, r) => (
                <Space>
                  {awaitsConfirmation(r) && (
                    <Popconfirm
                      title={t("payables.confirmAsk", { id: r.item_id, amount: money(r.outstanding) })}
                      okText={t("payables.confirm")}
                      cancelText={t("common.cancel")}
                      onConfirm={() => confirm(r.item_id)}
                    >
                      <Button type="primary" size="small" loading={busy === r.item_id} data-testid={`confirm-${r.item_id}`}>
                        {t("payables.confirm")}
                      </Button>
                    </Popconfirm>
                  )}
                  {awaitsConfirmation(r) && (
                    <Button size="small" data-testid={`own-key-${r.item_id}`} onClick={() => void openOwnKey(r)}>
                      {t("payables.ownKey")}
                    </Button>
                  )}
                  {disputable(r) && (
                    <Button
                      size="small"
                      danger
                      data-testid={`dispute-${r.item_id}`}
                      onClick={() => {
                        setDisputeError(null);
                        setDisputing(r);
                      }}
                    >
                      {t("payables.dispute")}
                    </Button>
                  )}
                  {withdrawable(r) && (
                    <Popconfirm
                      title={t("payables.withdrawAsk", { id: r.item_id })}
                      okText={t("payables.withdraw")}
                      cancelText={t("common.cancel")}
                      onConfirm={() => withdraw(r.item_id)}
                    >
                      <Button size="small" loading={busy === r.item_id} data-testid={`withdraw-dispute-${r.item_id}`}>
                        {t("payables.withdraw")}
                      </Button>
                    </Popconfirm>
                  )}
                  {!awaitsConfirmation(r) && !disputable(r) && !withdrawable(r) && "—"}
                </Space>
              ),
            },
          ]}
        />
      </ScrollX>
      {rows !== null && rows.length > 0 && !waiting.length && <Typography.Text>{t("payables.allConfirmed")}</Typography.Text>}
      <Modal
        open={disputing !== null}
        title={disputing ? t("payables.disputeAsk", { id: disputing.item_id }) : ""}
        okText={t("payables.dispute")}
        okButtonProps={{ danger: true, ...({ "data-testid": "dispute-submit" } as Record<string, string>) }}
        cancelText={t("common.cancel")}
        confirmLoading={busy !== null}
        onOk={() => void dispute()}
        onCancel={() => {
          setDisputing(null);
          form.resetFields();
        }}
      >
        <Typography.Paragraph>{t("payables.disputeHelp")}</Typography.Paragraph>
        <Form form={form} layout="vertical">
          <Form.Item name="reason" label={t("payables.disputeReason")} rules={[{ required: true, whitespace: true, message: t("common.required") }]}>
            <Input.TextArea rows={3} maxLength={2000} data-testid="dispute-reason" />
          </Form.Item>
        </Form>
        {disputeError && <Alert type="error" showIcon message={disputeError} data-testid="dispute-error" />}
      </Modal>
      <Modal
        open={signing !== null}
        title={signing ? t("payables.ownKey.title", { id: signing.item.item_id }) : ""}
        okText={t("payables.ownKey.sign")}
        okButtonProps={{ disabled: !signing?.toSign, ...({ "data-testid": "own-key-sign" } as Record<string, string>) }}
        cancelText={t("common.cancel")}
        confirmLoading={busy !== null}
        onOk={() => void signAndSend()}
        onCancel={() => {
          setKey("");
          setSigning(null);
        }}
        destroyOnClose
      >
        <Typography.Paragraph>{t("payables.ownKey.help")}</Typography.Paragraph>
        {signing?.toSign && (
          <Descriptions size="small" bordered column={1} data-testid="own-key-terms" style={{ marginBottom: 12 }}>
            {Object.entries(signing.toSign.typed_data.message).map(([k, v]) => (
              <Descriptions.Item key={k} label={k}>
                <code style={{ wordBreak: "break-all" }}>{String(v)}</code>
              </Descriptions.Item>
            ))}
          </Descriptions>
        )}
        <label htmlFor="own-key">{t("payables.ownKey.key")}</label>
        <Input.Password
          id="own-key"
          data-testid="own-key-input"
          autoComplete="off"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          placeholder="0x…"
        />
        {signError && <Alert style={{ marginTop: 12 }} type="error" showIcon message={signError} data-testid="own-key-error" />}
      </Modal>
      <ItemPanel itemId={open} onClose={() => setOpen(null)} onChanged={() => void load()} />
    </Space>
  );
}
