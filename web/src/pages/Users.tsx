import { useCallback, useEffect, useState } from "react";
import { Alert, App, Button, Card, Form, Input, Popconfirm, Select, Space, Table, Typography } from "antd";
import { must, type Schemas } from "../api/client";
import { StatusTag } from "../components/StatusTag";
import { ScrollX } from "../components/ScrollX";
import { useI18n } from "../i18n";
import { useSession } from "../session";

type User = Schemas["UserOut"];
type Role = Schemas["InviteIn"]["role"];
const ROLES: Role[] = ["admin", "clerk", "finance_manager", "credit_officer", "approver", "auditor"];

/** The organisation's users and their roles; invitations; disabling. */
export function Users() {
  const { t, tOr } = useI18n();
  const { api } = useSession();
  const { message } = App.useApp();
  const [rows, setRows] = useState<User[]>([]);
  const [invitation, setInvitation] = useState<string | null>(null);
  const [form] = Form.useForm<Schemas["InviteIn"]>();
  const load = useCallback(async () => {
    try {
      setRows(must(await api.client.GET("/api/v1/users")));
    } catch (e) {
      void message.error(t("common.error", { detail: String(e) }));
    }
  }, [api, message, t]);
  useEffect(() => void load(), [load]);
  const invite = async (f: Schemas["InviteIn"]) => {
    try {
      const sent = must(await api.client.POST("/api/v1/invitations", { body: f }));
      setInvitation(sent.invitation);
      form.resetFields();
    } catch (e) {
      void message.error(t("common.error", { detail: e instanceof Error ? e.message : String(e) }));
    }
  };
  const disable = async (u: User) => {
    try {
      must(await api.client.POST("/api/v1/users/{user_id}/disable", { params: { path: { user_id: u.id } } }));
      void message.success(t("users.disabled", { email: u.email }));
      await load();
    } catch (e) {
      void message.error(t("common.error", { detail: e instanceof Error ? e.message : String(e) }));
    }
  };
  const required = [{ required: true, message: t("common.required") }];
  return (
    <Card>
      <Typography.Title level={1} style={{ fontSize: 22 }}>{t("users.title")}</Typography.Title>
      <ScrollX label={t("users.title")}>
        <Table<User>
          rowKey="id"
          dataSource={rows}
          size="small"
          pagination={false}
          columns={[
            { title: t("users.name"), dataIndex: "name" },
            { title: t("users.email"), dataIndex: "email" },
            { title: t("users.role"), dataIndex: "role", render: (v: string) => tOr(`role.${v}`, v) },
            { title: t("users.status"), dataIndex: "status", render: (v: string) => <StatusTag tone={v === "active" ? "good" : "plain"}>{tOr(`status.${v}`, v)}</StatusTag> },
            { title: t("users.secondFactor"), dataIndex: "second_factor", render: (v: boolean) => t(v ? "users.yes" : "users.no") },
            {
              title: "",
              render: (_, u) =>
                u.status === "active" ? (
                  <Popconfirm title={`${t("users.disable")} ${u.email}?`} onConfirm={() => void disable(u)}>
                    <Button size="small" danger>{t("users.disable")}</Button>
                  </Popconfirm>
                ) : null,
            },
          ]}
        />
      </ScrollX>
      <Typography.Title level={2} style={{ fontSize: 18, marginTop: 24 }}>{t("users.invite")}</Typography.Title>
      {invitation && (
        <Alert
          type="success"
          showIcon
          closable
          onClose={() => setInvitation(null)}
          message={<>{t("users.invited")} <Typography.Text code copyable>{invitation}</Typography.Text></>}
          style={{ marginBottom: 16 }}
        />
      )}
      <Form<Schemas["InviteIn"]> form={form} layout="vertical" onFinish={invite} initialValues={{ role: "clerk" }}>
        <Space wrap align="end">
          <Form.Item name="name" label={t("users.name")} rules={required}><Input /></Form.Item>
          <Form.Item name="email" label={t("users.email")} rules={required}><Input type="email" /></Form.Item>
          <Form.Item name="role" label={t("users.role")}>
            <Select style={{ width: 160 }} options={ROLES.map((r) => ({ value: r, label: t(`role.${r}`) }))} />
          </Form.Item>
          <Form.Item><Button type="primary" htmlType="submit">{t("users.invite")}</Button></Form.Item>
        </Space>
      </Form>
    </Card>
  );
}
