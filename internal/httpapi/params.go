package httpapi

import (
	"net/http"
	"strconv"

	"github.com/hoistdev/hoist/internal/apperr"
)

// Page sizes of list endpoints.
const (
	defaultLimit = 50
	maxLimit     = 200
)

// page is the wire shape of every list answer.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// pageOf is items in their wire form, as one page; items is never null
// on the wire.
func pageOf[T, J any](items []T, next string, toJSON func(T) J) page[J] {
	out := page[J]{Items: make([]J, 0, len(items)), NextCursor: next}
	for _, it := range items {
		out.Items = append(out.Items, toJSON(it))
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
