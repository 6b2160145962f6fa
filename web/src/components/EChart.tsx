// An ECharts chart for the screens (loaded on first use, so pages without charts do not
// download it): `option` is ECharts' own; the chart describes itself to screen readers.
import { useEffect, useRef } from "react";
import type { EChartsCoreOption } from "echarts/core";

async function echarts() {
  const [core, charts, components, renderers] = await Promise.all([
    import("echarts/core"),
    import("echarts/charts"),
    import("echarts/components"),
    import("echarts/renderers"),
  ]);
  core.use([
    charts.PieChart, charts.BarChart, charts.LineChart,
    components.TooltipComponent, components.LegendComponent, components.GridComponent,
    components.TitleComponent, components.AriaComponent, renderers.CanvasRenderer,
  ]);
  return core;
}

export function EChart({ option, height = 240, label }: { option: EChartsCoreOption; height?: number; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<{ setOption: (o: EChartsCoreOption) => void; dispose: () => void; resize: () => void } | null>(null);
  useEffect(() => {
    let gone = false;
    const resize = () => chart.current?.resize();
    void echarts().then((core) => {
      if (gone || !box.current) return;
      chart.current = core.init(box.current);
      chart.current.setOption({ aria: { enabled: true }, ...option });
      window.addEventListener("resize", resize);
    });
    return () => {
      gone = true;
      window.removeEventListener("resize", resize);
      chart.current?.dispose();
      chart.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  useEffect(() => chart.current?.setOption({ aria: { enabled: true }, ...option }), [option]);
  return <div ref={box} role="img" aria-label={label} style={{ width: "100%", height }} />;
}
