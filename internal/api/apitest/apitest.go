// Package apitest holds Hoist's API contract against what the server
// really answers, in tests: an http.RoundTripper that checks every answer
// of a documented route against api.Document (status, content type and,
// for JSON, the body's schema) and fails the test on a mismatch, naming the
// route, the status and the schema error.
//
// Test harnesses give it to every HTTP client that calls the API, so a
// handler that adds a field the document lacks (or drops a required one)
// fails the end-to-end tests that see it.
package apitest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/hoistdev/hoist/internal/api"
)

// maxBody bounds the JSON answers read for checking: larger than any the
// API sends (lists are at most 200 items).
const maxBody = 64 << 20

// contract is the document and its router, loaded once per test binary:
// both only read the embedded document, and loading it for each of
// hundreds of tests would be slow for nothing.
var contract = sync.OnceValues(func() (*document, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.Document)
	if err != nil {
		return nil, fmt.Errorf("load openapi.json: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
	}
	// The server is "/": routes match the request path as it is, whatever
	// the host of the test server.
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	// Answers of undocumented routes (the API's 404 for them) are error
	// bodies.
	op := openapi3.NewOperation()
	op.Responses = openapi3.NewResponses(openapi3.WithName("default", doc.Components.Responses["Error"].Value))
	return &document{router: router, unrouted: &routers.Route{Spec: doc, Operation: op}}, nil
})

type document struct {
	router   routers.Router
	unrouted *routers.Route
}

// Load checks that the document loads and is valid OpenAPI 3.1.
func Load() error {
	_, err := contract()
	return err
}

// Client is an HTTP client whose answers are checked (Transport with
// http.DefaultTransport).
func Client(t testing.TB) *http.Client {
	return &http.Client{Transport: Transport(t, nil)}
}

// Transport returns a RoundTripper that sends with base (nil:
// http.DefaultTransport) and checks each answer of the API against the
// document, reporting a mismatch with t.Errorf. Requests outside the API
// (the web UI, webhooks, the module registry) pass unchecked. Answers
// stop being checked when the cleanup Transport registers runs, so that a
// late answer cannot report to a finished test; cleanups run last first,
// so a client made before the server it calls checks until the server is
// gone.
func Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	var mu sync.Mutex
	stopped := false
	t.Cleanup(func() {
		mu.Lock()
		stopped = true
		mu.Unlock()
	})
	return NewTransport(base, func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			t.Error(msg)
		}
	})
}

// NewTransport is Transport for code that has no testing.TB (a worker
// process a test started): report gets each mismatch.
func NewTransport(base http.RoundTripper, report func(msg string)) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &checker{base: base, report: report}
}

type checker struct {
	base   http.RoundTripper
	report func(msg string)
}

func (c *checker) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err != nil || !inAPI(req.URL.Path) || req.Method == http.MethodHead {
		return resp, err
	}
	body, err := readJSON(resp)
	if err != nil {
		return nil, err
	}
	if err := Check(req, resp.StatusCode, resp.Header, body); err != nil {
		c.report(fmt.Sprintf("the API's answer does not match internal/api/openapi.json: %s %s → %d %s\n%s\nbody: %s",
			req.Method, req.URL.Path, resp.StatusCode, resp.Header.Get("Content-Type"), brief(err), abbrev(body)))
	}
	return resp, nil
}

// inAPI reports whether the document describes path's prefix.
func inAPI(path string) bool {
	return strings.HasPrefix(path, "/api/v1/") || path == "/healthz" || path == "/readyz"
}

// readJSON reads a JSON answer whole and puts it back for the caller;
// other answers (streamed logs, archives) are left unread: their body is
// not checked, only their status and content type.
func readJSON(resp *http.Response) ([]byte, error) {
	if !isJSON(resp.Header) {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read answer for checking: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return b, nil
}

func isJSON(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "application/json"
}

// Check checks one answer to req against the document: body is nil for
// answers that are not JSON. An undocumented route may only answer an
// error body (the API's 404 for unknown routes).
func Check(req *http.Request, status int, header http.Header, body []byte) error {
	doc, err := contract()
	if err != nil {
		return err
	}
	route, params, err := doc.router.FindRoute(req)
	if err != nil {
		if status < 400 {
			return fmt.Errorf("no documented route answers %s %s: %w", req.Method, req.URL.Path, err)
		}
		route, params = doc.unrouted, nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if body == nil {
		if err := checkContentType(route, status, header); err != nil {
			return err
		}
		in.Options.ExcludeResponseBody = true
	} else {
		in.SetBodyBytes(body)
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// checkContentType checks what ValidateResponse skips with the body
// excluded: a documented answer with a body names its content type.
func checkContentType(route *routers.Route, status int, header http.Header) error {
	ref := route.Operation.Responses.Status(status)
	if ref == nil {
		ref = route.Operation.Responses.Default()
	}
	if ref == nil || ref.Value == nil || len(ref.Value.Content) == 0 {
		return nil
	}
	ct := header.Get("Content-Type")
	if ref.Value.Content.Get(ct) == nil {
		return fmt.Errorf("status %d: content type %q is not documented", status, ct)
	}
	return nil
}

// brief is err's message without the schema and value that kin-openapi
// prints in full under each error (the body is printed once, after it).
func brief(err error) string {
	var out []string
	for line := range strings.SplitSeq(err.Error(), "\n") {
		if line != "" && line[0] != ' ' && line[0] != '\t' && line != "Schema:" && line != "Value:" {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func abbrev(b []byte) string {
	const max = 2000
	b = bytes.TrimSpace(b)
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
