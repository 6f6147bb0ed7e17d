// Package ulid makes short, unique identifiers that sort by creation time
// (ULIDs: 48 bits of milliseconds, 80 random bits, 26 characters of
// Crockford base32, written in lower case for URLs and shells). Runs and
// webhook deliveries use them, so listing by id is listing by age.
package ulid

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// Len is the length of an identifier.
const Len = 26

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// New returns an identifier for something created at now. Identifiers made
// in the same millisecond order randomly among themselves.
func New(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return encode(b)
}

// encode writes 128 bits as 26 base32 digits, most significant first (the
// first digit carries only 3 bits).
func encode(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [Len]byte
	for i := Len - 1; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// Valid reports whether s looks like an identifier New made.
func Valid(s string) bool {
	if len(s) != Len || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'z' || c == 'i' || c == 'l' || c == 'o' || c == 'u') {
			return false
		}
	}
	return true
}

// Time is the millisecond the identifier was made at, or false when s is
// not an identifier.
func Time(s string) (time.Time, bool) {
	if !Valid(s) {
		return time.Time{}, false
	}
	var ms uint64
	for i := 0; i < 10; i++ { // 3 + 9×5 bits: exactly the 48-bit time
		ms = ms<<5 | uint64(indexOf(s[i]))
	}
	return time.UnixMilli(int64(ms)).UTC(), true
}

func indexOf(c byte) int {
	for i := 0; i < len(alphabet); i++ {
		if alphabet[i] == c {
			return i
		}
	}
	return 0
}
