// What the checkout script's type check (tsconfig.json, typecheck_test.go) knows of
// Toss's SDK v2 beyond the DOM. Never served: render.go embeds only assets/checkout.js
// and assets/style.css by name.
//
// The page loads the SDK with a <script> tag, which defines the global TossPayments;
// the npm package @tosspayments/tosspayments-sdk (pinned in package.json) declares what
// it returns. Everything here is taken from that package, so a change on Toss's side
// (a field renamed, an enum narrowed) fails the check instead of a buyer's payment.
import type { ANONYMOUS, TossPaymentsPayment, TossPaymentsSDK } from "@tosspayments/tosspayments-sdk";

// requestPayment is declared as one function type per method and mode (card redirect,
// card promise, virtual account …), intersected: 11 overloads in 2.8.1. The package
// exports none of the request types, so they are read back from the overloads.
// Inference pairs the pattern's signatures with the function's last ones, so the
// count must be exact: with one too few the card overloads (the first two) drop
// out, with one too many an extra parameter is unknown and swallows the union.
// Either way TossCardPaymentRequest becomes never and the assertion below fails:
// after an SDK upgrade that adds or removes an overload, update the count here.
type RequestPaymentArg<F> = F extends {
  (a: infer A1): any; (a: infer A2): any; (a: infer A3): any; (a: infer A4): any;
  (a: infer A5): any; (a: infer A6): any; (a: infer A7): any; (a: infer A8): any;
  (a: infer A9): any; (a: infer A10): any; (a: infer A11): any;
} ? A1 | A2 | A3 | A4 | A5 | A6 | A7 | A8 | A9 | A10 | A11 : never;

// The card request in redirect mode (the one carrying successUrl and failUrl): the page
// leaves for successUrl or failUrl, so it never uses the promise mode's result.
type CardRedirect<R> = R extends { method: "CARD" } ? ("successUrl" extends keyof R ? R : never) : never;

// Fails ("Type 'false' does not satisfy the constraint 'true'") when the count above
// is stale, rather than leaving checkout.js to fail against never.
type Assert<T extends true> = T;
export type RequestPaymentOverloadsCounted = Assert<
  [TossCardPaymentRequest] extends [never] ? false : true
>;

declare global {
  /** The SDK's script-tag global: TossPayments(clientKey), and TossPayments.ANONYMOUS. */
  var TossPayments: ((clientKey: string) => TossPaymentsSDK) & { readonly ANONYMOUS: typeof ANONYMOUS };

  /** What tossPayments.payment({customerKey}) returns. */
  type TossPaymentsWindow = TossPaymentsPayment;

  /** payment.requestPayment's argument for method "CARD" in redirect mode. */
  type TossCardPaymentRequest = CardRedirect<RequestPaymentArg<TossPaymentsPayment["requestPayment"]>>;

  /** card.language: the window's language codes. */
  type TossCardLanguage = NonNullable<NonNullable<TossCardPaymentRequest["card"]>["language"]>;
}
