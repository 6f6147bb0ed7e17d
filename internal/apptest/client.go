package apptest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/hoistdev/hoist/internal/api/apitest"
)

// Client calls a Hoist server's JSON API for one test. Every answer is
// checked against the API's document (apitest.Client) and its body kept,
// so that a test can scan all of them for a secret.
type Client struct {
	// URL is the server's base URL; a restart on another port changes it.
	URL string
	// HTTP sends the calls and checks the answers.
	HTTP *http.Client

	t       testing.TB
	mu      sync.Mutex
	answers []string
}

// NewClient is a Client for the server at url.
func NewClient(t testing.TB, url string) *Client {
	return &Client{URL: url, HTTP: apitest.Client(t), t: t}
}

// Response is one answer of the API.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Decode unmarshals the body into v, failing the test when it cannot.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// APIError is the error an answer carries (the API's error body).
func (r Response) APIError(t testing.TB) (code, message, field string) {
	t.Helper()
	var eb struct {
		Error struct{ Code, Message, Field string }
	}
	r.Decode(t, &eb)
	return eb.Error.Code, eb.Error.Message, eb.Error.Field
}

// Call sends one request with key as the Bearer token (none when ""); body
// is sent as it is when a string, JSON-encoded otherwise (nil: no body).
// A path starting with "http" is a whole URL.
func (c *Client) Call(method, path, key string, body any) Response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	u := path
	if !strings.HasPrefix(path, "http") {
		u = c.URL + path
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, u, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	c.mu.Lock()
	c.answers = append(c.answers, string(data))
	c.mu.Unlock()
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// Must is Call that fails the test unless the status is want.
func (c *Client) Must(want int, method, path, key string, body any) Response {
	c.t.Helper()
	r := c.Call(method, path, key, body)
	if r.Status != want {
		c.t.Fatalf("%s %s = %d %s, want %d", method, path, r.Status, r.Body, want)
	}
	return r
}

// Answers is every body Call has read so far, joined by newlines.
func (c *Client) Answers() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.answers, "\n")
}
