/*
 * Stand-in for the Toss Payments SDK v2 (https://js.tosspayments.com/v2/standard),
 * served by the project's Toss sandbox. Same entry points as the real SDK for
 * the international card window: TossPayments(clientKey).payment({customerKey})
 * .requestPayment({...}) returning a Promise, with the real SDK's split of
 * checks: payment() throws for a bad customerKey, requestPayment() rejects
 * for bad payment parameters, each with an Error carrying {code, message}.
 *
 * windowTarget says where the window opens, as in the real SDK's typings:
 * - "iframe" (the default here; the real SDK's default on a PC): an overlay
 *   on the merchant's page. Paying or a card decline takes the whole page to
 *   successUrl or failUrl; closing the window rejects the Promise with
 *   USER_CANCEL and leaves the page as it was, so it can offer to try again.
 * - "self" (the real SDK's default on mobile): the page itself navigates to
 *   the window, so the Promise stays pending and everything, closing
 *   included (PAY_PROCESS_CANCELED), comes back through the redirects.
 */
(function (global) {
  "use strict";

  // Filled in by the sandbox: {clientKey, windowUrl}.
  var config = /*SANDBOX_CONFIG*/null;

  var ANONYMOUS = "@@ANONYMOUS";
  // Toss's orderId rule (SDK typings and docs): "=" is allowed.
  var ORDER_ID = /^[A-Za-z0-9_=-]{6,64}$/;
  var CUSTOMER_KEY = /^[A-Za-z0-9\-_=.@]{2,50}$/;
  var LANGUAGES = ["KO", "EN", "JA", "ZH"];
  var MAX_ORDER_NAME = 100;
  var WINDOW_TARGETS = ["iframe", "self"];
  // What the window posts to this page when the buyer closes it; the window
  // (window.go) sends the same type.
  var CANCEL_MESSAGE = "tosssandbox:user-cancel";
  var OVERLAY_ID = "tosspayments-sandbox-overlay";

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

  // validateCustomerKey returns payment()'s problem with its options, or null.
  function validateCustomerKey(customerKey) {
    if (customerKey !== ANONYMOUS && (typeof customerKey !== "string" || !CUSTOMER_KEY.test(customerKey))) {
      return sdkError("INVALID_CUSTOMER_KEY", "customerKey must be 2 to 50 characters of A-Z, a-z, 0-9, -, _, =, ., @ or TossPayments.ANONYMOUS.");
    }
    return null;
  }

  // validate returns requestPayment()'s first problem, or null.
  function validate(clientKey, p) {
    if (typeof clientKey !== "string" || !/^(test|live)_ck_/.test(clientKey)) {
      return sdkError("INVALID_CLIENT_KEY", "Client key must start with test_ck_ or live_ck_ (API individual integration key).");
    }
    if (!config || clientKey !== config.clientKey) {
      return sdkError("INVALID_CLIENT_KEY", "This sandbox only accepts its own client key.");
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
      return sdkError("INVALID_ORDER_ID", "orderId must be 6 to 64 characters of A-Z, a-z, 0-9, -, _ and =.");
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
    if (p.windowTarget !== undefined && WINDOW_TARGETS.indexOf(p.windowTarget) < 0) {
      return sdkError("INVALID_PARAMETERS", "windowTarget must be \"iframe\" or \"self\".");
    }
    return null;
  }

  function windowUrl(clientKey, customerKey, p, target) {
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
    q.set("windowTarget", target);
    if (target === "iframe") {
      // Where the window may post its cancel message: this page's origin.
      q.set("parentOrigin", global.location.origin);
    }
    return config.windowUrl + "?" + q.toString();
  }

  // openOverlay shows the window in an iframe over the page, as the real SDK
  // does on a PC, and rejects with USER_CANCEL when the window says the
  // buyer closed it. Only a message from that iframe, from the window's
  // origin, counts: any other frame on the page could post the same shape.
  // Styles are set through CSSOM, which a merchant's CSP (no inline styles)
  // allows, as it must for the real SDK.
  function openOverlay(url, reject) {
    var doc = global.document;
    var old = doc.getElementById(OVERLAY_ID);
    if (old) {
      old.remove();
    }
    var overlay = doc.createElement("div");
    overlay.id = OVERLAY_ID;
    var s = overlay.style;
    s.position = "fixed";
    s.top = s.left = "0";
    s.width = s.height = "100%";
    s.zIndex = "2147483647";
    s.background = "rgba(0, 0, 0, 0.4)";
    var frame = doc.createElement("iframe");
    frame.id = "tosspayments-sandbox-window";
    frame.title = "Toss Payments";
    frame.src = url;
    var f = frame.style;
    f.border = "0";
    f.width = f.height = "100%";
    overlay.appendChild(frame);
    doc.body.appendChild(overlay);

    var windowOrigin = new URL(config.windowUrl).origin;
    function onMessage(ev) {
      var d = ev.data;
      if (ev.source !== frame.contentWindow || ev.origin !== windowOrigin || !isPlainObject(d) || d.type !== CANCEL_MESSAGE) {
        return;
      }
      global.removeEventListener("message", onMessage);
      overlay.remove();
      reject(sdkError("USER_CANCEL", typeof d.message === "string" && d.message !== "" ? d.message : "The buyer closed the payment window."));
    }
    global.addEventListener("message", onMessage);
  }

  function TossPayments(clientKey) {
    return {
      // payment() checks its own options and throws, as the real SDK does:
      // a bad customerKey is the page's setup, not this payment's request.
      payment: function (options) {
        var customerKey = isPlainObject(options) ? options.customerKey : undefined;
        var err = validateCustomerKey(customerKey);
        if (err) {
          throw err;
        }
        return {
          requestPayment: function (params) {
            return new Promise(function (resolve, reject) {
              var err = validate(clientKey, params);
              if (err) {
                reject(err);
                return;
              }
              var target = params.windowTarget || "iframe";
              var url = windowUrl(clientKey, customerKey, params, target);
              if (target === "self") {
                global.location.assign(url);
                return;
              }
              openOverlay(url, reject);
            });
          }
        };
      }
    };
  }
  TossPayments.ANONYMOUS = ANONYMOUS;

  global.TossPayments = TossPayments;
})(typeof window !== "undefined" ? window : globalThis);
