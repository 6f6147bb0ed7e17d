package web

import (
	"fmt"
	"html/template"
	"time"
)

// ago renders t as a <time> element: how long ago (or how far ahead) it
// is from now in words, the absolute UTC time on hover (title) and for
// machines (datetime). The zero time renders as nothing.
func ago(t, now time.Time) template.HTML {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	return template.HTML(fmt.Sprintf(`<time datetime="%s" title="%s">%s</time>`,
		t.Format(time.RFC3339), t.Format("2006-01-02 15:04:05 UTC"), template.HTMLEscapeString(relative(t, now))))
}

// relative says how far t is from now: "just now", "3 minutes ago",
// "in 2 hours", "5 days ago"; beyond 30 days, the date.
func relative(t, now time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var n int
	var unit string
	switch {
	case d < 45*time.Second:
		return "just now"
	case d < 90*time.Minute:
		n, unit = max(1, int((d+30*time.Second)/time.Minute)), "minute"
	case d < 36*time.Hour:
		n, unit = int((d+30*time.Minute)/time.Hour), "hour"
	case d < 30*24*time.Hour:
		n, unit = int((d+12*time.Hour)/(24*time.Hour)), "day"
	default:
		return "on " + t.UTC().Format("2 Jan 2006")
	}
	if n != 1 {
		unit += "s"
	}
	if future {
		return fmt.Sprintf("in %d %s", n, unit)
	}
	return fmt.Sprintf("%d %s ago", n, unit)
}
