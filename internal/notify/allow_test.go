package notify_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/notify"
	"github.com/hoistdev/hoist/internal/store/dbtest"
)

func TestParseAllowList(t *testing.T) {
	t.Parallel()
	if a, err := notify.ParseAllowList(nil); err != nil || a.Enabled() || a.CheckHost("10.0.0.1") != nil || a.CheckAddr(netip.MustParseAddr("127.0.0.1")) != nil {
		t.Errorf("no patterns: %v, %v; want every host and address allowed", a, err)
	}
	for _, bad := range []string{"", " ", "*", "hooks.example.com:443", "10.0.0.0/33", "a..b", "-a.example.com", "*.*.example.com",
		"http://hooks.example.com", "hooks example"} {
		if _, err := notify.ParseAllowList([]string{"ok.example.com", bad}); err == nil || !strings.Contains(err.Error(), "--notify-allow-hosts") {
			t.Errorf("pattern %q: err = %v, want a refusal naming the flag", bad, err)
		}
	}
	a, err := notify.ParseAllowList([]string{"Hooks.Example.com", "*.corp.example", "10.20.0.0/16", "[::1]", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		host string
		ok   bool
	}{
		{"hooks.example.com", true}, {"HOOKS.example.com.", true}, {"evil-hooks.example.com", false}, {"example.com", false},
		{"a.corp.example", true}, {"a.b.corp.example", true}, {"corp.example", false}, {"xcorp.example", false},
		{"10.20.3.4", true}, {"10.21.0.1", false}, {"[::1]", true}, {"::1", true}, {"192.0.2.7", true}, {"192.0.2.8", false},
		{"127.0.0.1", false}, {"localhost", false},
	} {
		if err := a.CheckHost(c.host); (err == nil) != c.ok {
			t.Errorf("CheckHost(%q) = %v, want allowed %v", c.host, err, c.ok)
		}
	}
	for _, c := range []struct {
		addr string
		ok   bool
	}{
		{"93.184.215.14", true}, {"2606:4700::1111", true}, {"10.20.0.9", true}, {"::1", true}, {"::ffff:10.20.0.9", true},
		{"127.0.0.1", false}, {"10.1.2.3", false}, {"192.168.1.1", false}, {"172.16.0.1", false}, {"169.254.169.254", false},
		{"100.64.0.1", false}, {"0.0.0.0", false}, {"::", false}, {"fe80::1", false}, {"fd00:ec2::254", false},
		{"::ffff:127.0.0.1", false}, {"64:ff9b::a00:1", false}, {"224.0.0.1", false}, {"255.255.255.255", false},
	} {
		err := a.CheckAddr(netip.MustParseAddr(c.addr))
		var refused *notify.RefusedAddrError
		if (err == nil) != c.ok || (err != nil && !errors.As(err, &refused)) {
			t.Errorf("CheckAddr(%s) = %v, want allowed %v", c.addr, err, c.ok)
		}
	}
}

// TestAllowListRefusesTargets: with an allow-list, a target whose host it
// does not name is refused on create and update (400 on the url field).
func TestAllowListRefusesTargets(t *testing.T) {
	t.Parallel()
	allow, err := notify.ParseAllowList([]string{"*.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	e := setup(t, "sqlite", func(c *notify.Config) { c.AllowHosts = allow })
	ctx := context.Background()
	for _, u := range []string{"http://127.0.0.1:8080/x", "https://metadata.google.internal/", "https://example.com/", "http://[::1]/"} {
		_, err := e.svc.Create(ctx, admin, notify.CreateInput{Name: "Hook", Space: "a", Kind: "webhook", URL: u, Secret: testSecret,
			Events: []string{"run_failed"}})
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Code != apperr.Invalid || ae.Field != "url" || !strings.Contains(err.Error(), "not in the server's allow-list") ||
			!strings.Contains(err.Error(), "--notify-allow-hosts *.example.com") {
			t.Errorf("create with %s: %v, want an invalid url naming the list", u, err)
		}
	}
	tg := e.target(t, "Hook", "a", "https://hooks.example.com/x", "run_failed")
	bad := "http://10.0.0.1/"
	if _, err := e.svc.Update(ctx, admin, tg.ID, notify.Patch{URL: &bad}); !apperr.Is(err, apperr.Invalid) || !strings.Contains(err.Error(), "10.0.0.1") {
		t.Errorf("update to %s: %v", bad, err)
	}
}

// TestAllowListAtSendTime: the dispatcher checks the list again before
// each attempt, and the address dialed after DNS. Two loopback targets are
// saved under a list naming both; then servers run with narrower lists: a
// name listed alone (localhost) is refused for its loopback address, an IP
// no longer listed is refused by host, and a listed IP is reached.
// Refusals fail the delivery at once, and nothing reaches the receiver.
func TestAllowListAtSendTime(t *testing.T) {
	t.Parallel()
	for _, dialect := range dbtest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t)
			port := mustPort(t, rcv.URL)
			e := setup(t, dialect, func(c *notify.Config) { c.AllowHosts = mustAllow(t, "127.0.0.1", "localhost") })
			byIP := e.target(t, "By IP", "a", "http://127.0.0.1:"+port+"/hook", "drift_detected")
			byName := e.target(t, "By name", "a", "http://localhost:"+port+"/hook", "drift_detected")
			// serve runs a dispatcher of a server started with patterns.
			serve := func(patterns ...string) (*notify.Service, func()) {
				cfg := e.cfg
				cfg.AllowHosts = mustAllow(t, patterns...)
				svc := notify.NewService(cfg)
				d := notify.NewDispatcher(notify.DispatcherConfig{Service: svc, Store: e.store, Poll: 10 * time.Millisecond})
				d.Start(context.Background())
				t.Cleanup(d.Stop)
				return svc, d.Stop
			}
			final := func(id string, n int) notify.DeliveryView {
				t.Helper()
				var d notify.DeliveryView
				apptest.Eventually(t, 10*time.Second, "the deliveries of "+id+" to end", func() error {
					ds := e.deliveries(t, id)
					if len(ds) != n || (ds[n-1].State != notify.StateDelivered && ds[n-1].State != notify.StateFailed) {
						return fmt.Errorf("deliveries %+v", ds)
					}
					d = ds[n-1]
					return nil
				})
				return d
			}

			_, stop := serve("localhost")
			if err := e.svc.DriftChanged(context.Background(), "net", true, nil); err != nil {
				t.Fatal(err)
			}
			if d := final(byName.ID, 1); d.State != notify.StateFailed || d.Delivery.Attempts != 1 || d.LastStatus != 0 ||
				!strings.Contains(d.LastError, "address 127.0.0.1 is not public") {
				t.Errorf("to localhost, listed by name only: %+v, want failed at once for its loopback address", d.Delivery)
			}
			if d := final(byIP.ID, 1); d.State != notify.StateFailed || d.Delivery.Attempts != 1 ||
				!strings.Contains(d.LastError, "host 127.0.0.1 is not in the server's allow-list") {
				t.Errorf("to 127.0.0.1, no longer listed: %+v, want failed at once", d.Delivery)
			}
			if n := len(rcv.requests()); n != 0 {
				t.Errorf("the receiver got %d requests, want none", n)
			}
			stop()

			svc, _ := serve("127.0.0.1")
			if _, err := svc.Redeliver(context.Background(), admin, byIP.ID, fmt.Sprint(e.deliveries(t, byIP.ID)[0].ID)); err != nil {
				t.Fatal(err)
			}
			if d := final(byIP.ID, 2); d.State != notify.StateDelivered {
				t.Errorf("to 127.0.0.1, listed: %+v", d.Delivery)
			}
			if n := len(rcv.requests()); n != 1 {
				t.Errorf("the receiver got %d requests, want 1", n)
			}
		})
	}
}

func mustAllow(t *testing.T, patterns ...string) *notify.AllowList {
	t.Helper()
	a, err := notify.ParseAllowList(patterns)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustPort(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}
