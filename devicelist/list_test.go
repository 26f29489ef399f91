package devicelist

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/x3dh"
)

// fixture is an account key and installations bound to it.
type fixture struct {
	key     *ecdsa.PrivateKey
	account [AccountKeySize]byte
	idents  []*x3dh.Identity
	rng     *rand.ChaCha8
}

func newFixture(t testing.TB, seed byte, n int) *fixture {
	t.Helper()
	f := &fixture{rng: rand.NewChaCha8([32]byte{seed})}
	var err error
	if f.key, err = ecdsa.GenerateKey(crypto.S256(), f.rng); err != nil {
		t.Fatal(err)
	}
	copy(f.account[:], crypto.FromECDSAPub(&f.key.PublicKey))
	for range n {
		id, err := x3dh.GenerateIdentity(f.rng)
		if err != nil {
			t.Fatal(err)
		}
		f.idents = append(f.idents, id)
	}
	return f
}

// entry is installation i's entry, with its binding to the account if bound.
func (f *fixture) entry(t testing.TB, i int, revoked, bound bool) Entry {
	t.Helper()
	p := f.idents[i].Public()
	e := Entry{ID: p.ID, DH: p.DH, Signing: p.Signing, Revoked: revoked}
	if bound {
		b, err := Bind(f.idents[i], f.account[:])
		if err != nil {
			t.Fatal(err)
		}
		e.Binding = b
	}
	return e
}

// sign returns the signed list of entries at clock.
func (f *fixture) sign(t testing.TB, clock uint64, entries ...Entry) []byte {
	t.Helper()
	l := &List{Clock: clock, Entries: entries}
	if err := l.Sign(f.key); err != nil {
		t.Fatal(err)
	}
	b, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustVerify(t testing.TB, b []byte) *Verified {
	t.Helper()
	v, err := Verify(b, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestCompare pins the one tie-break: clock first; at one clock the larger SHA-256 of
// the signed part; the same signed list compares equal whatever bindings and bundles its
// copies carry (the engine's two callers once disagreed on exactly that case).
func TestCompare(t *testing.T) {
	f := newFixture(t, 1, 3)
	a := mustVerify(t, f.sign(t, 5, f.entry(t, 0, false, true), f.entry(t, 1, false, true))).List
	b := mustVerify(t, f.sign(t, 5, f.entry(t, 0, false, true), f.entry(t, 2, false, true))).List
	older := mustVerify(t, f.sign(t, 4, f.entry(t, 0, false, true), f.entry(t, 1, false, true), f.entry(t, 2, false, true))).List
	if Compare(a, b) == 0 || Compare(a, b) != -Compare(b, a) {
		t.Fatalf("concurrent lists: Compare %d / %d", Compare(a, b), Compare(b, a))
	}
	if Compare(a, older) != 1 || Compare(older, b) != -1 {
		t.Fatal("the clock does not dominate")
	}
	// The same list without bindings and with a bundle: still the same list.
	cp := *a
	cp.Entries = slices.Clone(a.Entries)
	for i := range cp.Entries {
		cp.Entries[i].Binding = nil
	}
	cp.Bundles = [][]byte{{1, 2, 3}}
	if Compare(a, &cp) != 0 || Compare(&cp, a) != 0 {
		t.Fatal("the same signed list does not compare equal")
	}
	// Transitive over a shuffled set of lists at one clock: sorting twice agrees.
	var lists []*List
	for i := range 3 {
		for j := range 3 {
			if i != j {
				lists = append(lists, mustVerify(t, f.sign(t, 7, f.entry(t, i, false, true), f.entry(t, j, j == 2, true))).List)
			}
		}
	}
	s1 := slices.Clone(lists)
	slices.SortFunc(s1, Compare)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(lists), func(i, j int) { lists[i], lists[j] = lists[j], lists[i] })
	slices.SortFunc(lists, Compare)
	for i := range lists {
		if lists[i] != s1[i] && Compare(lists[i], s1[i]) != 0 {
			t.Fatal("Compare is not a total order")
		}
	}
}

// TestMergeBinding is the installation-binding rule: an unknown installation joins only
// with its own binding to the list's account; one bound to another account, or listed
// with other keys, is never taken over, whatever the clock.
func TestMergeBinding(t *testing.T) {
	alice := newFixture(t, 2, 2)
	mallory := newFixture(t, 3, 1)
	known := map[[16]byte]Installation{}
	merged, d := Merge(known, mustVerify(t, alice.sign(t, 1, alice.entry(t, 0, false, true), alice.entry(t, 1, false, false))))
	if len(merged) != 1 || len(d.Added) != 1 || d.Added[0] != alice.idents[0].ID() {
		t.Fatalf("unbound entry taken: %+v %+v", merged, d)
	}
	for _, in := range merged {
		known[in.ID] = in
	}
	// Mallory lists alice0 (binding copied from alice's list) at a higher clock.
	e := alice.entry(t, 0, false, true)
	v := mustVerify(t, mallory.sign(t, 99, mallory.entry(t, 0, false, true), e))
	if v.Bound[e.ID] {
		t.Fatal("a binding to alice verifies for mallory")
	}
	merged, d = Merge(known, v)
	if len(merged) != 1 || merged[0].ID != mallory.idents[0].ID() || len(d.Added) != 1 {
		t.Fatalf("claim: merged %+v delta %+v", merged, d)
	}
	// Alice's own later list revokes alice0 without a binding: her word.
	e.Binding = nil
	e.Revoked = true
	merged, d = Merge(known, mustVerify(t, alice.sign(t, 2, e)))
	if len(merged) != 1 || !merged[0].Revoked || len(d.Revoked) != 1 || known[e.ID].Revoked {
		t.Fatalf("revocation: merged %+v delta %+v (known modified %v)", merged, d, known[e.ID].Revoked)
	}
	// Other keys under a known id: ignored.
	other := alice.entry(t, 0, false, true)
	other.DH[0] ^= 1
	if merged, d := Merge(known, mustVerify(t, alice.sign(t, 3, other))); len(merged) != 0 || !d.Empty() {
		t.Fatalf("other keys: merged %+v delta %+v", merged, d)
	}
}

// TestMergeLearnsBinding: a known, active installation without a binding record takes the
// list's binding and is reported Bound; a revoked one takes it silently.
func TestMergeLearnsBinding(t *testing.T) {
	f := newFixture(t, 4, 2)
	known := map[[16]byte]Installation{}
	for i := range 2 {
		p := f.idents[i].Public()
		known[p.ID] = Installation{ID: p.ID, Account: AccountID(f.account), DH: p.DH, Signing: p.Signing, Revoked: i == 1}
	}
	merged, d := Merge(known, mustVerify(t, f.sign(t, 1, f.entry(t, 0, false, true), f.entry(t, 1, false, true))))
	if len(merged) != 2 || len(d.Bound) != 1 || d.Bound[0] != f.idents[0].ID() || !d.Empty() {
		t.Fatalf("merged %+v delta %+v", merged, d)
	}
	for _, in := range merged {
		if len(in.Binding) != BindingSize {
			t.Fatalf("%x: no binding", in.ID[:4])
		}
	}
}

// TestMergeOrderIndependent: applying a set of lists in any order gives the same union
// and keeps the same list, when each installation carries its binding in every list or
// in none (installation 5). (A revocation in a list that lacks the binding of an
// installation the peer does not know yet is ignored, so that case depends on the order;
// holders attach every binding they know.)
func TestMergeOrderIndependent(t *testing.T) {
	f := newFixture(t, 5, 6)
	var lists [][]byte
	for c := range 8 {
		var es []Entry
		for i := range 6 {
			if (c+i)%3 != 0 {
				es = append(es, f.entry(t, i, (c*i)%5 == 1, i != 5))
			}
		}
		lists = append(lists, f.sign(t, uint64(c%3), es...))
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var first *peer
	for range 20 {
		p := &peer{known: map[[16]byte]Installation{}}
		for _, i := range rng.Perm(len(lists)) {
			p.receive(t, lists[i])
		}
		if first == nil {
			first = p
			continue
		}
		if len(p.known) != len(first.known) || Compare(p.kept, first.kept) != 0 {
			t.Fatal("order changed the union or the kept list")
		}
		for id, in := range p.known {
			if first.known[id].Revoked != in.Revoked {
				t.Fatalf("%x: revoked depends on the order", id[:4])
			}
		}
	}
}

// TestVerifyRejects: every signature and rule failure is refused with its sentinel.
func TestVerifyRejects(t *testing.T) {
	f := newFixture(t, 6, 2)
	good := f.sign(t, 3, f.entry(t, 0, false, true), f.entry(t, 1, true, true))
	if _, err := Verify(good, time.Time{}); err != nil {
		t.Fatal(err)
	}
	signedLen := 1 + AccountKeySize + 8 + 2 + 2*entrySize
	for i := range signedLen + SignatureSize {
		for _, bit := range []byte{1, 0x80} {
			b := bytes.Clone(good)
			b[i] ^= bit
			if v, err := Verify(b, time.Time{}); err == nil || v != nil {
				t.Fatalf("byte %d bit %x: verifies", i, bit)
			}
		}
	}
	dup := f.sign(t, 1, f.entry(t, 0, false, true), f.entry(t, 0, true, true))
	if _, err := Verify(dup, time.Time{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("duplicate: %v", err)
	}
	many := newFixture(t, 7, MaxActive+1)
	var es []Entry
	for i := range MaxActive + 1 {
		es = append(es, many.entry(t, i, false, false))
	}
	if _, err := Verify(many.sign(t, 1, es...), time.Time{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("%d active: %v", MaxActive+1, err)
	}
	es[0].Revoked = true
	if _, err := Verify(many.sign(t, 1, es...), time.Time{}); err != nil {
		t.Fatalf("%d active and one revoked: %v", MaxActive, err)
	}
	if _, err := Verify(good[:len(good)-1], time.Time{}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated: %v", err)
	}
}

// TestMarshalBounds: an encoder refuses what a decoder would refuse.
func TestMarshalBounds(t *testing.T) {
	l := &List{Entries: make([]Entry, MaxEntries+1)}
	if _, err := l.Marshal(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("too many entries: %v", err)
	}
	l = &List{Entries: []Entry{{Binding: []byte{1}}}}
	if _, err := l.Marshal(); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short binding: %v", err)
	}
}

// sample is a device list with a revoked entry, a bound one and an unbound one (no valid
// signatures: for the codec only).
func sample(t testing.TB) []byte {
	t.Helper()
	l := &List{Account: [65]byte{4}, Clock: 5, Entries: []Entry{{ID: [16]byte{1}, Revoked: true},
		{ID: [16]byte{2}, Binding: bytes.Repeat([]byte{8}, BindingSize)}, {ID: [16]byte{3}}},
		Signature: [64]byte{3}, Bundles: [][]byte{[]byte("bundle")}}
	b, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseRejects: the decoder is strict and canonical (non-canonical booleans, bindings
// out of entry order, for unlisted ids, twice or truncated, trailing bytes, every prefix).
func TestParseRejects(t *testing.T) {
	good := sample(t)
	if l, err := Parse(good); err != nil {
		t.Fatal(err)
	} else if again, _ := l.Marshal(); !bytes.Equal(again, good) {
		t.Fatal("round trip differs")
	}
	for i := range len(good) {
		if l, err := Parse(good[:i]); err == nil {
			if again, _ := l.Marshal(); !bytes.Equal(again, good[:i]) {
				t.Fatalf("prefix %d decoded non-canonically", i)
			}
		}
	}
	if _, err := Parse(append(bytes.Clone(good), 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
	bad := bytes.Clone(good)
	// revoked flag byte of the first entry is at 1+65+8+2+81
	bad[1+65+8+2+81] = 2
	if _, err := Parse(bad); err == nil {
		t.Fatal("non-canonical bool accepted")
	}
	// Bindings: in entry order, for listed entries only, at most one each.
	l, err := Parse(good)
	if err != nil || l.Entries[0].Binding != nil || len(l.Entries[1].Binding) != BindingSize || l.Entries[2].Binding != nil {
		t.Fatalf("bindings not parsed back: %v", err)
	}
	sig := bytes.Repeat([]byte{8}, BindingSize)
	withBindings := func(ids ...byte) []byte {
		cp := *l
		cp.Entries = nil
		for _, e := range l.Entries {
			e.Binding = nil
			cp.Entries = append(cp.Entries, e)
		}
		b, err := cp.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var list []byte
		for _, id := range ids {
			list = append(append(list, append([]byte{id}, make([]byte, 15)...)...), sig...)
		}
		at := 1 + 65 + 8 + 2 + 3*entrySize + SignatureSize // the (empty) bindings' length
		out := append(bytes.Clone(b[:at]), byte(len(list)>>8), byte(len(list)))
		out = append(append(out, list...), b[at+2:]...)
		return out
	}
	if c, err := Parse(withBindings(1, 3)); err != nil || c.Entries[0].Binding == nil || c.Entries[2].Binding == nil {
		t.Fatalf("bindings for entries 1 and 3: %v", err)
	}
	for name, ids := range map[string][]byte{"unlisted id": {4}, "out of order": {3, 1}, "twice": {2, 2}} {
		if _, err := Parse(withBindings(ids...)); err == nil {
			t.Errorf("binding %s accepted", name)
		}
	}
	short := withBindings(2)
	at := 1 + 65 + 8 + 2 + 3*entrySize + SignatureSize
	short[at+1]-- // the list is no longer a whole number of bindings
	if _, err := Parse(short); err == nil {
		t.Error("truncated binding accepted")
	}
}
