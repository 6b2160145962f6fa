// The parts of ECharts the app draws with, and nothing else: ECharts' own modules by name (so the
// bundler keeps only these charts and components, not every chart `echarts/charts` offers),
// registered once. Imported on first use (`import("./echarts")`, one chunk), never statically:
// pages without charts do not download it.
import { init, use } from "echarts/core";
import { BarChart, GraphChart, LineChart, PieChart } from "echarts/charts";
import { AriaComponent, GridComponent, LegendComponent, TitleComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

use([
  PieChart, BarChart, LineChart, GraphChart,
  TooltipComponent, LegendComponent, GridComponent, TitleComponent, AriaComponent, CanvasRenderer,
]);

export { init };
