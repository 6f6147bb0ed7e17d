package httpapi

import (
	"net/http"
	"strconv"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apperr"
)

// Page sizes of list endpoints.
const (
	defaultLimit = 50
	maxLimit     = 200
)

// pageOf is items in their wire form, as one page; items is never null
// on the wire.
func pageOf[T, J any](items []T, next string, toJSON func(T) J) api.Page[J] {
	out := api.Page[J]{Items: make([]J, 0, len(items)), NextCursor: next}
	for _, it := range items {
		out.Items = append(out.Items, toJSON(it))
	}
	return out
}

// convert maps domain values to their wire form with f; nil stays nil
// (the wire keeps a null it had).
func convert[T, J any](in []T, f func(T) J) []J {
	if in == nil {
		return nil
	}
	out := make([]J, len(in))
	for i, x := range in {
		out[i] = f(x)
	}
	return out
}

// pageParams reads ?cursor= and ?limit= (1–200, default 50).
func pageParams(r *http.Request) (cursor string, limit int, err error) {
	q := r.URL.Query()
	limit = defaultLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return "", 0, apperr.InvalidField("limit", "must be a number from 1 to %d", maxLimit)
		}
		limit = n
	}
	return q.Get("cursor"), limit, nil
}
