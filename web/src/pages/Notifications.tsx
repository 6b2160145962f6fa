import { useEffect, useState } from "react";
import { Badge, Button, Drawer, List, Typography } from "antd";
import { BellOutlined } from "@ant-design/icons";
import { followEvents, type LiveEvent } from "../api/events";
import { useI18n } from "../i18n";
import { useSession } from "../session";

/** Shown at most: the newest events of this tab's session. */
const KEEP = 200;

function summary(e: LiveEvent): string {
  const d = e.data as { data?: Record<string, unknown>; subject_id?: string } | null;
  const inner = d?.data ?? {};
  const parts = ["number", "kind", "status", "trade_id", "item_id", "financing_id"]
    .map((k) => inner[k])
    .filter((v): v is string | number => typeof v === "string" || typeof v === "number");
  return parts.length ? parts.join(" · ") : (d?.subject_id ?? "");
}

/** The live notifications of the caller's organisation (server-sent events). */
export function Notifications() {
  const { t, tOr } = useI18n();
  const { api } = useSession();
  const [events, setEvents] = useState<LiveEvent[]>([]);
  const [unseen, setUnseen] = useState(0);
  const [connected, setConnected] = useState(false);
  const [open, setOpen] = useState(false);
  useEffect(() => {
    const stop = new AbortController();
    void followEvents(api, {
      signal: stop.signal,
      onState: setConnected,
      onEvent: (e) => {
        setEvents((all) => [e, ...all].slice(0, KEEP));
        setUnseen((n) => n + 1);
      },
    });
    return () => stop.abort();
  }, [api]);
  return (
    <>
      <Badge count={unseen} size="small" data-testid="notifications-count">
        <Button
          type="text"
          style={{ color: "#fff" }}
          icon={<BellOutlined />}
          aria-label={`${t("notifications.title")} (${connected ? t("notifications.live") : t("notifications.offline")})`}
          data-connected={connected ? "yes" : "no"}
          data-testid="notifications"
          onClick={() => {
            setOpen(true);
            setUnseen(0);
          }}
        />
      </Badge>
      <Drawer open={open} onClose={() => setOpen(false)} title={t("notifications.title")} width={360}>
        <Typography.Paragraph type="secondary">
          {connected ? t("notifications.live") : t("notifications.offline")}
        </Typography.Paragraph>
        <List
          dataSource={events}
          locale={{ emptyText: <Typography.Text>{t("notifications.empty")}</Typography.Text> }}
          renderItem={(e) => (
            <List.Item data-testid="notification">
              <List.Item.Meta title={tOr(`event.${e.kind}`, e.kind)} description={summary(e)} />
            </List.Item>
          )}
        />
      </Drawer>
    </>
  );
}
