package epoch

import (
	"crypto/sha256"
	"errors"
	"testing"
)

// TestMemberPrevDigest: the digest is the spec's formula (label, count, sorted ids), differs
// for every prev set, and CheckMemberPrev accepts exactly the digest of the prev: another
// prev set (one id more, one less, another id) is ErrMalformed, no digest with a non-empty
// prev is ErrUncommitted, none with an empty prev (creation) passes.
func TestMemberPrevDigest(t *testing.T) {
	a, b, c := testID("a"), testID("b"), testID("c")
	prev := mustFrontier(t, a, b)
	want := sha256.Sum256(append(append(append([]byte("\x1bchorus/v2/epoch/member-prev"), 2), prev[0][:]...), prev[1][:]...))
	if got := MemberPrevDigest(prev); got != want {
		t.Fatalf("digest %x, want %x", got, want)
	}
	d := MemberPrevDigest(prev)
	if err := CheckMemberPrev(prev, d[:]); err != nil {
		t.Fatalf("the event's own prev refused: %v", err)
	}
	for _, other := range []Frontier{{a}, mustFrontier(t, a, c), mustFrontier(t, a, b, c), nil} {
		if err := CheckMemberPrev(other, d[:]); !errors.Is(err, ErrMalformed) {
			t.Errorf("prev %d ids: %v, want malformed", len(other), err)
		}
	}
	if err := CheckMemberPrev(prev, d[:31]); !errors.Is(err, ErrMalformed) {
		t.Errorf("short digest: %v", err)
	}
	if err := CheckMemberPrev(prev, nil); !errors.Is(err, ErrUncommitted) {
		t.Errorf("no digest: %v, want uncommitted", err)
	}
	if err := CheckMemberPrev(nil, nil); err != nil {
		t.Errorf("creation without a digest: %v", err)
	}
	empty := MemberPrevDigest(nil)
	if err := CheckMemberPrev(nil, empty[:]); err != nil {
		t.Errorf("creation with its digest: %v", err)
	}
	var au Installation
	au[0] = 1
	for _, tc := range []struct {
		name string
		b    KeyBlock
		want error
	}{
		{"v5 rekey", NewRekeyHeads(testID("g"), au, [NonceSize]byte{1}, prev, nil), nil},
		{"v4 rekey", KeyBlock{Kind: KindRekey, Prev: prev, LegacyHeads: true}, nil},
		{"v3 rekey", KeyBlock{Kind: KindRekey, Prev: prev, LegacyHeads: true, LegacyID: true}, ErrUncommitted},
		{"v2 rekey", KeyBlock{Kind: KindRekey, Prev: prev, LegacyHeads: true, LegacyID: true, LegacyHints: true}, ErrUncommitted},
	} {
		if err := tc.b.Committed(nil); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	mb := KeyBlock{Kind: KindMembership, Prev: prev}
	if err := mb.Committed(d[:]); err != nil {
		t.Errorf("membership block with its digest: %v", err)
	}
	if err := mb.Committed(nil); !errors.Is(err, ErrUncommitted) {
		t.Errorf("membership block without a digest: %v", err)
	}
}
