// Package apperr is Hoist's small error model: a handful of kinds that
// callers branch on and that only the HTTP layer maps to status codes.
//
// The Message of an Error is safe to show to clients; the wrapped Err is
// detail for logs only.
package apperr

import (
	"errors"
	"fmt"
)

// Code is the kind of an error, as it appears in API error bodies.
type Code string

// The codes of SPEC §6.2.
const (
	Invalid      Code = "invalid"
	Unauthorized Code = "unauthorized"
	Forbidden    Code = "forbidden"
	NotFound     Code = "not_found"
	Conflict     Code = "conflict"
	Internal     Code = "internal"
	// Unavailable: this server is shutting down and takes no new work;
	// another replica (or this one after its restart) will.
	Unavailable Code = "unavailable"
)

// Error is an error with a kind, a client-safe message and, for invalid
// input, the field at fault.
type Error struct {
	Code    Code
	Message string
	Field   string // set for Invalid errors about one input field
	Err     error  // underlying cause, never shown to clients
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error of the given code with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidField reports bad input in one field; the message names it.
func InvalidField(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// Wrap gives err a code and client-safe message, keeping err as the cause.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// CodeOf returns the code of the first Error in err's chain, or Internal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// MessageOf returns the client-safe message of err: the Error's message, or
// a generic text for errors without a code (their detail belongs in logs).
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
