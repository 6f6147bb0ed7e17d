package sqlstore

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
)

// Paging limits shared by every list method.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// TimeText is how SQLite stores times: fixed-width UTC text with
// microseconds, so that text order is time order.
const TimeText = "2006-01-02T15:04:05.000000Z"

// dbTime normalises a time for storage: UTC, microsecond precision (what
// PostgreSQL keeps), so values read back equal values written.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func (s *Store) t(t time.Time) any { return s.d.TimeArg(dbTime(t)) }

func (s *Store) nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return s.t(*t)
}

// timeScan scans a time stored either natively or as text.
type timeScan struct{ t *time.Time }

func (ts timeScan) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*ts.t = v.UTC()
	case string:
		return ts.parse(v)
	case []byte:
		return ts.parse(string(v))
	default:
		return fmt.Errorf("cannot scan %T into a time", src)
	}
	return nil
}

func (ts timeScan) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("stored time %q: %w", s, err)
	}
	*ts.t = t.UTC()
	return nil
}

// nullTimeScan scans a nullable time into a *time.Time.
type nullTimeScan struct{ t **time.Time }

func (ns nullTimeScan) Scan(src any) error {
	if src == nil {
		*ns.t = nil
		return nil
	}
	var t time.Time
	if err := (timeScan{&t}).Scan(src); err != nil {
		return err
	}
	*ns.t = &t
	return nil
}

// jsonArg encodes v as JSON text for a TEXT (SQLite) or JSONB (PostgreSQL)
// column.
func jsonArg(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode json column: %w", err)
	}
	return string(b), nil
}

// jsonScan decodes a JSON column into v.
type jsonScan struct{ v any }

func (js jsonScan) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("cannot scan %T as json", src)
	}
	return json.Unmarshal(b, js.v)
}

// strings returns labels/scopes never nil, so they encode as [] not null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Cursors are opaque to callers: base64url of the position of the last item
// returned. A time-ordered cursor holds "<unix-micro>/<id>"; an id-ordered
// one just the id.

func timeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(dbTime(t).UnixMicro(), 10) + "/" + id))
}

func parseTimeCursor(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		us, id, ok := strings.Cut(string(b), "/")
		if n, perr := strconv.ParseInt(us, 10, 64); ok && perr == nil {
			return time.UnixMicro(n).UTC(), id, nil
		}
	}
	return time.Time{}, "", apperr.InvalidField("cursor", "is not a cursor returned by this list")
}

func idCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

func parseIDCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 {
		return "", apperr.InvalidField("cursor", "is not a cursor returned by this list")
	}
	return string(b), nil
}
