import { useCallback, useEffect, useMemo, useState, type ReactNode } from "react";
import { App, Button, Card, Checkbox, Descriptions, Form, Input, Modal, Segmented, Space, Table, Typography } from "antd";
import dayjs from "dayjs";
import { must, type Schemas } from "../api/client";
import { StatusTag, type Tone } from "../components/StatusTag";
import { ScrollX } from "../components/ScrollX";
import { useI18n } from "../i18n";
import { useSession } from "../session";
import { mayDecide } from "./operator/model";

type Application = Schemas["ApplicationOut"];
const CHECKS = ["licence_verified", "legal_representative_verified", "sanctions_screened"] as const;

interface Review {
  checks: string[];
  note: string;
}

const STATUS_TONE: Record<string, Tone> = { pending: "info", admitted: "good", rejected: "bad" };

/** Where the applications come from and where a review goes (the operator's own, or a
 * scenario platform's local government's). */
export interface AdmissionSource {
  list: (status: "pending" | undefined) => Promise<Application[]>;
  review: (applicationId: string, body: Schemas["ReviewIn"]) => Promise<void>;
}

/** The operator's admission review of registrations (POST /registrations/{id}/review). */
export function Admissions() {
  const { t } = useI18n();
  const { api, me } = useSession();
  const source = useMemo<AdmissionSource>(
    () => ({
      list: async (status) =>
        must(await api.client.GET("/api/v1/registrations", { params: { query: status ? { status } : {} } })),
      review: async (applicationId, body) => {
        must(
          await api.client.POST("/api/v1/registrations/{application_id}/review", {
            params: { path: { application_id: applicationId } },
            body,
          }),
        );
      },
    }),
    [api],
  );
  return <AdmissionReview title={t("admissions.title")} source={source} mayReview={mayDecide(me, "admissions")} />;
}

/** Applications listed (pending or all) and reviewed: the KYC checks, a note, admit or
 * reject (the review button only where `mayReview`). */
export function AdmissionReview({ title, source, mayReview, extra }: {
  title: string;
  source: AdmissionSource;
  mayReview: boolean;
  extra?: ReactNode;
}) {
  const { t, tOr } = useI18n();
  const { message } = App.useApp();
  const [which, setWhich] = useState<"pending" | "all">("pending");
  const [rows, setRows] = useState<Application[]>([]);
  const [loading, setLoading] = useState(false);
  const [open, setOpen] = useState<Application | null>(null);
  const [form] = Form.useForm<Review>();

  const load = useCallback(async () => {
    setLoading(true);
    try {
      setRows(await source.list(which === "pending" ? "pending" : undefined));
    } catch (e) {
      void message.error(t("common.error", { detail: e instanceof Error ? e.message : String(e) }));
    } finally {
      setLoading(false);
    }
  }, [source, which, message, t]);
  useEffect(() => void load(), [load]);

  const decide = async (admit: boolean) => {
    if (!open) return;
    const f = await form.validateFields();
    const checks = Object.fromEntries(CHECKS.map((c) => [c, f.checks?.includes(c) ?? false]));
    try {
      await source.review(open.id, { admit, checks, note: f.note });
      void message.success(t(admit ? "admissions.admitted" : "admissions.rejected", { name: open.name }));
      setOpen(null);
      form.resetFields();
      await load();
    } catch (e) {
      void message.error(t("common.error", { detail: e instanceof Error ? e.message : String(e) }));
    }
  };

  return (
    <Card>
      <Space style={{ width: "100%", justifyContent: "space-between" }} wrap>
        <Typography.Title level={1} style={{ fontSize: 22, margin: 0 }}>{title}</Typography.Title>
        <Space>
          <Segmented
            value={which}
            onChange={(v) => setWhich(v as "pending" | "all")}
            options={[
              { value: "pending", label: t("admissions.pending") },
              { value: "all", label: t("admissions.all") },
            ]}
          />
          <Button onClick={() => void load()}>{t("common.refresh")}</Button>
        </Space>
      </Space>
      {extra}
      <ScrollX label={t("admissions.title")}>
        <Table<Application>
          style={{ marginTop: 16 }}
          rowKey="id"
          loading={loading}
          dataSource={rows}
          size="small"
          locale={{ emptyText: <Typography.Text>{t("admissions.empty")}</Typography.Text> }}
          columns={[
            { title: t("admissions.name"), dataIndex: "name" },
            { title: t("admissions.uscc"), dataIndex: "uscc" },
            { title: t("admissions.type"), dataIndex: "org_type", render: (v: string) => tOr(`orgType.${v}`, v) },
            {
              title: t("admissions.status"),
              dataIndex: "status",
              render: (v: string) => <StatusTag tone={STATUS_TONE[v] ?? "plain"}>{tOr(`status.${v}`, v)}</StatusTag>,
            },
            { title: t("admissions.created"), dataIndex: "created_at", render: (v: string) => dayjs(v).format("YYYY-MM-DD HH:mm") },
            {
              title: t("admissions.review"),
              render: (_, a) =>
                a.status === "pending" && mayReview ? (
                  <Button size="small" type="primary" onClick={() => setOpen(a)} aria-label={`${t("admissions.review")} ${a.name}`}>
                    {t("admissions.review")}
                  </Button>
                ) : null,
            },
          ]}
        />
      </ScrollX>
      <Modal
        open={open !== null}
        title={open ? `${t("admissions.review")}: ${open.name}` : ""}
        onCancel={() => setOpen(null)}
        footer={[
          <Button key="reject" danger onClick={() => void decide(false)}>{t("admissions.reject")}</Button>,
          <Button key="admit" type="primary" onClick={() => void decide(true)}>{t("admissions.admit")}</Button>,
        ]}
      >
        {open && (
          <>
            <Descriptions column={1} size="small" bordered title={t("admissions.licence")}>
              <Descriptions.Item label={t("admissions.uscc")}>{open.uscc}</Descriptions.Item>
              <Descriptions.Item label={t("admissions.type")}>{tOr(`orgType.${open.org_type}`, open.org_type)}</Descriptions.Item>
              {Object.entries(open.licence).map(([k, v]) => (
                <Descriptions.Item key={k} label={k}>{v}</Descriptions.Item>
              ))}
            </Descriptions>
            <Form<Review> form={form} layout="vertical" style={{ marginTop: 16 }}>
              <Form.Item name="checks" label={t("admissions.checks")}>
                <Checkbox.Group
                  options={CHECKS.map((c) => ({ value: c, label: t(`admissions.check.${c}`) }))}
                />
              </Form.Item>
              <Form.Item name="note" label={t("admissions.note")} rules={[{ required: true, message: t("common.required") }]}>
                <Input.TextArea rows={3} maxLength={2000} />
              </Form.Item>
            </Form>
          </>
        )}
      </Modal>
    </Card>
  );
}
