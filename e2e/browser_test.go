package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tossintl/backend/internal/wait"
	"github.com/tossintl/backend/tools/samlocal/stack"
)

// The buyer's whole journey in a real headless Chromium over the local
// stack (real bootstraps, DynamoDB Local, moto, the sandbox's SDK stand-in and window):
// pay and get a receipt; close the window, see the checkout page offer to
// try again (USER_CANCEL) and pay; get declined and pay with another card.
// In Korean and in English. Screenshots of every page land in
// SCREENSHOT_DIR (default .artifacts/screenshots).

func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium on PATH: apt-get install chromium (the browser tests never skip)")
	return ""
}

func screenshotDir(t *testing.T) string {
	dir := os.Getenv("SCREENSHOT_DIR")
	if dir == "" {
		dir = filepath.Join(root, ".artifacts", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

type browser struct {
	t   *testing.T
	ctx context.Context
	dir string
}

func newBrowser(t *testing.T) *browser {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(430, 932),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx, dir: screenshotDir(t)}
}

// run runs steps with a bound on the whole step.
func (b *browser) run(step string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(step, err)
	}
}

func (b *browser) fail(step string, err error) {
	b.t.Helper()
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	html, _ := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	b.t.Fatalf("%s: %v\nat %s\n%.2000s", step, err, loc, html)
}

func get[T any](b *browser, step string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fail(step, err)
	}
	return v
}

func (b *browser) shot(name string) {
	b.t.Helper()
	png := get(b, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) waitState(state string) {
	b.t.Helper()
	b.run("wait for "+state, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#status[data-state=%q]`, state))))
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	return get(b, "read "+sel, chromedp.Text(chromedp.CSS(sel)))
}

func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	return get(b, "read "+sel+" "+name, chromedp.AttributeValue(chromedp.CSS(sel), name)).Value
}

func click(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }

// windowFrame is the iframe the SDK stand-in opens over the checkout page,
// as Toss's SDK does on a PC (windowTarget "iframe").
const windowFrame = "#tosspayments-sandbox-window"

// inWindow waits for the payment window over the checkout page until sel
// is visible in it, and returns the option that points a query inside it.
// The window is served from the sandbox's origin, but on the same host, so
// Chromium keeps it in the page's process and its document is reachable
// from the iframe's node. The node is looked up afresh on each try: one
// taken while the frame still shows about:blank keeps pointing at that
// empty document after the window has loaded (seen under a loaded machine).
func (b *browser) inWindow(sel string) chromedp.QueryOption {
	b.t.Helper()
	var w chromedp.QueryOption
	var last error
	err := wait.Until(b.ctx, 30*time.Second, func() (bool, error) {
		w = nil
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		defer cancel()
		nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(windowFrame)))
		if err == nil && len(nodes) > 0 {
			w = chromedp.FromNode(nodes[0])
			err = chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel), w))
		}
		last = err
		return err == nil && w != nil, nil
	})
	if err != nil {
		b.fail("wait for the window's "+sel, fmt.Errorf("%w; last try: %v", err, last))
	}
	return w
}

// inWindowClick waits for sels inside the window, then clicks them in turn.
func (b *browser) inWindowClick(step string, sels ...string) {
	b.t.Helper()
	w := b.inWindow(sels[0])
	var steps []chromedp.Action[chromedp.Void]
	for _, sel := range sels {
		steps = append(steps, chromedp.WaitVisible(chromedp.CSS(sel), w), chromedp.Click(chromedp.CSS(sel), w))
	}
	b.run(step, steps...)
}

func visible(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(sel))
}

func TestBuyerJourneyInChromium(t *testing.T) {
	cspReported := newLogWatch(`"msg":"csp violation"`, `"CspViolations":1`)
	s, logs := startStack(t, stack.Options{Logs: cspReported})
	b := newBrowser(t)

	createOrder := func(name string, amount int64) (id, checkout string) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"orderName": name, "amount": amount, "customerName": "Alex Kim"})
		r := do(t, "POST", s.URL+"/orders", map[string]string{"Authorization": basic(stack.DefaultMerchantAPIKey), "Content-Type": "application/json"}, body)
		var env struct {
			EntityBody struct{ OrderID, CheckoutURL string }
		}
		if r.Status != 200 || json.Unmarshal(r.Body, &env) != nil || !strings.Contains(env.EntityBody.CheckoutURL, "?token=") {
			t.Fatalf("create order: %d %s", r.Status, r.Body)
		}
		// The checkout URL as the merchant got it, its checkout token in
		// its query: the buyer's pages add only the language to it.
		return env.EntityBody.OrderID, env.EntityBody.CheckoutURL
	}
	orderStatus := func(id string) string {
		t.Helper()
		r := do(t, "GET", s.URL+"/orders/"+id, map[string]string{"Authorization": basic(stack.DefaultMerchantAPIKey)}, nil)
		var env struct{ EntityBody struct{ Status string } }
		if r.Status != 200 || json.Unmarshal(r.Body, &env) != nil {
			t.Fatalf("get order: %d %s", r.Status, r.Body)
		}
		return env.EntityBody.Status
	}

	for _, lang := range []struct{ code, htmlLang, payWord, canceled string }{
		{"ko", "ko", "결제", "결제창을 닫으셨어요"},
		{"en", "en", "Pay", "You closed the payment window"},
	} {
		t.Run(lang.code, func(t *testing.T) {
			b.t = t

			// Pay and get a receipt.
			id, checkout := createOrder("Hanbok rental, 1 day", 39000)
			b.run("open checkout", chromedp.Navigate(checkout+"&lang="+lang.code))
			b.waitState("checkout")
			if got := b.text("#pay"); !strings.Contains(got, lang.payWord) {
				t.Errorf("pay button reads %q", got)
			}
			b.shot("checkout-" + lang.code)
			b.run("pay", click("#pay"))
			b.inWindow("#approve")
			b.shot("window-" + lang.code)
			b.inWindowClick("approve", "#approve")
			b.waitState("done")
			if htmlLang := b.attr("html", "lang"); htmlLang != lang.htmlLang {
				t.Errorf("receipt page lang %q", htmlLang)
			}
			if card := b.text("#card-number"); !strings.Contains(card, "****") {
				t.Errorf("receipt card number %q", card)
			}
			b.shot("receipt-" + lang.code)
			if st := orderStatus(id); st != "DONE" {
				t.Fatalf("order after the receipt: %s", st)
			}
			// A refresh of the receipt confirms nothing again.
			b.run("refresh receipt", chromedp.Reload())
			b.waitState("done")
			if n := s.Sandbox.ConfirmsExecuted(id); n != 1 {
				t.Fatalf("confirms executed: %d", n)
			}

			// Close the window: the SDK rejects with USER_CANCEL (Toss's
			// promise flow, which checkout.js uses) and the buyer stays on the
			// checkout page, told nothing was charged and free to pay again.
			// No fail redirect: that is the redirect flow's PAY_PROCESS_CANCELED.
			id, checkout = createOrder("Tea set", 52000)
			checkoutURL := checkout + "&lang=" + lang.code
			b.run("open checkout", chromedp.Navigate(checkoutURL))
			b.waitState("checkout")
			b.run("pay", click("#pay"))
			b.inWindowClick("close", "#close")
			b.run("window gone, error shown", chromedp.WaitNotPresent(chromedp.CSS(windowFrame)), visible("#error"),
				chromedp.WaitEnabled(chromedp.CSS("#pay")))
			b.shot("closed-" + lang.code)
			if msg := b.text("#error"); !strings.Contains(msg, lang.canceled) {
				t.Errorf("after closing the window #error reads %q, want %q", msg, lang.canceled)
			}
			if loc := get(b, "location", chromedp.Location()); loc != checkoutURL {
				t.Errorf("after closing the window the page is %s, want the checkout %s", loc, checkoutURL)
			}
			if state := b.attr("#status", "data-state"); state != "checkout" {
				t.Errorf("after closing the window the page state is %q", state)
			}
			if busy := b.attr("#pay", "aria-busy"); busy != "false" {
				t.Errorf("pay button aria-busy %q after closing the window", busy)
			}
			if st := orderStatus(id); st != "PENDING" {
				t.Fatalf("order after closing the window: %s", st)
			}
			// Try again from the same page: the window opens anew and pays.
			b.run("pay again", click("#pay"))
			b.inWindowClick("approve", "#approve")
			b.waitState("done")
			if st := orderStatus(id); st != "DONE" {
				t.Fatalf("order after paying again: %s", st)
			}
			if n := s.Sandbox.ConfirmsExecuted(id); n != 1 {
				t.Fatalf("confirms executed: %d", n)
			}

			// Declined, then paid with another card.
			id, checkout = createOrder("Fan, hand-painted", 27000)
			b.run("open checkout", chromedp.Navigate(checkout+"&lang="+lang.code))
			b.waitState("checkout")
			b.run("pay", click("#pay"))
			b.inWindowClick("decline", "#decline")
			b.waitState("fail")
			if code := b.attr("#status", "data-code"); code != "REJECT_CARD_COMPANY" {
				t.Errorf("decline code %q", code)
			}
			b.shot("declined-" + lang.code)
			b.run("try again", click(`#retry, #back`))
			b.waitState("checkout")
			b.run("pay with another card", click("#pay"))
			b.inWindowClick("choose another card and approve", "#brand-master", "#approve")
			b.waitState("done")
			if st := orderStatus(id); st != "DONE" {
				t.Fatalf("order after paying with another card: %s", st)
			}
			if n := s.Sandbox.ConfirmsExecuted(id); n != 1 {
				t.Fatalf("confirms executed: %d", n)
			}
		})
	}

	// The checkout page's policy reports what it blocks: Chromium posts
	// the report to the API, which logs it and counts CspViolations. The
	// blocked image is on a loopback port, so nothing would leave the
	// machine even if the policy let it load.
	t.Run("csp report", func(t *testing.T) {
		b.t = t
		_, checkout := createOrder("Paper fan", 12000)
		b.run("open checkout", chromedp.Navigate(checkout))
		b.waitState("checkout")
		get(b, "load an image the policy blocks", chromedp.Evaluate[bool](
			`(() => { const i = new Image(); i.src = "http://127.0.0.1:9/csp-probe.png"; document.body.appendChild(i); return true; })()`))
		select {
		case <-cspReported.seen:
		case <-time.After(30 * time.Second):
			t.Fatal("no CSP violation report was logged and counted within 30 s")
		}
		if !strings.Contains(logs.String(), `"blockedUri":"http://127.0.0.1:9/csp-probe.png"`) || !strings.Contains(logs.String(), `"directive":"img-src"`) {
			t.Errorf("the violation logged is not the probe's")
		}
	})

	if strings.Contains(logs.String(), s.Keys.TossSecretKey) {
		t.Error("the Toss secret key appears in the logs")
	}
}
