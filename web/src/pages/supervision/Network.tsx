// The supply network by tier (issue 17 item 5): GET /supervision/network of the whole platform
// or of a scenario platform, drawn as an ECharts graph with the core enterprises at the right
// and each tier of suppliers a column further left; organisations per tier; CSV of the nodes.
import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { Alert, Card, Space, Spin, Table, Typography } from "antd";
import { must } from "../../api/client";
import { ScrollX } from "../../components/ScrollX";
import { useI18n } from "../../i18n";
import { useSession } from "../../session";
import { loadEcharts } from "../../components/EChart";
import { CsvButton, emptyText, useRefusal } from "../bank/common";
import { networkGraph, type Network as NetworkView } from "./model";

function Graph({ net, label }: { net: NetworkView; label: string }) {
  const { t } = useI18n();
  const box = useRef<HTMLDivElement>(null);
  const graph = useMemo(() => networkGraph(net), [net]);
  useEffect(() => {
    let gone = false;
    let chart: { setOption: (o: object) => void; dispose: () => void; resize: () => void } | null = null;
    const resize = () => chart?.resize();
    void loadEcharts().then((core) => {
      if (gone || !box.current) return;
      chart = core.init(box.current);
      chart.setOption({
        aria: { enabled: true },
        tooltip: {},
        legend: [{ data: graph.categories.map((c) => (c.name === "none" ? t("sup.noTier") : t("sup.tierN", { n: c.name }))) }],
        series: [{
          type: "graph", layout: "none", roam: true, draggable: false, edgeSymbol: ["none", "arrow"], edgeSymbolSize: 5,
          categories: graph.categories.map((c) => ({ name: c.name === "none" ? t("sup.noTier") : t("sup.tierN", { n: c.name }) })),
          // the rightmost column (the core enterprises) labelled on its left: not cut at the edge
          data: graph.nodes.map((n) => (graph.nodes.length > 1 && n.x === Math.max(...graph.nodes.map((m) => m.x ?? 0)) && (n.x ?? 0) > 0 ? { ...n, label: { position: "left" } } : n)),
          links: graph.links, label: { show: graph.nodes.length <= 60, position: "right", fontSize: 10 },
          lineStyle: { color: "source", opacity: 0.5, curveness: 0.1 }, emphasis: { focus: "adjacency" },
        }],
      });
      window.addEventListener("resize", resize);
    });
    return () => {
      gone = true;
      window.removeEventListener("resize", resize);
      chart?.dispose();
    };
  }, [graph, t]);
  return <div ref={box} role="img" aria-label={label} style={{ width: "100%", height: 600 }} />;
}

export function Network() {
  const { t } = useI18n();
  const { api } = useSession();
  const words = useRefusal();
  const [search] = useSearchParams();
  const platform = search.get("platform") ?? "";
  const [net, setNet] = useState<NetworkView | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let gone = false;
    const client = api.client as unknown as { GET: (p: string, o: object) => Promise<{ data?: unknown; error?: unknown; response: Response }> };
    client.GET("/api/v1/supervision/network", { params: { query: platform ? { platform_id: platform } : {} } }).then(
      (a) => !gone && setNet(must(a) as NetworkView),
      (e) => !gone && setError(words(e)),
    );
    return () => void (gone = true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, platform]);
  // the graph's code fetched while the network is awaited, after its request is sent
  useEffect(() => void loadEcharts().catch(() => undefined), []);
  type Node = NetworkView["nodes"][number];
  const columns = [
    { title: t("sup.party"), value: (n: Node) => n.name },
    { title: t("sup.orgTypes"), value: (n: Node) => n.types.join(" ") },
    { title: t("sup.tier"), value: (n: Node) => (n.tier === null ? t("sup.noTier") : n.tier) },
  ];
  return (
    <Space direction="vertical" size={16} style={{ width: "100%" }}>
      <Card>
        <Space style={{ width: "100%", justifyContent: "space-between" }} wrap>
          <Typography.Title level={1} style={{ fontSize: 22, margin: 0 }}>{t("sup.network")}</Typography.Title>
          <Link to={`/supervision${platform ? `?platform=${platform}` : ""}`}>{t("sup.backToFigures")}</Link>
        </Space>
        {error && <Alert style={{ marginTop: 12 }} type="error" showIcon message={error} />}
      </Card>
      {!net && !error && <Spin aria-label={t("common.loading")} />}
      {net && (
        <>
          <Card size="small" data-testid="network">
            <Typography.Paragraph>
              {t("sup.networkText", { nodes: net.nodes.length, edges: net.edges.length,
                tiers: net.tiers.map((x) => `${x.tier === null ? t("sup.noTier") : t("sup.tierN", { n: x.tier })} ${x.organisations}`).join(" · ") || "—" })}
            </Typography.Paragraph>
            <Graph net={net} label={t("sup.network")} />
          </Card>
          <Card size="small" title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("sup.networkNodes")}</h2>} extra={<CsvButton name="network" columns={columns} rows={net.nodes} />}>
            <ScrollX label={t("sup.networkNodes")}>
              <Table<Node> className="ff-nowrap" size="small" rowKey="id" locale={emptyText(t("sup.noRows"))} dataSource={net.nodes} pagination={{ pageSize: 10 }}
                columns={columns.map((c) => ({ title: c.title, render: (_: unknown, n: Node) => c.value(n) }))} />
            </ScrollX>
          </Card>
        </>
      )}
    </Space>
  );
}
