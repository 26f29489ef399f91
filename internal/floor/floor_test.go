package floor

import "testing"

func BenchmarkFloor(b *testing.B) { Run(b) }

// TestFixedDeterministic guards the fixtures the floor relies on.
func TestFixedDeterministic(t *testing.T) {
	a, b := fixed(32, 1), fixed(32, 1)
	if string(a) != string(b) || len(a) != 32 {
		t.Fatal("fixed() is not deterministic")
	}
	if string(fixed(32, 1)) == string(fixed(32, 2)) {
		t.Fatal("fixed() ignores its seed")
	}
}

func BenchmarkStore(b *testing.B) { RunStore(b) }
