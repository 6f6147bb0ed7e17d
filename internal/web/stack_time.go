package web

import "time"

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
	return moment{At: t, Rel: relative(t, u.now())}
}
