// An organisation holding its own key signs the debtor's EIP-712 confirmation in the browser
// (GET /items/{id}/confirmation/typed-data, then POST .../confirmation/signature). The private
// key is typed into the page, used here and never sent anywhere: only the signature leaves.
// viem computes the EIP-712 hash and the deterministic (RFC 6979) secp256k1 signature, the same
// bytes eth_account gives on the server (ownKey.test.ts checks it against the Python side).
import { privateKeyToAccount } from "viem/accounts";

export interface TypedField {
  name: string;
  type: string;
}

export interface TypedData {
  types: Record<string, TypedField[]>;
  primaryType: string;
  domain: { name: string; version: string; chainId: number; verifyingContract: string };
  message: Record<string, string | number>;
}

export interface ToSign {
  item_id: string;
  nonce: number;
  deadline: number;
  typed_data: TypedData;
}

type Hex = `0x${string}`;

/** The private key as 0x + 64 hex digits, or an error naming what is wrong (never the key). */
export function normaliseKey(raw: string): { key: Hex } | { error: "empty" | "format" } {
  const text = raw.trim();
  if (!text) return { error: "empty" };
  const hex = text.startsWith("0x") || text.startsWith("0X") ? text.slice(2) : text;
  if (!/^[0-9a-fA-F]{64}$/.test(hex) || /^0+$/.test(hex)) return { error: "format" };
  return { key: `0x${hex.toLowerCase()}` };
}

/** The message's values as EIP-712 encoding wants them: integers as bigint. */
function values(data: TypedData): Record<string, unknown> {
  const fields = data.types[data.primaryType] ?? [];
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = data.message[f.name];
    out[f.name] = /^u?int\d*$/.test(f.type) ? BigInt(v) : v;
  }
  return out;
}

/** The address a key signs as (checksummed). */
export function addressOf(key: Hex): string {
  return privateKeyToAccount(key).address;
}

/** Sign the typed data with ``key``: the 65-byte signature (r, s, v in 27/28) as 0x-hex. */
export async function signTypedData(data: TypedData, key: Hex): Promise<Hex> {
  const account = privateKeyToAccount(key);
  const types = Object.fromEntries(Object.entries(data.types).filter(([k]) => k !== "EIP712Domain"));
  return account.signTypedData({
    domain: { ...data.domain, chainId: data.domain.chainId, verifyingContract: data.domain.verifyingContract as Hex },
    types,
    primaryType: data.primaryType,
    message: values(data),
  });
}

/** Whether the key is the debtor's the message names (the API refuses any other signer). */
export function signsAsDebtor(data: TypedData, key: Hex): boolean {
  const debtor = String(data.message.debtor ?? "");
  return debtor.toLowerCase() === addressOf(key).toLowerCase();
}
