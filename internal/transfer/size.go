package transfer

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits are the suffixes ParseSize accepts, lower-cased: binary units
// as FormatSize writes them, and SI units for operators who write "MB".
var sizeUnits = map[string]int64{
	"": 1, "b": 1, "bytes": 1,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
}

// ParseSize reads a positive size: a number of bytes ("1048576"), or a
// whole number with a unit ("32MiB", "1 GiB", "500MB"; KiB, MiB, GiB and
// TiB are powers of 1024, KB, MB, GB and TB powers of 1000).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	if num == "" || !ok {
		return 0, fmt.Errorf("size %q: want bytes or a whole number with KiB, MiB, GiB, TiB (or KB, MB, GB, TB), e.g. 32MiB", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	if n == 0 {
		return 0, fmt.Errorf("size %q: must be more than zero", s)
	}
	return n * mult, nil
}

// FormatSize writes n in the largest binary unit that divides it exactly
// ("32 MiB", "1 GiB"), else in bytes, so that ParseSize reads it back.
func FormatSize(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d %s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}
