import { describe, expect, it } from "vitest";
import { CATALOGUES } from "../i18n";
import { EVENT_KINDS, webhookUrlOk } from "./webhookModel";

describe("webhooks", () => {
  it("takes absolute http(s) URLs with a host, as the API does", () => {
    expect(webhookUrlOk("https://erp.example.com/fourflow")).toBe(true);
    expect(webhookUrlOk(" http://10.0.0.5:8080/hook ")).toBe(true);
    expect(webhookUrlOk("ftp://erp.example.com/x")).toBe(false);
    expect(webhookUrlOk("erp.example.com/x")).toBe(false);
    expect(webhookUrlOk("https://user:pw@erp.example.com/x")).toBe(false);
    expect(webhookUrlOk("")).toBe(false);
  });

  it("names every event kind in both languages", () => {
    for (const kind of EVENT_KINDS) {
      expect(CATALOGUES.zh[`event.${kind}` as keyof typeof CATALOGUES.zh], kind).toBeTruthy();
      expect(CATALOGUES.en[`event.${kind}` as keyof typeof CATALOGUES.en], kind).toBeTruthy();
    }
  });
});
