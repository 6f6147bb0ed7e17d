package web

import (
	"fmt"
	"time"
)

// moment is a time as the stack pages show it: relative to now, with the
// absolute time for the hover title and the datetime attribute.
type moment struct {
	At  time.Time
	Rel string // "3 minutes ago"; "" for the zero time
}

func (u *UI) moment(t time.Time) moment {
	if t.IsZero() {
		return moment{}
	}
	return moment{At: t, Rel: relative(u.now().Sub(t), t)}
}

// relative says how long ago d was, coarsely; past a month it gives the
// date. A time in the future (another server's clock) is "just now".
func relative(d time.Duration, t time.Time) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit + " ago"
		}
		return fmt.Sprintf("%d %ss ago", n, unit)
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour")
	case d < 30*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day")
	}
	return "on " + t.UTC().Format(time.DateOnly)
}
