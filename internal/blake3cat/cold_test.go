package blake3cat

import (
	"testing"
)

// BenchmarkSum256Cold hashes a 150 KB body out of the cache (a 64 MiB buffer is written
// between hashes, not timed): through the buffer and in place.
func BenchmarkSum256Cold(b *testing.B) {
	prefix := make([]byte, 52)
	const n = 8
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = make([]byte, 150_000)
		for j := range bodies[i] {
			bodies[i][j] = byte(i + j)
		}
	}
	evict := make([]byte, 64<<20)
	for _, inPlace := range []bool{false, true} {
		name := "copy"
		if inPlace {
			name = "in-place"
		}
		b.Run(name, func(b *testing.B) {
			var h Hasher
			b.SetBytes(150_052)
			i := 0
			for b.Loop() {
				b.StopTimer()
				for j := 0; j < len(evict); j += 64 {
					evict[j]++
				}
				b.StartTimer()
				if inPlace {
					h.Sum256InPlace(prefix, bodies[i%n])
				} else {
					h.Sum256(prefix, bodies[i%n])
				}
				i++
			}
		})
	}
}
