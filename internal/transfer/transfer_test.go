package transfer_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/transfer"
)

func TestParseAndFormatSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    int64
		wantErr string
		format  string
	}{
		{in: "1048576", want: 1 << 20, format: "1 MiB"},
		{in: "32MiB", want: 32 << 20, format: "32 MiB"},
		{in: " 1 GiB ", want: 1 << 30, format: "1 GiB"},
		{in: "2gib", want: 2 << 30, format: "2 GiB"},
		{in: "64KiB", want: 64 << 10, format: "64 KiB"},
		{in: "1TiB", want: 1 << 40, format: "1 TiB"},
		{in: "500MB", want: 500e6, format: "500000000 bytes"},
		{in: "1500 bytes", want: 1500, format: "1500 bytes"},
		{in: "10B", want: 10, format: "10 bytes"},
		{in: "0", wantErr: "more than zero"},
		{in: "-1MiB", wantErr: "want bytes"},
		{in: "1.5GiB", wantErr: "want bytes"},
		{in: "MiB", wantErr: "want bytes"},
		{in: "12 parsecs", wantErr: "want bytes"},
		{in: "9999999TiB", wantErr: "too large"},
		{in: "99999999999999999999", wantErr: "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := transfer.ParseSize(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSize(%q) = %d, %v; want error with %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
			f := transfer.FormatSize(got)
			if f != tt.format {
				t.Errorf("FormatSize(%d) = %q, want %q", got, f, tt.format)
			}
			if back, err := transfer.ParseSize(f); err != nil || back != got {
				t.Errorf("ParseSize(FormatSize(%d)) = %d, %v", got, back, err)
			}
		})
	}
}

// stream serves size bytes in chunks of chunk bytes every `every`, without
// a Content-Length unless withLength; it reports on gone whether the
// client went away before the end.
func stream(t *testing.T, size, chunk int, every time.Duration, withLength bool) (url string, gone <-chan bool) {
	t.Helper()
	ch := make(chan bool, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if withLength {
			w.Header().Set("Content-Length", strconv.Itoa(size))
		}
		buf := make([]byte, chunk)
		for sent := 0; sent < size; sent += chunk {
			if _, err := w.Write(buf[:min(chunk, size-sent)]); err != nil {
				ch <- true
				return
			}
			http.NewResponseController(w).Flush()
			if every > 0 {
				select {
				case <-time.After(every):
				case <-r.Context().Done():
					ch <- true
					return
				}
			}
		}
		ch <- false
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/data", ch
}

func get(t *testing.T, url string, l transfer.Limits) (int64, error) {
	t.Helper()
	c := &http.Client{Transport: transfer.Bound(http.DefaultTransport.(*http.Transport).Clone(), l)}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return io.Copy(io.Discard, resp.Body)
}

func TestCap(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	tests := []struct {
		name       string
		size       int
		withLength bool
		wantErr    bool
	}{
		{"exactly the cap", limit, false, false},
		{"exactly the cap with length", limit, true, false},
		{"one byte over", limit + 1, false, true},
		{"far over, streamed", 64 << 20, false, true},
		{"over by its length", limit + 1, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, gone := stream(t, tt.size, 4<<10, 0, tt.withLength)
			n, err := get(t, url, transfer.Limits{MaxBytes: limit, Setting: "--max-test"})
			if !tt.wantErr {
				if err != nil || n != int64(tt.size) {
					t.Fatalf("read %d bytes, %v; want %d", n, err, tt.size)
				}
				return
			}
			var tl *transfer.TooLargeError
			if !errors.As(err, &tl) {
				t.Fatalf("err = %v, want *TooLargeError", err)
			}
			if want := "the answer to GET /data is larger than the 64 KiB cap (--max-test)"; tl.Error() != want {
				t.Errorf("message %q, want %q", tl.Error(), want)
			}
			if n > limit {
				t.Errorf("read %d bytes past the cap of %d", n, limit)
			}
			if tt.size > 1<<20 && !<-gone {
				t.Error("the server sent the whole answer: the transfer was drained, not stopped")
			}
		})
	}
}

// TestIdle: a body that trickles (never idle for the limit) takes longer
// than the limit many times over and succeeds; one that stops fails as
// stalled; a slow reader does not count as idle.
func TestIdle(t *testing.T) {
	t.Parallel()
	const idle = 500 * time.Millisecond
	t.Run("trickle", func(t *testing.T) {
		t.Parallel()
		url, _ := stream(t, 16, 1, 100*time.Millisecond, false)
		start := time.Now()
		n, err := get(t, url, transfer.Limits{Idle: idle})
		if err != nil || n != 16 {
			t.Fatalf("read %d bytes, %v", n, err)
		}
		if took := time.Since(start); took < 2*idle {
			t.Fatalf("took %s: not longer than the idle limit", took)
		}
	})
	t.Run("stall", func(t *testing.T) {
		t.Parallel()
		url, gone := stream(t, 2, 1, time.Minute, false) // one byte, then a minute of silence
		start := time.Now()
		_, err := get(t, url, transfer.Limits{Idle: idle})
		var st *transfer.StalledError
		if !errors.As(err, &st) || st.Error() != "the transfer of the answer to GET /data stalled: no data for 500ms" {
			t.Fatalf("err = %v, want *StalledError", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("stall noticed after %s", took)
		}
		select {
		case <-gone:
		case <-time.After(5 * time.Second):
			t.Error("the server still holds the stalled transfer")
		}
	})
	t.Run("slow reader", func(t *testing.T) {
		t.Parallel()
		url, _ := stream(t, 4, 4, 0, false)
		c := &http.Client{Transport: transfer.Bound(http.DefaultTransport, transfer.Limits{Idle: idle})}
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		time.Sleep(2 * idle) // the consumer is busy; the network is not idle
		if b, err := io.ReadAll(resp.Body); err != nil || len(b) != 4 {
			t.Fatalf("read %d bytes, %v", len(b), err)
		}
	})
}

func TestHeaderWait(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(time.Minute):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	_, err := get(t, srv.URL+"/slow", transfer.Limits{Header: 200 * time.Millisecond})
	var na *transfer.NoAnswerError
	if !errors.As(err, &na) || na.Error() != "no answer to GET /slow within 200ms" {
		t.Fatalf("err = %v, want *NoAnswerError", err)
	}
}

// TestTotal: a short call's total time covers its body too, and says so.
func TestTotal(t *testing.T) {
	t.Parallel()
	for _, whole := range []bool{false, true} {
		t.Run(map[bool]string{false: "streamed", true: "whole"}[whole], func(t *testing.T) {
			t.Parallel()
			url, gone := stream(t, 15, 1, 100*time.Millisecond, false)
			_, err := get(t, url, transfer.Limits{Total: 500 * time.Millisecond, Whole: whole})
			var tl *transfer.TooLongError
			if !errors.As(err, &tl) || tl.Error() != "the answer to GET /data did not end within 500ms" {
				t.Fatalf("err = %v, want *TooLongError", err)
			}
			if !<-gone {
				t.Error("the server finished its answer after the total time")
			}
		})
	}
}

// TestWhole: the answer is returned once its body is read to the end,
// from memory or (past 1 MiB) from a temporary file, and an answer over
// the cap fails before any of it is returned.
func TestWhole(t *testing.T) {
	t.Parallel()
	for _, size := range []int{100, 3 << 20} {
		t.Run(transfer.FormatSize(int64(size)), func(t *testing.T) {
			t.Parallel()
			url, gone := stream(t, size, 32<<10, 0, false)
			c := &http.Client{Transport: transfer.Bound(http.DefaultTransport, transfer.Limits{MaxBytes: 4 << 20, Whole: true})}
			resp, err := c.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			select {
			case left := <-gone:
				if left {
					t.Fatal("the client left early")
				}
			default:
				t.Fatal("the answer was returned before its body was read")
			}
			b, err := io.ReadAll(resp.Body)
			if err != nil || len(b) != size {
				t.Fatalf("read %d bytes, %v; want %d", len(b), err, size)
			}
		})
	}
	t.Run("over the cap", func(t *testing.T) {
		t.Parallel()
		url, gone := stream(t, 64<<20, 32<<10, 0, false)
		c := &http.Client{Transport: transfer.Bound(http.DefaultTransport, transfer.Limits{MaxBytes: 2 << 20, Whole: true})}
		resp, err := c.Get(url)
		var tl *transfer.TooLargeError
		if !errors.As(err, &tl) {
			t.Fatalf("resp %v, err = %v; want *TooLargeError", resp, err)
		}
		if !<-gone {
			t.Error("the server sent the whole answer")
		}
	})
}
