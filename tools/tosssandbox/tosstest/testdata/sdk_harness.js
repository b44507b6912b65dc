// Runs the sandbox's SDK stand-in outside a browser for sdk_test.go.
// Usage: node sdk_harness.js SDK_FILE < cases.json
// Each case gets a fresh global with window.location.assign captured, calls
// TossPayments(clientKey).payment(options).requestPayment(params) and
// reports whether the Promise rejected (with code and message), the page
// navigated (with the URL), or something else happened.
"use strict";
const fs = require("fs");
const vm = require("vm");

const src = fs.readFileSync(process.argv[2], "utf8");
const cases = JSON.parse(fs.readFileSync(0, "utf8"));

async function run(c) {
  let navigated = null;
  const ctx = { URL, URLSearchParams };
  ctx.window = { location: { assign(u) { navigated = String(u); } } };
  vm.createContext(ctx);
  vm.runInContext(src, ctx);
  const out = { name: c.name, state: "pending" };
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
    await new Promise((resolve) => setImmediate(resolve));
  } catch (e) {
    out.state = "threw";
    out.message = String(e);
  }
  if (navigated !== null) {
    out.url = navigated;
    if (out.state === "pending") {
      out.state = "navigated";
    }
  }
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
