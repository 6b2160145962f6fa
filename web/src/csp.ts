// The page's Content-Security-Policy nonce (entrypoints/api/webui.py): the server writes a
// fresh one into <meta name="csp-nonce"> and its policy with each page. Ant Design's CSS-in-JS
// is given it (ConfigProvider csp); <style> elements that libraries create themselves without
// one (rc-util's scroll locker and scrollbar measure) get it as they are inserted, so no style
// element is refused. Markup injected as HTML (the parser) never passes here: it stays refused.

export function cspNonce(doc: Pick<Document, "querySelector"> = document): string | undefined {
  const found = doc.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content;
  return found ? found : undefined;
}

const INSTALLED = Symbol("fourflow.csp-nonce");

interface Inserting {
  appendChild<T>(node: T): T;
  insertBefore<T>(node: T, child: unknown): T;
  [INSTALLED]?: true;
}

/** Give the nonce to every <style> element the app's own code inserts without one
 *  (``proto``: where appendChild and insertBefore live, Node.prototype in the browser). */
export function nonceNewStyles(nonce: string | undefined, proto?: object): void {
  const target = (proto ?? (typeof Node === "undefined" ? undefined : Node.prototype)) as Inserting | undefined;
  if (!nonce || !target || target[INSTALLED]) return;
  target[INSTALLED] = true;
  const append = target.appendChild;
  const insert = target.insertBefore;
  const mark = (node: unknown) => {
    const el = node as { tagName?: string; nonce?: string } | null;
    if (el && typeof el.tagName === "string" && el.tagName.toUpperCase() === "STYLE" && !el.nonce) el.nonce = nonce;
  };
  target.appendChild = function <T>(this: unknown, node: T): T {
    mark(node);
    return append.call(this, node) as T;
  };
  target.insertBefore = function <T>(this: unknown, node: T, child: unknown): T {
    mark(node);
    return insert.call(this, node, child) as T;
  };
}
