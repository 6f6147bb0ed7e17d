package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/hoistdev/hoist/internal/apperr"
)

// MaxBodyBytes bounds a request body. It is larger than any field limit
// (descriptions are capped at 64 KiB) so that an oversized field is refused
// by validation, naming the field, rather than by this cap.
const MaxBodyBytes = 4 << 20

// decode reads one JSON object from r's body into v: unknown fields, trailing
// data, wrong types and bodies over MaxBodyBytes are invalid, naming the field
// where there is one.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &tooLargeError{limit: mbe.Limit}
		}
		return apperr.Errorf(apperr.Invalid, "request body must hold exactly one JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var mbe *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return &tooLargeError{limit: mbe.Limit}
	case errors.Is(err, io.EOF):
		return apperr.Errorf(apperr.Invalid, "request body is empty; send a JSON object")
	case errors.As(err, &syn):
		return apperr.Errorf(apperr.Invalid, "request body is not valid JSON (at byte %d)", syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.Errorf(apperr.Invalid, "request body is truncated JSON")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return apperr.Errorf(apperr.Invalid, "request body must be a JSON object, not %s", typ.Value)
		}
		return apperr.InvalidField(typ.Field, "must be %s, not %s", jsonKind(typ.Type.Kind().String()), typ.Value)
	}
	// encoding/json reports unknown fields only as text.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if unq, uerr := strconv.Unquote(name); uerr == nil {
			name = unq
		}
		return apperr.InvalidField(name, "unknown field")
	}
	return apperr.Wrap(apperr.Invalid, err, "request body could not be read as JSON")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "a number"
}
