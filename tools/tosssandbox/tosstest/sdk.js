/*
 * Stand-in for the Toss Payments SDK v2 (https://js.tosspayments.com/v2/standard),
 * served by the project's Toss sandbox. Same entry points as the real SDK for
 * the international card window: TossPayments(clientKey).payment({customerKey})
 * .requestPayment({...}) returning a Promise. It checks the parameters this
 * product relies on and rejects with an Error carrying {code, message};
 * on success it navigates this window to the sandbox payment window (the real
 * SDK opens an overlay), so the Promise stays pending, as it does when the
 * real window redirects.
 */
(function (global) {
  "use strict";

  // Filled in by the sandbox: {clientKey, windowUrl}.
  var config = /*SANDBOX_CONFIG*/null;

  var ANONYMOUS = "@@ANONYMOUS";
  var ORDER_ID = /^[A-Za-z0-9_-]{6,64}$/;
  var CUSTOMER_KEY = /^[A-Za-z0-9\-_=.@]{2,50}$/;
  var LANGUAGES = ["KO", "EN", "JA", "ZH"];
  var MAX_ORDER_NAME = 100;

  function sdkError(code, message) {
    var err = new Error(message);
    err.name = "TossPaymentsError";
    err.code = code;
    return err;
  }

  function isHttpUrl(value) {
    if (typeof value !== "string") {
      return false;
    }
    try {
      var u = new URL(value);
      return (u.protocol === "http:" || u.protocol === "https:") && u.host !== "";
    } catch (e) {
      return false;
    }
  }

  function isPlainObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  // validate returns the first problem found, or null.
  function validate(clientKey, customerKey, p) {
    if (typeof clientKey !== "string" || !/^(test|live)_ck_/.test(clientKey)) {
      return sdkError("INVALID_CLIENT_KEY", "Client key must start with test_ck_ or live_ck_ (API individual integration key).");
    }
    if (!config || clientKey !== config.clientKey) {
      return sdkError("INVALID_CLIENT_KEY", "This sandbox only accepts its own client key.");
    }
    if (customerKey !== ANONYMOUS && (typeof customerKey !== "string" || !CUSTOMER_KEY.test(customerKey))) {
      return sdkError("INVALID_CUSTOMER_KEY", "customerKey must be 2 to 50 characters of A-Z, a-z, 0-9, -, _, =, ., @ or TossPayments.ANONYMOUS.");
    }
    if (!isPlainObject(p)) {
      return sdkError("INVALID_PARAMETERS", "requestPayment takes one object of parameters.");
    }
    if (p.method !== "CARD") {
      return sdkError("INVALID_METHOD", "method must be \"CARD\" for the international card window.");
    }
    if (!isPlainObject(p.amount) || p.amount.currency !== "KRW") {
      return sdkError("INVALID_AMOUNT", "amount must be {currency: \"KRW\", value}.");
    }
    if (typeof p.amount.value !== "number" || !Number.isSafeInteger(p.amount.value) || p.amount.value <= 0) {
      return sdkError("INVALID_AMOUNT", "amount.value must be a positive integer.");
    }
    if (typeof p.orderId !== "string" || !ORDER_ID.test(p.orderId)) {
      return sdkError("INVALID_ORDER_ID", "orderId must be 6 to 64 characters of A-Z, a-z, 0-9, - and _.");
    }
    if (typeof p.orderName !== "string" || p.orderName.trim() === "" || Array.from(p.orderName).length > MAX_ORDER_NAME) {
      return sdkError("INVALID_ORDER_NAME", "orderName is required (100 characters at most).");
    }
    if (!isHttpUrl(p.successUrl)) {
      return sdkError("INVALID_SUCCESS_URL", "successUrl must be an absolute http(s) URL.");
    }
    if (!isHttpUrl(p.failUrl)) {
      return sdkError("INVALID_FAIL_URL", "failUrl must be an absolute http(s) URL.");
    }
    if (p.customerEmail !== undefined && p.customerEmail !== null && typeof p.customerEmail !== "string") {
      return sdkError("INVALID_PARAMETERS", "customerEmail must be a string.");
    }
    if (p.customerName !== undefined && p.customerName !== null && typeof p.customerName !== "string") {
      return sdkError("INVALID_PARAMETERS", "customerName must be a string.");
    }
    var card = p.card;
    if (!isPlainObject(card) || card.useInternationalCardOnly !== true) {
      return sdkError("INVALID_CARD_OPTION", "card.useInternationalCardOnly must be true: this product uses the international card window only.");
    }
    if (card.language !== undefined && LANGUAGES.indexOf(card.language) < 0) {
      return sdkError("INVALID_CARD_LANGUAGE", "card.language must be one of KO, EN, JA, ZH.");
    }
    if (card.showEstimatedAmount !== undefined && typeof card.showEstimatedAmount !== "boolean") {
      return sdkError("INVALID_CARD_OPTION", "card.showEstimatedAmount must be a boolean.");
    }
    return null;
  }

  function windowUrl(clientKey, customerKey, p) {
    var q = new URLSearchParams();
    q.set("clientKey", clientKey);
    q.set("customerKey", customerKey);
    q.set("orderId", p.orderId);
    q.set("orderName", p.orderName);
    q.set("amount", String(p.amount.value));
    q.set("currency", p.amount.currency);
    q.set("successUrl", p.successUrl);
    q.set("failUrl", p.failUrl);
    if (typeof p.customerEmail === "string") {
      q.set("customerEmail", p.customerEmail);
    }
    if (typeof p.customerName === "string") {
      q.set("customerName", p.customerName);
    }
    if (p.card.language !== undefined) {
      q.set("language", p.card.language);
    }
    // The window shows its fixed-rate estimate only when the request asks
    // for one, so a merchant page that does not ask sees none.
    if (p.card.showEstimatedAmount === true) {
      q.set("showEstimatedAmount", "true");
    }
    return config.windowUrl + "?" + q.toString();
  }

  function TossPayments(clientKey) {
    return {
      payment: function (options) {
        var customerKey = isPlainObject(options) ? options.customerKey : undefined;
        return {
          requestPayment: function (params) {
            return new Promise(function (resolve, reject) {
              var err = validate(clientKey, customerKey, params);
              if (err) {
                reject(err);
                return;
              }
              global.location.assign(windowUrl(clientKey, customerKey, params));
            });
          }
        };
      }
    };
  }
  TossPayments.ANONYMOUS = ANONYMOUS;

  global.TossPayments = TossPayments;
})(typeof window !== "undefined" ? window : globalThis);
