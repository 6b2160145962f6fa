import { describe, expect, it } from "vitest";
import { cspNonce, nonceNewStyles } from "./csp";

describe("the page's CSP nonce", () => {
  it("is read from <meta name=csp-nonce>, absent when the page has none", () => {
    const doc = (content: string | null) => ({
      querySelector: (sel: string) => (sel === 'meta[name="csp-nonce"]' && content !== null ? { content } : null),
    }) as unknown as Pick<Document, "querySelector">;
    expect(cspNonce(doc("abc+/="))).toBe("abc+/=");
    expect(cspNonce(doc(""))).toBeUndefined();
    expect(cspNonce(doc(null))).toBeUndefined();
  });

  it("is given to style elements inserted without one, and to nothing else", () => {
    const inserted: unknown[] = [];
    class Parent {
      appendChild<T>(node: T): T {
        inserted.push(node);
        return node;
      }
      insertBefore<T>(node: T, _child: unknown): T {
        inserted.push(node);
        return node;
      }
    }
    nonceNewStyles("n0nce", Parent.prototype);
    nonceNewStyles("other", Parent.prototype); // once only
    const parent = new Parent();
    const style = { tagName: "STYLE", nonce: "" };
    const own = { tagName: "style", nonce: "kept" };
    const div = { tagName: "DIV", nonce: "" };
    expect(parent.appendChild(style)).toBe(style);
    parent.insertBefore(own, null);
    parent.appendChild(div);
    expect(style.nonce).toBe("n0nce");
    expect(own.nonce).toBe("kept");
    expect(div.nonce).toBe("");
    expect(inserted).toEqual([style, own, div]);
    nonceNewStyles(undefined, Parent.prototype); // no nonce: nothing changes
  });
});
