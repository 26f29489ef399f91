package protocol_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/spec"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestSafetyNumberVectors checks SafetyNumber against spec/vectors/safety.json (derived
// by spec/gen/safety independently of this package).
func TestSafetyNumberVectors(t *testing.T) {
	b, err := spec.Vectors.ReadFile("vectors/safety.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []struct {
			Name, Expect, A, B string
			SafetyNumber       string `json:"safety_number"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("safety.json: zero cases")
	}
	for _, c := range f.Cases {
		got, err := protocol.SafetyNumber(c.A, c.B)
		switch {
		case c.Expect == "invalid" && err == nil:
			t.Errorf("%s: accepted", c.Name)
		case c.Expect == "success" && (err != nil || got != c.SafetyNumber):
			t.Errorf("%s: got %q, %v; want %q", c.Name, got, err, c.SafetyNumber)
		}
	}
}

// TestSafetyNumbers: both sides of a contact compute the same safety number; a
// substituted contact code (another account's key) gives a different one (issue 19
// item 8).
func TestSafetyNumbers(t *testing.T) {
	tn := newTestNet(t, memory.Config{}, 3)
	a, b, m := tn.peers[0], tn.peers[1], tn.peers[2]
	ab, err := a.c.SafetyNumber(b.id)
	if err != nil {
		t.Fatal(err)
	}
	ba, err := b.c.SafetyNumber(a.id)
	if err != nil {
		t.Fatal(err)
	}
	if ab != ba || len(ab) != 60 || strings.Trim(ab, "0123456789") != "" {
		t.Fatalf("a sees %q, b sees %q", ab, ba)
	}
	am, _ := a.c.SafetyNumber(m.id) // a was given m's code in place of b's
	if am == ba {
		t.Fatal("a substituted key gives the same safety number")
	}
	if got := protocol.FormatSafetyNumber(ab); len(strings.Fields(got)) != 12 || strings.Count(got, "\n") != 2 {
		t.Fatalf("formatted %q", got)
	}
}

// BenchmarkSafetyNumber: two fingerprints of 5 201 SHA-512 each.
func BenchmarkSafetyNumber(b *testing.B) {
	tn := newTestNet(b, memory.Config{}, 2)
	x, y := tn.peers[0].id, tn.peers[1].id
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := protocol.SafetyNumber(x, y); err != nil {
			b.Fatal(err)
		}
	}
}
