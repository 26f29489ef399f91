package epoch

import "testing"

// TestConfirmation: the key confirmation binds seed, event and group; a block confirms
// exactly the seed it was confirmed with; the slot context binds the confirmation (a
// changed confirmation makes every slot's Double Ratchet AD differ) and it round-trips.
func TestConfirmation(t *testing.T) {
	g := testID("group")
	var seed, other Seed
	seed[0], other[0] = 1, 2
	b := NewRekey(g, Installation{7}, [NonceSize]byte{9}, Frontier{testID("prev")})
	b.Confirm(g, &seed)
	if !b.Confirms(g, &seed) || b.Confirms(g, &other) || b.Confirms(testID("other group"), &seed) {
		t.Fatal("Confirms does not match exactly the seed, event and group confirmed")
	}
	if Confirmation(g, testID("other event"), &seed) == b.Confirmation {
		t.Fatal("the confirmation does not bind the event")
	}
	ctx := b.Context(g)
	changed := b
	changed.Confirmation[31] ^= 1
	if changed.Context(g) == ctx {
		t.Fatal("the slot context does not bind the confirmation")
	}
	enc, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseKeyBlock(g, enc)
	if err != nil || p.Confirmation != b.Confirmation || !p.Confirms(g, &seed) {
		t.Fatalf("confirmation lost in the encoding (%v)", err)
	}
}
