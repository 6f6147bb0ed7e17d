package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/web/session"
)

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestLoginBurstChecksOnlyTheLimit is issue 13's finding: 100 wrong
// passwords for one user sent at once all got 401 (each a bcrypt
// comparison) and none 429. Now at most the limit reach the password
// check, the rest are refused first, and the whole burst costs the server
// (and this client) well under a second of CPU.
//
// Not parallel on purpose: it measures the CPU time of the whole process,
// which other tests running beside it would add to.
func TestLoginBurstChecksOnlyTheLimit(t *testing.T) {
	h := setup(t, nil)
	h.createUser("victim", "read") // its bcrypt hash is made before the measurement
	token := csrf(t, h.client().get("/login"))
	const n = 100
	form := url.Values{"csrf_token": {token}, "username": {"victim"}, "password": {"not-the-password-1"}}.Encode()
	post := func() (int, error) {
		req, err := http.NewRequest("POST", h.URL+"/login", strings.NewReader(form))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "hoist_login_csrf", Value: token})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		_, err = io.Copy(io.Discard, res.Body)
		return res.StatusCode, err
	}

	start := make(chan struct{})
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			code, err := post()
			if err != nil {
				t.Error(err)
			}
			statuses <- code
		})
	}
	before := cpuTime(t)
	close(start)
	wg.Wait()
	cpu := cpuTime(t) - before
	close(statuses)

	count := map[int]int{}
	for code := range statuses {
		count[code]++
	}
	t.Logf("%d parallel wrong-password logins: %v (status: count), %v of CPU", n, count, cpu)
	if count[http.StatusUnauthorized] > session.DefaultMaxFailures || count[http.StatusUnauthorized]+count[http.StatusTooManyRequests] != n {
		t.Errorf("answers %v: want at most %d × 401 (password checked) and the rest 429", count, session.DefaultMaxFailures)
	}
	if cpu > time.Second {
		t.Errorf("the burst used %v of CPU, want well under a second (5 bcrypt comparisons, not 100)", cpu)
	}
	var audit struct{ Items []map[string]any }
	h.api("GET", "/api/v1/audit?resource_type=user&resource_id=victim&limit=200", nil, http.StatusOK, &audit)
	actions := map[any]int{}
	for _, e := range audit.Items {
		actions[e["action"]]++
	}
	if actions["login.failed"] != count[http.StatusUnauthorized] || actions["login.rate_limited"] != count[http.StatusTooManyRequests] {
		t.Errorf("audit actions %v, answers %v: want one login.failed per password checked and one login.rate_limited per 429", actions, count)
	}
	// The limit holds after the burst, for the right password too.
	if p := h.client().login("victim", "pw-victim-0123456789"); p.status != http.StatusTooManyRequests {
		t.Errorf("right password after the burst = %d, want 429", p.status)
	}
}

// next= takes only paths on this server; anything else goes to /.
func TestLoginNextStaysOnThisServer(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	c := h.client()
	c.mustLogin("admin", h.AdminPassword)
	for _, tc := range []struct{ query, want string }{
		{"/%09/evil.example", "/"},
		{"/%0A/evil.example", "/"},
		{"/%0D%0ALocation:%20http://evil.example", "/"},
		{"//evil.example", "/"},
		{"%2F%2Fevil.example", "/"},
		{"/%5Cevil.example", "/"},
		{"%5C%5Cevil.example", "/"},
		{"/ok%5Cpath", "/"},
		{"https://evil.example", "/"},
		{"https%3A%2F%2Fevil.example%2Fx", "/"},
		{"javascript:alert(1)", "/"},
		{"evil.example", "/"},
		{"/%252F/evil.example", "/"},
		{"/%255Cevil.example", "/"},
		{"/%2509/evil.example", "/"},
		{"/%7F/evil.example", "/"},
		{"/ok/path%3Fx%3D1", "/ok/path?x=1"},
		{"/stacks/net?tab=runs", "/stacks/net?tab=runs"},
		{"%2Fsource-control", "/source-control"},
	} {
		p := c.get("/login?next=" + tc.query)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != tc.want {
			t.Errorf("logged in, GET /login?next=%s = %d %q, want 303 to %q", tc.query, p.status, p.header.Get("Location"), tc.want)
		}
	}
	// The same when the next= rides along with the login form.
	fresh := h.client()
	token := csrf(t, fresh.get("/login?next=/%09/evil.example"))
	p := fresh.post("/login", url.Values{"csrf_token": {token}, "username": {"admin"}, "password": {h.AdminPassword}, "next": {"/\t/evil.example"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/" {
		t.Errorf("login with next=/\\t/evil.example = %d %q, want 303 to /", p.status, p.header.Get("Location"))
	}
}

// loggedIn reports whether c's session still opens a page.
func loggedIn(c *client) bool {
	c.t.Helper()
	p := c.get("/source-control")
	return p.status == http.StatusOK
}

// A session cookie that worked stops working the moment its credentials
// change: a new password, a disabled or deleted user, a deleted key.
func TestSessionsEndWithTheirCredentials(t *testing.T) {
	t.Parallel()
	h := setup(t, nil)
	pw := h.createUser("bob", "read")

	byPassword := h.client()
	byPassword.mustLogin("bob", pw)
	if !loggedIn(byPassword) {
		t.Fatal("the session does not work to begin with")
	}
	newPW := "bob-new-password-1"
	h.api("POST", "/api/v1/users/bob/password", map[string]string{"password": newPW}, http.StatusNoContent, nil)
	if loggedIn(byPassword) {
		t.Error("a session survived the user's password change")
	}

	beforeDisable := h.client()
	beforeDisable.mustLogin("bob", newPW)
	h.api("POST", "/api/v1/users/bob/disable", nil, http.StatusNoContent, nil)
	if loggedIn(beforeDisable) {
		t.Error("a session survived disabling the user")
	}
	p := h.client().login("bob", newPW)
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "This user is disabled") {
		t.Errorf("login of a disabled user = %d, want 403 saying the user is disabled", p.status)
	}
	if p := h.client().login("bob", "wrong-password-1"); p.status != http.StatusUnauthorized || strings.Contains(p.body, "disabled") {
		t.Errorf("wrong password of a disabled user = %d: want the usual 401, the state told only to the right password", p.status)
	}
	h.api("POST", "/api/v1/users/bob/enable", nil, http.StatusNoContent, nil)
	beforeDelete := h.client()
	beforeDelete.mustLogin("bob", newPW)
	h.api("DELETE", "/api/v1/users/bob", nil, http.StatusNoContent, nil)
	if loggedIn(beforeDelete) {
		t.Error("a session survived deleting the user")
	}

	var key struct{ ID, Secret string }
	h.api("POST", "/api/v1/api-keys", map[string]any{"name": "kiosk", "roles": []map[string]string{{"space": "root", "role": "read"}}},
		http.StatusCreated, &key)
	byKey := h.client()
	byKey.mustLoginKey(key.Secret)
	if !loggedIn(byKey) {
		t.Fatal("the API key session does not work to begin with")
	}
	h.api("DELETE", "/api/v1/api-keys/"+key.ID, nil, http.StatusNoContent, nil)
	if loggedIn(byKey) {
		t.Error("a session survived deleting its API key")
	}
	var audit struct {
		Items []struct{ Action, Actor string }
	}
	h.api("GET", "/api/v1/audit?resource_type=user&resource_id=bob", nil, http.StatusOK, &audit)
	var got []string
	for _, e := range audit.Items {
		if !strings.HasPrefix(e.Action, "login.") {
			got = append(got, e.Action)
		}
	}
	if fmt.Sprint(got) != "[user.delete user.enable user.disable user.set_password user.create]" {
		t.Errorf("audit of bob, newest first = %v", got)
	}
}
