// The browser's EIP-712 signature of a confirmation equals the one the Python side
// (fourflow.adapters.chain.confirmation.sign, eth_account) makes for the same typed data with
// the same key: both run here on known test keys (anvil's well-known development accounts).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { addressOf, normaliseKey, signTypedData, signsAsDebtor, type TypedData } from "./ownKey";

const ROOT = decodeURIComponent(new URL("../../../../", import.meta.url).pathname);
const PYTHON = `${ROOT}.venv/bin/python`;
// anvil's default development keys (public test keys, never funds)
const KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
] as const;

/** The Python side: the typed data (confirmation.typed_data) and its signature by ``key``. */
function python(key: string, n: number): { typed: TypedData; signature: string; address: string } {
  const code = `
import json, sys
from eth_account import Account
from fourflow.adapters.chain import confirmation as c
key = bytes.fromhex(sys.argv[1][2:]); n = int(sys.argv[2])
debtor = Account.from_key(key).address
conf = c.Confirmation(
    item_id=bytes([n]) * 32, creditor="0x" + "11" * 20, debtor=debtor, currency=156,
    face_value=100_000_000_00 + n, maturity_day=20_700 + n, report_hash=bytes([0xAB]) * 32,
    account_bank="0x" + "22" * 20, nonce=n, deadline=1_900_000_000 + n,
)
verifying = "0x" + "33" * 20
print(json.dumps({"typed": c.typed_data(conf, chain_id=31337, verifying_contract=verifying),
                  "signature": c.sign(conf, key, chain_id=31337, verifying_contract=verifying),
                  "address": debtor}))
`;
  const out = execFileSync(PYTHON, ["-c", code, key, String(n)], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  return JSON.parse(out);
}

describe("own-key EIP-712 confirmation", () => {
  it("needs the project's Python environment (make setup)", () => {
    expect(existsSync(PYTHON)).toBe(true);
  });

  it("signs exactly as the Python side does, for each key and message", async () => {
    for (const [n, key] of KEYS.entries()) {
      const py = python(key, n + 1);
      const typed = py.typed;
      expect(addressOf(key)).toBe(py.address);
      expect(signsAsDebtor(typed, key)).toBe(true);
      expect(await signTypedData(typed, key)).toBe(py.signature);
      // another key signs differently and is not the debtor
      const other = KEYS[(n + 1) % KEYS.length];
      expect(signsAsDebtor(typed, other)).toBe(false);
      expect(await signTypedData(typed, other)).not.toBe(py.signature);
      // a changed term changes the signature
      const changed = { ...typed, message: { ...typed.message, faceValue: Number(typed.message.faceValue) + 1 } };
      expect(await signTypedData(changed, key)).not.toBe(py.signature);
    }
  }, 120_000);

  it("takes a key with or without 0x and refuses anything else without echoing it", () => {
    expect(normaliseKey(KEYS[0].slice(2))).toEqual({ key: KEYS[0] });
    expect(normaliseKey(`  ${KEYS[0].toUpperCase().replace("0X", "0x")} `)).toEqual({ key: KEYS[0] });
    expect(normaliseKey("")).toEqual({ error: "empty" });
    expect(normaliseKey("0x1234")).toEqual({ error: "format" });
    expect(normaliseKey("0x" + "0".repeat(64))).toEqual({ error: "format" });
    expect(normaliseKey("zz" + KEYS[0].slice(4))).toEqual({ error: "format" });
  });
});
