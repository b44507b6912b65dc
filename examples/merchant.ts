// A merchant's server, in TypeScript, against this API: create an order,
// list the newest orders, refund a paid one. Every request and answer is
// typed by what openapi-typescript generates from docs/openapi.yaml
// (generated/api.d.ts), so the script stops compiling when the document
// changes under it.
//
//   npm ci && npm run types && npx tsc -p . --outDir out
//   API_URL=http://127.0.0.1:3000 MERCHANT_API_KEY=… REFUND_PAYMENT_KEY=… node out/merchant.js
//
// REFUND_PAYMENT_KEY is the paymentKey of a paid order (GET /orders shows
// it): the buyer pays in Toss's window, which no script can do for them.
import type { components, paths } from "./generated/api.js";

type CreateOrder = paths["/orders"]["post"]["requestBody"]["content"]["application/json"];
type OrderAnswer = paths["/orders"]["post"]["responses"][200]["content"]["application/json"];
type ListAnswer = paths["/orders"]["get"]["responses"][200]["content"]["application/json"];
type ListQuery = NonNullable<paths["/orders"]["get"]["parameters"]["query"]>;
type Refund = paths["/payments/{paymentKey}/cancel"]["post"]["requestBody"]["content"]["application/json"];
type RefundAnswer = paths["/payments/{paymentKey}/cancel"]["post"]["responses"][200]["content"]["application/json"];
type ErrorAnswer = components["schemas"]["ErrorAnswer"];
type Order = components["schemas"]["Order"];

const apiUrl = process.env.API_URL ?? "http://127.0.0.1:3000";
const merchantKey = process.env.MERCHANT_API_KEY ?? "";
const refundPaymentKey = process.env.REFUND_PAYMENT_KEY ?? "";

// The merchant key as Basic credentials: the key as the user name, no password.
const authorization = "Basic " + Buffer.from(merchantKey + ":").toString("base64");

/** An answer that is not the one asked for: its status and the API's error. */
class APIError extends Error {
  constructor(readonly status: number, readonly body: ErrorAnswer | unknown) {
    super(`HTTP ${status}: ${JSON.stringify(body)}`);
  }
}

async function call<T>(method: string, path: string, want: number, init: { body?: unknown; idempotencyKey?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { Authorization: authorization, "Accept-Language": "en-US" };
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  // One key per logical operation, reused on every retry of it: a retried
  // create or refund is answered once.
  if (init.idempotencyKey !== undefined) headers["Idempotency-Key"] = init.idempotencyKey;
  const resp = await fetch(apiUrl + path, {
    method,
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const body: unknown = await resp.json();
  if (resp.status !== want) throw new APIError(resp.status, body);
  return body as T;
}

/** paymentKeys stay out of logs whole: the first and last four characters. */
function mask(key: string | undefined): string {
  return key === undefined ? "" : key.slice(0, 4) + "****" + key.slice(-4);
}

function show(step: string, o: Order | RefundAnswer["entityBody"]): void {
  console.log(JSON.stringify({ step, orderId: o.orderId, status: o.status, amount: o.amount, paymentKey: mask(o.paymentKey) }));
}

async function main(): Promise<void> {
  if (merchantKey === "") throw new Error("MERCHANT_API_KEY is not set");

  const order: CreateOrder = { orderName: "Hanbok rental, 1 day", amount: 39000, refOrderId: "shop-1001" };
  const created = await call<OrderAnswer>("POST", "/orders", 200, { body: order, idempotencyKey: crypto.randomUUID() });
  show("created", created.entityBody);
  console.log(JSON.stringify({ step: "checkout", url: created.entityBody.checkoutUrl.replace(/token=[^&]+/, "token=****") }));

  const query: ListQuery = { limit: 5 };
  const list = await call<ListAnswer>("GET", `/orders?limit=${query.limit}`, 200);
  for (const o of list.entityBody.items) show("listed", o);
  if (!list.entityBody.items.some((o) => o.orderId === created.entityBody.orderId)) {
    throw new Error("the order just created is not among the newest");
  }

  if (refundPaymentKey === "") {
    console.log(JSON.stringify({ step: "refund", skipped: "REFUND_PAYMENT_KEY is not set" }));
    return;
  }
  const refund: Refund = { cancelReason: "size exchange", cancelAmount: 10000 };
  const refunded = await call<RefundAnswer>("POST", `/payments/${encodeURIComponent(refundPaymentKey)}/cancel`, 200, {
    body: refund,
    idempotencyKey: crypto.randomUUID(),
  });
  show("refunded", refunded.entityBody);
  const balance = refunded.entityBody.payment?.balanceAmount;
  console.log(JSON.stringify({ step: "balance", balanceAmount: balance, repeated: refunded.entityBody.repeated }));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
