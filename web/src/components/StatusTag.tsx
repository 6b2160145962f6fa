import { Tag } from "antd";
import type { ReactNode } from "react";

/** Dark text on light tints: Ant Design's preset tag colours fall short of WCAG AA. */
const TONES = {
  good: { color: "#135200", background: "#f6ffed", borderColor: "#95de64" },
  warn: { color: "#613400", background: "#fffbe6", borderColor: "#ffd666" },
  bad: { color: "#820014", background: "#fff1f0", borderColor: "#ff7875" },
  info: { color: "#002c8c", background: "#e6f4ff", borderColor: "#69b1ff" },
  plain: { color: "#262626", background: "#fafafa", borderColor: "#d9d9d9" },
} as const;

export type Tone = keyof typeof TONES;

export function StatusTag({ tone, children }: { tone: Tone; children: ReactNode }) {
  return <Tag style={TONES[tone]}>{children}</Tag>;
}
