package sqlstore

import (
	"testing"
	"testing/fstest"
	"time"
)

func TestCursors(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 6789, time.FixedZone("x", 3600))
	gotT, gotID, err := parseTimeCursor(timeCursor(at, "a/b"))
	if err != nil || !gotT.Equal(at.Truncate(time.Microsecond)) || gotID != "a/b" {
		t.Errorf("time cursor round trip = %v, %q, %v", gotT, gotID, err)
	}
	if id, err := parseIDCursor(idCursor("user-1")); err != nil || id != "user-1" {
		t.Errorf("id cursor round trip = %q, %v", id, err)
	}
	for _, bad := range []string{"***", "bm8tc2xhc2g", ""} {
		if _, _, err := parseTimeCursor(bad); err == nil {
			t.Errorf("parseTimeCursor(%q) accepted", bad)
		}
	}
	if _, err := parseIDCursor(""); err == nil {
		t.Error("empty id cursor accepted")
	}
}

func TestClampLimit(t *testing.T) {
	t.Parallel()
	for in, want := range map[int]int{-1: DefaultLimit, 0: DefaultLimit, 1: 1, MaxLimit: MaxLimit, MaxLimit + 1: MaxLimit} {
		if got := clampLimit(in); got != want {
			t.Errorf("clampLimit(%d) = %d", in, got)
		}
	}
}

func TestTimeText(t *testing.T) {
	t.Parallel()
	// Fixed width is what makes text comparison order times correctly.
	a := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Format(TimeText)
	b := time.Date(2026, 1, 1, 0, 0, 0, 100000, time.UTC).Format(TimeText)
	if len(a) != len(b) || !(a < b) {
		t.Errorf("%q vs %q", a, b)
	}
	var got time.Time
	if err := (timeScan{&got}).Scan(b); err != nil || !got.Equal(time.Date(2026, 1, 1, 0, 0, 0, 100000, time.UTC)) {
		t.Errorf("scan %q = %v, %v", b, got, err)
	}
}

func TestLoadMigrations(t *testing.T) {
	t.Parallel()
	ok := fstest.MapFS{"0002_b.sql": {Data: []byte("B")}, "0001_a.sql": {Data: []byte("A")}}
	migs, err := loadMigrations(ok)
	if err != nil || len(migs) != 2 || migs[0].sql != "A" || migs[1].version != 2 {
		t.Errorf("loadMigrations = %+v, %v", migs, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"gap":     {"0001_a.sql": {}, "0003_c.sql": {}},
		"badname": {"first.sql": {}},
		"empty":   {},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
