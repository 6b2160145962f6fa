import { useCallback, useEffect, useState } from "react";
import { Alert, App, Button, Card, Form, Input, Popconfirm, Select, Space, Table, Tag, Typography } from "antd";
import dayjs from "dayjs";
import { must, type Schemas } from "../api/client";
import { ScrollX } from "../components/ScrollX";
import { useI18n } from "../i18n";
import { useSession } from "../session";
import { EVENT_KINDS, webhookUrlOk } from "./webhookModel";

type Hook = Schemas["WebhookOut"];
type Dead = Schemas["DeadLetterOut"];
/** The organisation's webhooks (an administrator's): add one (its signing secret shown once),
 * list, delete; the deliveries given up after the last attempt. */
export function Webhooks() {
  const { t, tOr } = useI18n();
  const { api } = useSession();
  const { message } = App.useApp();
  const [rows, setRows] = useState<Hook[] | null>(null);
  const [dead, setDead] = useState<Dead[] | null>(null);
  const [fresh, setFresh] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [form] = Form.useForm<Schemas["WebhookIn"]>();
  const words = useCallback((e: unknown) => t("common.error", { detail: e instanceof Error ? e.message : String(e) }), [t]);
  const load = useCallback(async () => {
    try {
      const [hooks, letters] = await Promise.all([
        api.client.GET("/api/v1/webhooks").then(must),
        api.client.GET("/api/v1/webhooks/dead-letters").then(must),
      ]);
      setRows(hooks);
      setDead(letters);
    } catch (e) {
      void message.error(words(e));
      setRows((r) => r ?? []);
      setDead((d) => d ?? []);
    }
  }, [api, message, words]);
  useEffect(() => void load(), [load]);
  const create = async (f: Schemas["WebhookIn"]) => {
    setBusy(true);
    try {
      const made = must(await api.client.POST("/api/v1/webhooks", { body: { url: f.url.trim(), kinds: f.kinds } }));
      setFresh(made.secret);
      form.resetFields();
      await load();
    } catch (e) {
      void message.error(words(e));
    } finally {
      setBusy(false);
    }
  };
  const remove = async (h: Hook) => {
    try {
      must(await api.client.DELETE("/api/v1/webhooks/{webhook_id}", { params: { path: { webhook_id: h.id } } }));
      void message.success(t("webhooks.deleted", { url: h.url }));
      await load();
    } catch (e) {
      void message.error(words(e));
    }
  };
  const when = (v: string) => dayjs(v).format("YYYY-MM-DD HH:mm");
  const kindOptions = EVENT_KINDS.map((k) => ({ value: k, label: tOr(`event.${k}`, k) }));
  return (
    <Card>
      <Typography.Title level={1} style={{ fontSize: 22 }}>{t("webhooks.title")}</Typography.Title>
      <Typography.Paragraph type="secondary">{t("webhooks.help")}</Typography.Paragraph>
      {fresh && (
        <Alert
          type="success"
          showIcon
          closable
          onClose={() => setFresh(null)}
          data-testid="webhook-secret"
          message={<>{t("webhooks.shownOnce")} <Typography.Text code copyable>{fresh}</Typography.Text></>}
          style={{ marginBottom: 16 }}
        />
      )}
      <Form<Schemas["WebhookIn"]> form={form} layout="vertical" onFinish={create} initialValues={{ kinds: ["financing.decided", "payment.routed"] }}>
        <Space wrap align="start">
          <Form.Item
            name="url"
            label={t("webhooks.url")}
            rules={[{ required: true, message: t("common.required") }, { validator: async (_, v: string | undefined) => { if (v && !webhookUrlOk(v)) throw new Error(t("webhooks.urlBad")); } }]}
          >
            <Input style={{ width: 320, maxWidth: "80vw" }} placeholder="https://erp.example.com/fourflow" />
          </Form.Item>
          {/* a validator, not `required`: Ant Design would put aria-required on the multiple select's
              box, which axe counts as a critical violation (aria-allowed-attr) */}
          <Form.Item name="kinds" label={t("webhooks.kinds")} rules={[{ validator: async (_, v: string[] | undefined) => { if (!v?.length) throw new Error(t("common.required")); } }]}>
            <Select mode="multiple" style={{ width: 420, maxWidth: "80vw" }} options={kindOptions} />
          </Form.Item>
          <Form.Item label=" ">
            <Button type="primary" htmlType="submit" loading={busy} data-testid="webhook-create">{t("webhooks.create")}</Button>
          </Form.Item>
        </Space>
      </Form>
      <ScrollX label={t("webhooks.title")}>
        <Table<Hook>
          rowKey="id"
          data-testid="webhooks"
          dataSource={rows ?? []}
          loading={rows === null}
          size="small"
          pagination={false}
          locale={{ emptyText: <Typography.Text>{t("webhooks.none")}</Typography.Text> }}
          columns={[
            { title: t("webhooks.url"), dataIndex: "url", render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
            { title: t("webhooks.kinds"), dataIndex: "kinds", render: (v: string[]) => v.map((k) => <Tag key={k}>{tOr(`event.${k}`, k)}</Tag>) },
            { title: t("webhooks.created"), dataIndex: "created_at", render: when },
            {
              title: "",
              render: (_, h) => (
                <Popconfirm title={t("webhooks.deleteAsk", { url: h.url })} onConfirm={() => void remove(h)}>
                  <Button size="small" danger>{t("webhooks.delete")}</Button>
                </Popconfirm>
              ),
            },
          ]}
        />
      </ScrollX>
      <Typography.Title level={2} style={{ fontSize: 18, marginTop: 24 }}>{t("webhooks.dead")}</Typography.Title>
      <ScrollX label={t("webhooks.dead")}>
        <Table<Dead>
          rowKey={(d) => `${d.webhook_id}:${d.event_id}`}
          data-testid="dead-letters"
          dataSource={dead ?? []}
          loading={dead === null}
          size="small"
          pagination={{ pageSize: 10, hideOnSinglePage: true }}
          locale={{ emptyText: <Typography.Text>{t("webhooks.deadNone")}</Typography.Text> }}
          columns={[
            { title: t("webhooks.event"), dataIndex: "kind", render: (v: string) => tOr(`event.${v}`, v) },
            { title: t("webhooks.subject"), dataIndex: "subject_id" },
            { title: t("webhooks.url"), dataIndex: "webhook_id", render: (v: string) => rows?.find((h) => h.id === v)?.url ?? v },
            { title: t("webhooks.attempts"), dataIndex: "attempts", align: "right" },
            { title: t("webhooks.lastError"), dataIndex: "last_error" },
            { title: t("webhooks.deadSince"), dataIndex: "dead_since", render: when },
          ]}
        />
      </ScrollX>
    </Card>
  );
}
