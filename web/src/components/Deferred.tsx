// A part of a page mounted only once it is on screen (or within MARGIN of it), and then in a
// task of its own after the frame that shows the rest: what is below the fold (charts, their
// ECharts chunk, tables) neither delays the page's first paint nor is built unless looked at.
// Until then a box of the given height keeps the page's layout (nothing jumps when it mounts).
import { useEffect, useRef, useState, type ReactNode } from "react";

const MARGIN = "200px";

export function Deferred({ children, height }: { children: ReactNode; height: number }) {
  const box = useRef<HTMLDivElement>(null);
  const [shown, setShown] = useState(() => typeof IntersectionObserver === "undefined");
  useEffect(() => {
    const el = box.current;
    if (shown || !el) return;
    let frame: number | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const seen = new IntersectionObserver(
      (entries) => {
        if (!entries.some((e) => e.isIntersecting)) return;
        seen.disconnect();
        // after the frame that paints what is already there
        frame = requestAnimationFrame(() => void (timer = setTimeout(() => setShown(true))));
      },
      { rootMargin: MARGIN },
    );
    seen.observe(el);
    return () => {
      seen.disconnect();
      if (frame !== undefined) cancelAnimationFrame(frame);
      clearTimeout(timer);
    };
  }, [shown]);
  if (shown) return <>{children}</>;
  return <div ref={box} style={{ minHeight: height }} data-deferred="" />;
}
