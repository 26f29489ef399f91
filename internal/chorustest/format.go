package chorustest

import (
	"cmp"
	"slices"
)

// Short cuts an id (an account key, a message id) to its first 12 characters and "…".
func Short(id string) string {
	if len(id) > 12 {
		return id[:12] + "…"
	}
	return id
}

// Number is what Median takes: integers and durations.
type Number interface {
	~int | ~int32 | ~int64 | ~uint32 | ~uint64 | ~float64
}

// Median is the median of v (the mean of the two middle values for an even count; 0 for
// none). v is not modified.
func Median[T Number](v []T) T {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.SortFunc(s, cmp.Compare[T])
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
