// @ts-check
// The checkout page's only script. It reads its data from the JSON block
// (never from markup or string-built code), opens Toss's payment window on
// the pay button and shows anything that goes wrong in #error, as text.
//
// Types are JSDoc comments only, so the browser runs this file as it is:
// `tsc -p shared/pages` (typecheck_test.go) checks it, the requestPayment call
// included, against Toss's SDK declarations (assets/globals.d.ts).

/**
 * The JSON block's shape: checkoutData in render.go.
 * @typedef {object} CheckoutData
 * @property {string} clientKey
 * @property {string} [customerKey] absent: the buyer pays as TossPayments.ANONYMOUS
 * @property {number} amount
 * @property {string} currency
 * @property {string} orderId
 * @property {string} orderName
 * @property {string} successUrl
 * @property {string} failUrl
 * @property {string} [customerEmail]
 * @property {string} [customerName]
 * @property {TossCardLanguage} language Lang.TossCode in lang.go
 * @property {{load: string, request: string, canceled: string, busy: string, detail: string}} text
 */

(function () {
  "use strict";
  // The template always renders these three elements (templates/checkout.html).
  /** @type {CheckoutData} */
  var data = JSON.parse(/** @type {string} */ (/** @type {HTMLElement} */ (document.getElementById("checkout-data")).textContent));
  var text = data.text;
  var button = /** @type {HTMLButtonElement} */ (document.getElementById("pay"));
  var errorBox = /** @type {HTMLElement} */ (document.getElementById("error"));
  var label = button.textContent;
  /** @type {TossPaymentsWindow | null} */
  var payment = null;

  /**
   * @param {string} message
   * @param {string} detail
   */
  function showError(message, detail) {
    errorBox.textContent = "";
    var p = document.createElement("p");
    p.textContent = message;
    errorBox.appendChild(p);
    if (detail) {
      var d = document.createElement("p");
      d.className = "detail";
      d.textContent = text.detail + ": " + detail;
      errorBox.appendChild(d);
    }
    errorBox.hidden = false;
  }

  function clearError() {
    errorBox.hidden = true;
    errorBox.textContent = "";
  }

  // While a request is open the button stays disabled, so a second tap
  // cannot open a second window for the same order.
  /** @param {boolean} busy */
  function setBusy(busy) {
    button.disabled = busy;
    button.setAttribute("aria-busy", busy ? "true" : "false");
    button.textContent = busy ? text.busy : label;
  }

  function sdkLoaded() {
    return typeof window.TossPayments === "function";
  }

  // The SDK script tag comes before this one, so by now it has either run or
  // failed (blocked, offline): say so at once rather than on the first tap.
  if (!sdkLoaded()) {
    showError(text.load, "");
  }

  function request() {
    if (!payment) {
      payment = window.TossPayments(data.clientKey).payment({
        customerKey: data.customerKey || window.TossPayments.ANONYMOUS
      });
    }
    /** @type {TossCardPaymentRequest} */
    var params = {
      method: "CARD",
      amount: { currency: data.currency, value: data.amount },
      orderId: data.orderId,
      orderName: data.orderName,
      successUrl: data.successUrl,
      failUrl: data.failUrl,
      // showEstimatedAmount: Toss's window shows its own estimate of the
      // charge at Toss's current rate; a page of ours at a fixed rate would
      // go stale, so the checkout page shows none.
      card: { useInternationalCardOnly: true, language: data.language, showEstimatedAmount: true }
    };
    if (data.customerEmail) {
      params.customerEmail = data.customerEmail;
    }
    if (data.customerName) {
      params.customerName = data.customerName;
    }
    return payment.requestPayment(params);
  }

  button.addEventListener("click", function () {
    if (button.disabled) {
      return;
    }
    clearError();
    if (!sdkLoaded()) {
      showError(text.load, "");
      return;
    }
    setBusy(true);
    var pending;
    try {
      pending = Promise.resolve(request());
    } catch (e) {
      pending = Promise.reject(e);
    }
    // On success Toss redirects to successUrl, so a settled promise means the
    // page is leaving: the button stays disabled until then.
    pending.then(null, function (e) {
      var code = e && e.code ? String(e.code) : "";
      if (code === "USER_CANCEL" || code === "PAY_PROCESS_CANCELED") {
        showError(text.canceled, "");
      } else {
        showError(text.request, e && e.message ? String(e.message) : "");
      }
      setBusy(false);
    });
  });

  // Coming back with the Back button may restore this page from the
  // back/forward cache with the button still disabled.
  window.addEventListener("pageshow", function (ev) {
    if (ev.persisted) {
      setBusy(false);
    }
  });
})();
