// Runs the sandbox's SDK stand-in outside a browser for sdk_test.go.
// Usage: node sdk_harness.js SDK_FILE < cases.json
// Each case gets a fresh global: a page at https://shop.example with
// window.location.assign captured and just enough DOM for the SDK's overlay.
// It calls TossPayments(clientKey).payment(options).requestPayment(params),
// then delivers the case's messages (as the window's iframe or another frame
// would post them), and reports what happened:
//   threw      payment() or requestPayment() threw (code, message)
//   rejected   the Promise rejected (code, message)
//   navigated  the page went to url (windowTarget "self")
//   opened     an overlay iframe shows url and the Promise is pending
//   pending    nothing visible happened
// overlay says whether the overlay is still on the page at the end.
"use strict";
const fs = require("fs");
const vm = require("vm");

const src = fs.readFileSync(process.argv[2], "utf8");
const cases = JSON.parse(fs.readFileSync(0, "utf8"));

const PAGE_ORIGIN = "https://shop.example";

function fakeDocument() {
  function element(tag) {
    const el = {
      tagName: tag.toUpperCase(), id: "", style: {}, children: [], parentNode: null,
      appendChild(c) { c.parentNode = el; el.children.push(c); return c; },
      remove() {
        if (el.parentNode) {
          const kids = el.parentNode.children;
          kids.splice(kids.indexOf(el), 1);
          el.parentNode = null;
        }
      },
    };
    if (el.tagName === "IFRAME") {
      el.contentWindow = { frame: true };
    }
    return el;
  }
  const body = element("body");
  function find(el, pred) {
    for (const c of el.children) {
      if (pred(c)) return c;
      const f = find(c, pred);
      if (f) return f;
    }
    return null;
  }
  return {
    body,
    createElement: element,
    getElementById(id) { return find(body, (e) => e.id === id); },
    find(pred) { return find(body, pred); },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function run(c) {
  let navigated = null;
  const listeners = [];
  const document = fakeDocument();
  const ctx = { URL, URLSearchParams };
  ctx.window = {
    document,
    location: { origin: PAGE_ORIGIN, assign(u) { navigated = String(u); } },
    addEventListener(type, fn) { if (type === "message") listeners.push(fn); },
    removeEventListener(type, fn) {
      const i = listeners.indexOf(fn);
      if (type === "message" && i >= 0) listeners.splice(i, 1);
    },
  };
  vm.createContext(ctx);
  vm.runInContext(src, ctx);
  const out = { name: c.name, state: "pending" };
  const frame = () => document.find((e) => e.tagName === "IFRAME");
  try {
    const tp = ctx.window.TossPayments(c.clientKey);
    const options = c.anonymous ? { customerKey: ctx.window.TossPayments.ANONYMOUS } : c.paymentOptions;
    const promise = tp.payment(options).requestPayment(c.params);
    promise.then(
      () => { out.state = "resolved"; },
      (e) => {
        out.state = "rejected";
        out.code = e && e.code;
        out.message = e && e.message;
        out.isError = Object.prototype.toString.call(e) === "[object Error]";
      });
    // Rejection happens synchronously inside the executor; one macrotask
    // turn lets every handler above run.
    await tick();
    const f = frame();
    if (f) {
      out.url = f.src;
      if (out.state === "pending") {
        out.state = "opened";
      }
    }
    for (const m of c.messages || []) {
      const f = frame();
      const ev = { origin: m.origin, data: m.data, source: m.fromFrame && f ? f.contentWindow : { frame: false } };
      for (const fn of listeners.slice()) {
        fn(ev);
      }
      await tick();
    }
  } catch (e) {
    out.state = "threw";
    out.code = e && e.code;
    out.message = String(e && e.message);
    out.isError = Object.prototype.toString.call(e) === "[object Error]";
  }
  if (navigated !== null) {
    out.url = navigated;
    if (out.state === "pending") {
      out.state = "navigated";
    }
  }
  out.overlay = frame() !== null;
  out.listeners = listeners.length;
  return out;
}

(async () => {
  const results = [];
  for (const c of cases) {
    results.push(await run(c));
  }
  process.stdout.write(JSON.stringify(results));
})().catch((e) => {
  process.stderr.write(String(e && e.stack || e));
  process.exit(1);
});
