import { useCallback, useEffect, useState } from "react";
import { Alert, App, Button, Card, Form, Input, InputNumber, Popconfirm, Select, Space, Table, Typography } from "antd";
import dayjs from "dayjs";
import { must, type Schemas } from "../api/client";
import { ScrollX } from "../components/ScrollX";
import { useI18n } from "../i18n";
import { useSession } from "../session";

type Key = Schemas["ApiKeyOut"];
type Role = Schemas["ApiKeyIn"]["role"];
const ROLES: Role[] = ["admin", "clerk", "finance_manager", "credit_officer", "approver", "auditor"];

/** The organisation's API keys: create (the key shown once), list, revoke. */
export function ApiKeys() {
  const { t, tOr } = useI18n();
  const { api } = useSession();
  const { message } = App.useApp();
  const [rows, setRows] = useState<Key[]>([]);
  const [fresh, setFresh] = useState<string | null>(null);
  const [form] = Form.useForm<Schemas["ApiKeyIn"]>();
  const load = useCallback(async () => {
    try {
      setRows(must(await api.client.GET("/api/v1/api-keys")));
    } catch (e) {
      void message.error(t("common.error", { detail: String(e) }));
    }
  }, [api, message, t]);
  useEffect(() => void load(), [load]);
  const create = async (f: Schemas["ApiKeyIn"]) => {
    try {
      const made = must(await api.client.POST("/api/v1/api-keys", { body: { ...f, days: f.days ?? null } }));
      setFresh(made.key);
      form.resetFields();
      await load();
    } catch (e) {
      void message.error(t("common.error", { detail: e instanceof Error ? e.message : String(e) }));
    }
  };
  const revoke = async (k: Key) => {
    try {
      must(await api.client.DELETE("/api/v1/api-keys/{key_id}", { params: { path: { key_id: k.id } } }));
      await load();
    } catch (e) {
      void message.error(t("common.error", { detail: e instanceof Error ? e.message : String(e) }));
    }
  };
  const when = (v: string | null) => (v ? dayjs(v).format("YYYY-MM-DD HH:mm") : "");
  return (
    <Card>
      <Typography.Title level={1} style={{ fontSize: 22 }}>{t("apiKeys.title")}</Typography.Title>
      {fresh && (
        <Alert
          type="success"
          showIcon
          closable
          onClose={() => setFresh(null)}
          message={<>{t("apiKeys.shownOnce")} <Typography.Text code copyable>{fresh}</Typography.Text></>}
          style={{ marginBottom: 16 }}
        />
      )}
      <Form<Schemas["ApiKeyIn"]> form={form} layout="vertical" onFinish={create} initialValues={{ role: "clerk", days: 90 }}>
        <Space wrap align="end">
          <Form.Item name="label" label={t("apiKeys.label")} rules={[{ required: true, message: t("common.required") }]}>
            <Input />
          </Form.Item>
          <Form.Item name="role" label={t("apiKeys.role")}>
            <Select style={{ width: 160 }} options={ROLES.map((r) => ({ value: r, label: t(`role.${r}`) }))} />
          </Form.Item>
          <Form.Item name="days" label={t("apiKeys.days")}><InputNumber min={1} max={3650} /></Form.Item>
          <Form.Item><Button type="primary" htmlType="submit">{t("apiKeys.create")}</Button></Form.Item>
        </Space>
      </Form>
      <ScrollX label={t("apiKeys.title")}>
        <Table<Key>
          rowKey="id"
          dataSource={rows}
          size="small"
          pagination={false}
          columns={[
            { title: t("apiKeys.label"), dataIndex: "label" },
            { title: t("apiKeys.role"), dataIndex: "role", render: (v: string | null) => (v ? tOr(`role.${v}`, v) : "") },
            { title: t("apiKeys.created"), dataIndex: "created_at", render: when },
            { title: t("apiKeys.expires"), dataIndex: "expires_at", render: when },
            { title: t("apiKeys.revoked"), dataIndex: "revoked_at", render: when },
            {
              title: "",
              render: (_, k) =>
                k.revoked_at ? null : (
                  <Popconfirm title={`${t("apiKeys.revoke")} ${k.label}?`} onConfirm={() => void revoke(k)}>
                    <Button size="small" danger>{t("apiKeys.revoke")}</Button>
                  </Popconfirm>
                ),
            },
          ]}
        />
      </ScrollX>
    </Card>
  );
}
