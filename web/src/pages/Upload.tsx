import { useCallback, useMemo, useRef, useState } from "react";
import { Card, Progress, Table, Typography, Upload as AntUpload } from "antd";
import { InboxOutlined } from "@ant-design/icons";
import { ApiError } from "../api/client";
import { describeRow, tally, uploadDocument, type UploadRow } from "../api/upload";
import { EChart } from "../components/EChart";
import { StatusTag, type Tone } from "../components/StatusTag";
import { ScrollX } from "../components/ScrollX";
import { useI18n } from "../i18n";
import { useSession } from "../session";

type Phase = "waiting" | "sending" | "checking" | "done" | "failed";

interface Sent {
  key: string;
  name: string;
  progress: number;
  phase: Phase;
  rows: UploadRow[];
  failure?: string;
}

/** Files sent at once: the server does the chain work of one upload at a time anyway. */
const AT_ONCE = 2;

const STATUS_TONE: Record<string, Tone> = { accepted: "good", duplicate: "warn", rejected: "bad" };

export function Upload() {
  const { t, tOr } = useI18n();
  const { api } = useSession();
  const [sent, setSent] = useState<Sent[]>([]);
  const queue = useRef<{ key: string; file: File }[]>([]);
  const running = useRef(0);
  const counter = useRef(0);

  const update = useCallback((key: string, change: Partial<Sent>) => {
    setSent((all) => all.map((s) => (s.key === key ? { ...s, ...change } : s)));
  }, []);

  const pump = useCallback(() => {
    while (running.current < AT_ONCE && queue.current.length > 0) {
      const next = queue.current.shift()!;
      running.current += 1;
      update(next.key, { phase: "sending" });
      uploadDocument({
        store: api.store,
        refresh: api.refresh,
        file: next.file,
        name: next.file.name,
        onProgress: (p) => update(next.key, { progress: p, phase: p >= 1 ? "checking" : "sending" }),
      })
        .then((rows) => update(next.key, { rows, phase: "done", progress: 1 }))
        .catch((e: unknown) =>
          update(next.key, { phase: "failed", failure: e instanceof ApiError ? e.detail : String(e) }),
        )
        .finally(() => {
          running.current -= 1;
          pump();
        });
    }
  }, [api, update]);

  const add = (file: File) => {
    counter.current += 1;
    const key = `${counter.current}`;
    setSent((all) => [...all, { key, name: file.name, progress: 0, phase: "waiting", rows: [] }]);
    queue.current.push({ key, file });
    pump();
    return false; // we send it ourselves
  };

  const finished = sent.filter((s) => s.phase === "done").flatMap((s) => s.rows);
  const counts = tally(finished);
  const pie = useMemo(
    () => ({
      tooltip: { trigger: "item" },
      series: [
        {
          type: "pie",
          radius: ["45%", "70%"],
          data: (["accepted", "duplicate", "rejected"] as const).map((k) => ({
            name: t(`upload.${k}`),
            value: counts[k],
            itemStyle: { color: { accepted: "#389e0d", duplicate: "#d48806", rejected: "#cf1322" }[k] },
          })),
        },
      ],
    }),
    [counts.accepted, counts.duplicate, counts.rejected, t], // eslint-disable-line react-hooks/exhaustive-deps
  );

  const result = (s: Sent) => {
    if (s.phase === "failed") return <StatusTag tone="bad">{t("upload.failed")}</StatusTag>;
    if (s.phase !== "done") return <StatusTag tone="plain">{t(`upload.${s.phase}`)}</StatusTag>;
    return s.rows.map((r, i) => (
      <StatusTag key={i} tone={STATUS_TONE[r.status] ?? "plain"}>
        {tOr(`upload.${r.status}`, r.status)}
      </StatusTag>
    ));
  };
  const finding = (s: Sent) => {
    if (s.phase === "failed") return <Typography.Text type="danger">{s.failure}</Typography.Text>;
    if (s.phase !== "done") return null;
    return s.rows.map((r, i) => (
      <ul key={i} style={{ margin: 0, paddingInlineStart: 18 }}>
        {describeRow(r).map((said, j) => (
          <li key={j}>{t(said.key, said.vars)}</li>
        ))}
      </ul>
    ));
  };

  return (
    <Card>
      <Typography.Title level={1} style={{ fontSize: 22 }}>{t("upload.title")}</Typography.Title>
      <AntUpload.Dragger multiple beforeUpload={add} showUploadList={false} data-testid="dropzone">
        <p className="ant-upload-drag-icon"><InboxOutlined /></p>
        <p className="ant-upload-text">{t("upload.drop")}</p>
        <p className="ant-upload-hint">{t("upload.hint")}</p>
      </AntUpload.Dragger>
      {sent.length > 0 && (
        <>
          <Typography.Paragraph data-testid="upload-summary" style={{ marginTop: 16 }}>
            {t("upload.summary", { total: sent.length, ...counts })}
          </Typography.Paragraph>
          {finished.length > 0 && (
            <EChart option={pie} height={180} label={t("upload.summary", { total: sent.length, ...counts })} />
          )}
          <ScrollX label={t("upload.title")}>
            <Table<Sent>
              data-testid="upload-results"
              rowKey="key"
              dataSource={sent}
              pagination={false}
              size="small"
              columns={[
                { title: t("upload.file"), dataIndex: "name", width: 220 },
                {
                  title: t("upload.progress"),
                  width: 140,
                  render: (_, s) => (
                    <Progress
                      percent={Math.round(s.progress * 100)}
                      size="small"
                      status={s.phase === "failed" ? "exception" : s.phase === "done" ? "success" : "active"}
                      aria-label={`${s.name} ${Math.round(s.progress * 100)}%`}
                    />
                  ),
                },
                { title: t("upload.result"), width: 120, render: (_, s) => <span data-testid="upload-result">{result(s)}</span> },
                { title: t("upload.finding"), render: (_, s) => finding(s) },
              ]}
            />
          </ScrollX>
        </>
      )}
    </Card>
  );
}
