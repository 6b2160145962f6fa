// A wide table in a box that scrolls sideways (a phone's page never does), instead of Ant
// Design's scroll={{ x }}, which measures every column after each render (see app.css). The box
// is focusable and named, so a keyboard can scroll it (axe: scrollable-region-focusable; an empty
// table, or one with no link or button in its cells, has nothing else to focus).
import type { ReactNode } from "react";

export function ScrollX({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="ff-scroll-box" tabIndex={0} role="region" aria-label={label}>
      {children}
    </div>
  );
}
