// An ECharts chart for the screens (loaded on first use, so pages without charts do not
// download it): `option` is ECharts' own; the chart describes itself to screen readers.
import { useEffect, useRef } from "react";
import type { EChartsCoreOption } from "echarts/core";

let loading: Promise<typeof import("./echarts")> | null = null;

/** ECharts with the app's charts registered: one chunk, fetched once (also ahead of the first
 * chart: a page that will draw calls this when it starts, beside its API requests). */
export function loadEcharts(): Promise<typeof import("./echarts")> {
  loading ??= import("./echarts").catch((e: unknown) => {
    loading = null; // asked again by the next chart
    throw e;
  });
  return loading;
}

export function EChart({ option, height = 240, label }: { option: EChartsCoreOption; height?: number; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<{ setOption: (o: EChartsCoreOption) => void; dispose: () => void; resize: () => void } | null>(null);
  const latest = useRef(option);
  latest.current = option;
  useEffect(() => {
    let gone = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const resize = () => chart.current?.resize();
    void loadEcharts().then((core) => {
      // drawn in a task of its own once the page around it is painted: a page's tables and
      // figures are not held back by its charts, nor one chart by the others
      timer = setTimeout(() => {
        if (gone || !box.current) return;
        chart.current = core.init(box.current);
        chart.current.setOption({ aria: { enabled: true }, ...latest.current });
        window.addEventListener("resize", resize);
      });
    });
    return () => {
      gone = true;
      clearTimeout(timer);
      window.removeEventListener("resize", resize);
      chart.current?.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => chart.current?.setOption({ aria: { enabled: true }, ...option }), [option]);
  return <div ref={box} role="img" aria-label={label} style={{ width: "100%", height }} />;
}
