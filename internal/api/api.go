// Package api is Hoist's REST API contract: the JSON bodies of every
// request and response, the headers the protocol names, and the OpenAPI
// document (openapi.json) whose schemas are generated from these types.
//
// The server (internal/httpapi), its Go client (internal/apiclient) and
// remote workers (internal/worker) all encode and decode these types, so a
// field is added in one place. `go generate ./internal/api` rewrites the
// document's components.schemas from them; a test fails when the committed
// document differs from what generation writes. Field comments become the
// schemas' descriptions, and the tags below shape them:
//
//   - a field without omitempty/omitzero is required;
//   - a pointer is nullable (null on the wire, not absent);
//   - enum:"a,b,c" lists the values a string may take.
//
// The package imports only the standard library and apperr, so that clients
// do not link the server.
package api

//go:generate go run ./gen

import (
	_ "embed"

	"github.com/hoistdev/hoist/internal/apperr"
)

// Document is the OpenAPI 3.1 description of the API, served at
// /api/v1/openapi.json.
//
//go:embed openapi.json
var Document []byte

// LeaseHeader names the lease in worker protocol calls about a run.
const LeaseHeader = "Hoist-Lease"

// SourceErrorTrailer carries the message of an error that cut a source
// archive stream short, once bytes were sent and the status can no longer
// say it.
const SourceErrorTrailer = "Hoist-Source-Error"

// Error is the body of every error answer.
type Error struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong; Message is safe to show.
type ErrorDetail struct {
	Code    apperr.Code `json:"code" enum:"invalid,unauthorized,forbidden,not_found,conflict,internal,unavailable"`
	Message string      `json:"message"`
	// the input field at fault, for invalid
	Field string `json:"field,omitempty"`
}

// Page is one page of a list answer: {"items": [...], "next_cursor": ""}.
type Page[T any] struct {
	Items []T `json:"items"`
	// empty on the last page
	NextCursor string `json:"next_cursor"`
}

// Health is the answer of /healthz and /readyz.
type Health struct {
	Status string `json:"status" enum:"ok,ready"`
}
