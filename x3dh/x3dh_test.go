package x3dh

import (
	"bytes"
	"crypto/ecdh"
	"crypto/sha256"
	"errors"
	"io"
	mrand "math/rand/v2"
	"testing"
	"time"
)

// testRand returns a deterministic reader seeded from label.
func testRand(label string) io.Reader {
	return mrand.NewChaCha8(sha256.Sum256([]byte(label)))
}

var (
	testNow     = time.Unix(1_750_000_000, 0)
	testExpires = testNow.Add(14 * 24 * time.Hour)
)

// prekeyStore is a map-backed PrekeyLookup.
type prekeyStore struct {
	spks map[uint32]*SignedPrekey
	otks map[uint32]*OneTimePrekey
}

func (s *prekeyStore) SignedPrekey(id uint32) (*SignedPrekey, bool) {
	k, ok := s.spks[id]
	return k, ok
}

func (s *prekeyStore) OneTimePrekey(id uint32) (*OneTimePrekey, bool) {
	k, ok := s.otks[id]
	return k, ok
}

type party struct {
	id     *Identity
	spk    *SignedPrekey
	otks   []*OneTimePrekey
	store  *prekeyStore
	bundle *Bundle
}

func newParty(t testing.TB, label string, nOTK int) *party {
	t.Helper()
	r := testRand(label)
	id, err := GenerateIdentity(r)
	if err != nil {
		t.Fatal(err)
	}
	spk, err := id.NewSignedPrekey(r, 7, testExpires)
	if err != nil {
		t.Fatal(err)
	}
	otks, err := GenerateOneTimePrekeys(r, 100, nOTK)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBundle(id, spk, otks)
	if err != nil {
		t.Fatal(err)
	}
	st := &prekeyStore{spks: map[uint32]*SignedPrekey{spk.ID(): spk}, otks: map[uint32]*OneTimePrekey{}}
	for _, k := range otks {
		st.otks[k.ID()] = k
	}
	return &party{id: id, spk: spk, otks: otks, store: st, bundle: b}
}

func TestAgreement(t *testing.T) {
	for _, nOTK := range []int{0, 1, 3} {
		alice := newParty(t, "alice", 0)
		bob := newParty(t, "bob", nOTK)
		secret, ad, hdr, err := Initiate(testRand("eph"), alice.id, bob.bundle, testNow)
		if err != nil {
			t.Fatalf("nOTK=%d: Initiate: %v", nOTK, err)
		}
		if hdr.HasOneTimePrekey != (nOTK > 0) || (nOTK > 0 && hdr.OneTimePrekeyID != 100) {
			t.Fatalf("nOTK=%d: header one-time prekey = %v/%d", nOTK, hdr.HasOneTimePrekey, hdr.OneTimePrekeyID)
		}
		if hdr.Initiator != alice.id.Public() || hdr.SignedPrekeyID != 7 {
			t.Fatalf("header identity/spk mismatch")
		}
		wire, err := hdr.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := ParseHeader(wire)
		if err != nil {
			t.Fatal(err)
		}
		secret2, ad2, err := Respond(bob.id, bob.store, parsed, testNow)
		if err != nil {
			t.Fatalf("nOTK=%d: Respond: %v", nOTK, err)
		}
		if secret != secret2 || !bytes.Equal(ad, ad2) {
			t.Fatalf("nOTK=%d: secrets or ad differ", nOTK)
		}
		if secret == ([32]byte{}) {
			t.Fatal("zero secret")
		}
		a, b := alice.id.Public(), bob.id.Public()
		want := appendPublicIdentity(appendPublicIdentity(nil, &a), &b)
		if !bytes.Equal(ad, want) || len(ad) != 162 {
			t.Fatalf("ad = %x, want initiator||responder", ad)
		}
	}
}

func TestAgreementIsDeterministicAndOTKMatters(t *testing.T) {
	alice := newParty(t, "alice", 0)
	with := newParty(t, "bob", 1)
	without := newParty(t, "bob", 0)
	s1, _, _, err := Initiate(testRand("eph"), alice.id, with.bundle, testNow)
	if err != nil {
		t.Fatal(err)
	}
	s2, _, _, err := Initiate(testRand("eph"), alice.id, with.bundle, testNow)
	if err != nil {
		t.Fatal(err)
	}
	s3, _, _, err := Initiate(testRand("eph"), alice.id, without.bundle, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if s1 != s2 {
		t.Fatal("same inputs, different secrets")
	}
	if s1 == s3 {
		t.Fatal("one-time prekey did not change the secret")
	}
}

// lowOrderAndNonCanonical returns every X25519 encoding checkPoint must reject.
func lowOrderAndNonCanonical() [][32]byte {
	out := append([][32]byte(nil), lowOrderPoints[:]...)
	p := lowOrderPoints[4]
	p[0] = 0xed // p
	out = append(out, p)
	p[0] = 0xee // p+1
	out = append(out, p)
	p[0] = 0xff // 2^255-1
	out = append(out, p)
	var hi [32]byte // 9 with bit 255 set
	hi[0], hi[31] = 9, 0x80
	out = append(out, hi)
	return out
}

func TestCheckPoint(t *testing.T) {
	priv, err := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{0x42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range lowOrderAndNonCanonical() {
		if err := checkPoint(&u); !errors.Is(err, ErrInvalidPoint) {
			t.Errorf("checkPoint(%x) = %v", u, err)
		}
	}
	// Every listed low-order point (and p, p+1) is also refused by crypto/ecdh:
	// the list is exactly the set of small-order u-coordinates.
	for _, u := range lowOrderAndNonCanonical()[:7] {
		if _, err := dh(priv, &u); !errors.Is(err, ErrInvalidPoint) {
			t.Errorf("dh(%x) = %v, want ErrInvalidPoint", u, err)
		}
	}
	good := [32]byte{9}
	if err := checkPoint(&good); err != nil {
		t.Fatalf("base point rejected: %v", err)
	}
	pub := priv.PublicKey().Bytes()
	if err := checkPoint((*[32]byte)(pub)); err != nil {
		t.Fatalf("generated key rejected: %v", err)
	}
}

func TestBundleVerifyRejects(t *testing.T) {
	bob := newParty(t, "bob", 2)
	alice := newParty(t, "alice", 0)
	type bundleCase struct {
		name   string
		mutate func(b *Bundle)
		now    time.Time
		want   error
	}
	cases := []bundleCase{
		{"version", func(b *Bundle) { b.Version = 2 }, testNow, ErrVersion},
		{"expired at expiry", func(b *Bundle) {}, time.Unix(testExpires.Unix(), 0), ErrExpiredPrekey},
		{"expired after", func(b *Bundle) {}, testExpires.Add(time.Hour), ErrExpiredPrekey},
		{"signature bit", func(b *Bundle) { b.Signature[10] ^= 1 }, testNow, ErrBadSignature},
		{"signature high S", func(b *Bundle) { b.Signature = highS(b.Signature) }, testNow, ErrBadSignature},
		{"spk id", func(b *Bundle) { b.SignedPrekeyID++ }, testNow, ErrBadSignature},
		{"spk key", func(b *Bundle) { b.SignedPrekey = bob.otks[0].Public() }, testNow, ErrBadSignature},
		{"expiry extended", func(b *Bundle) { b.Expires++ }, testNow, ErrBadSignature},
		{"installation id", func(b *Bundle) { b.Identity.ID[0] ^= 1 }, testNow, ErrBadSignature},
		{"identity dh key", func(b *Bundle) { b.Identity.DH = alice.id.Public().DH }, testNow, ErrBadSignature},
		{"other signer", func(b *Bundle) { b.Identity.Signing = alice.id.Public().Signing }, testNow, ErrBadSignature},
		{"invalid signing key", func(b *Bundle) { b.Identity.Signing[0] = 4 }, testNow, ErrInvalidSigningKey},
		{"signing key off curve", func(b *Bundle) { b.Identity.Signing = offCurve() }, testNow, ErrInvalidSigningKey},
	}
	for _, u := range lowOrderAndNonCanonical() {
		cases = append(cases,
			bundleCase{"low-order identity", func(b *Bundle) { b.Identity.DH = u }, testNow, ErrInvalidPoint},
			bundleCase{"low-order spk", func(b *Bundle) { b.SignedPrekey = u }, testNow, ErrInvalidPoint},
			bundleCase{"low-order otk", func(b *Bundle) { b.OneTimePrekeys[1].Key = u }, testNow, ErrInvalidPoint},
		)
	}
	for _, c := range cases {
		b := *bob.bundle
		b.OneTimePrekeys = append([]OneTimePrekeyPublic(nil), bob.bundle.OneTimePrekeys...)
		c.mutate(&b)
		if err := b.Verify(c.now); !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
		if _, _, _, err := Initiate(testRand("eph"), alice.id, &b, c.now); !errors.Is(err, c.want) {
			t.Errorf("%s: Initiate = %v, want %v", c.name, err, c.want)
		}
	}
	if err := bob.bundle.Verify(testExpires.Add(-time.Second)); err != nil {
		t.Fatalf("valid bundle one second before expiry: %v", err)
	}
}

// highS returns the malleated signature (r, n-s), which libsecp256k1 refuses.
func highS(sig [64]byte) [64]byte {
	n := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
		0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41}
	var borrow int
	for i := 31; i >= 0; i-- {
		d := int(n[i]) - int(sig[32+i]) - borrow
		borrow = 0
		if d < 0 {
			d += 256
			borrow = 1
		}
		sig[32+i] = byte(d)
	}
	return sig
}

// offCurve returns a compressed encoding whose x has no point on secp256k1.
func offCurve() [33]byte {
	var k [33]byte
	k[0] = 2
	k[32] = 5 // x = 5: 125+7 = 132 is not a square mod p
	return k
}

func TestRespondRejects(t *testing.T) {
	alice := newParty(t, "alice", 0)
	bob := newParty(t, "bob", 1)
	_, _, hdr, err := Initiate(testRand("eph"), alice.id, bob.bundle, testNow)
	if err != nil {
		t.Fatal(err)
	}
	grace := testExpires.Add(SignedPrekeyGrace)
	type headerCase struct {
		name   string
		mutate func(h *Header)
		now    time.Time
		want   error
	}
	cases := []headerCase{
		{"version", func(h *Header) { h.Version = 0 }, testNow, ErrVersion},
		{"unknown spk", func(h *Header) { h.SignedPrekeyID = 8 }, testNow, ErrUnknownSignedPrekey},
		{"unknown otk", func(h *Header) { h.OneTimePrekeyID = 101 }, testNow, ErrUnknownOneTimePrekey},
		{"expired beyond grace", func(h *Header) {}, grace, ErrExpiredPrekey},
		{"invalid initiator signing key", func(h *Header) { h.Initiator.Signing = offCurve() }, testNow, ErrInvalidSigningKey},
	}
	for _, u := range lowOrderAndNonCanonical() {
		cases = append(cases,
			headerCase{"low-order ephemeral", func(h *Header) { h.Ephemeral = u }, testNow, ErrInvalidPoint},
			headerCase{"low-order initiator", func(h *Header) { h.Initiator.DH = u }, testNow, ErrInvalidPoint},
		)
	}
	for _, c := range cases {
		h := *hdr
		c.mutate(&h)
		if _, _, err := Respond(bob.id, bob.store, &h, c.now); !errors.Is(err, c.want) {
			t.Errorf("%s: Respond = %v, want %v", c.name, err, c.want)
		}
	}
	// Within the grace period the responder still answers.
	if _, _, err := Respond(bob.id, bob.store, hdr, grace.Add(-time.Second)); err != nil {
		t.Fatalf("within grace: %v", err)
	}
}

// TestHeaderTamper flips every bit of an encoded header: each flip is either
// refused or yields a different secret or associated data.
func TestHeaderTamper(t *testing.T) {
	alice := newParty(t, "alice", 0)
	bob := newParty(t, "bob", 1)
	secret, ad, hdr, err := Initiate(testRand("eph"), alice.id, bob.bundle, testNow)
	if err != nil {
		t.Fatal(err)
	}
	wire, _ := hdr.MarshalBinary()
	for i := range len(wire) * 8 {
		w := bytes.Clone(wire)
		w[i/8] ^= 1 << (i % 8)
		h, err := ParseHeader(w)
		if err != nil {
			continue
		}
		s2, ad2, err := Respond(bob.id, bob.store, h, testNow)
		if err == nil && s2 == secret && bytes.Equal(ad, ad2) {
			t.Fatalf("bit %d flipped: same secret and ad", i)
		}
	}
}

func TestNewBundle(t *testing.T) {
	alice := newParty(t, "alice", 0)
	bob := newParty(t, "bob", 0)
	if _, err := NewBundle(alice.id, bob.spk, nil); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("foreign signed prekey: %v", err)
	}
	otks, err := GenerateOneTimePrekeys(testRand("many"), 0, MaxBundleOneTimePrekeys+1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewBundle(bob.id, bob.spk, otks); err == nil {
		t.Fatal("too many one-time prekeys accepted")
	}
	b, err := NewBundle(bob.id, bob.spk, otks[:MaxBundleOneTimePrekeys])
	if err != nil {
		t.Fatal(err)
	}
	if b.Expires != testExpires.Unix() || b.SignedPrekey != bob.spk.Public() || len(b.OneTimePrekeys) != MaxBundleOneTimePrekeys {
		t.Fatal("bundle fields")
	}
	if err := b.Verify(testNow); err != nil {
		t.Fatal(err)
	}
}

func TestGenerateOneTimePrekeys(t *testing.T) {
	ks, err := GenerateOneTimePrekeys(testRand("otk"), 1<<32-3, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range ks {
		if k.ID() != 1<<32-3+uint32(i) {
			t.Fatalf("id %d = %d", i, k.ID())
		}
	}
	if _, err := GenerateOneTimePrekeys(testRand("otk"), 1<<32-3, 4); err == nil {
		t.Fatal("id overflow accepted")
	}
	if _, err := GenerateOneTimePrekeys(testRand("otk"), 0, -1); err == nil {
		t.Fatal("negative count accepted")
	}
	if ks, err := GenerateOneTimePrekeys(testRand("otk"), 0, 0); err != nil || len(ks) != 0 {
		t.Fatal("zero count")
	}
}

func TestRandomnessFailures(t *testing.T) {
	short := func(n int) io.Reader { return io.LimitReader(testRand("short"), int64(n)) }
	for _, n := range []int{0, 15, 16, 47, 48, 79} {
		if _, err := GenerateIdentity(short(n)); err == nil {
			t.Errorf("GenerateIdentity with %d bytes succeeded", n)
		}
	}
	if _, err := GenerateIdentity(bytes.NewReader(make([]byte, 1024))); err == nil {
		t.Error("all-zero secp256k1 scalars accepted")
	}
	bob := newParty(t, "bob", 0)
	alice := newParty(t, "alice", 0)
	if _, err := bob.id.NewSignedPrekey(short(31), 1, testExpires); err == nil {
		t.Error("NewSignedPrekey with short rand")
	}
	if _, err := GenerateOneTimePrekeys(short(40), 0, 2); err == nil {
		t.Error("GenerateOneTimePrekeys with short rand")
	}
	if _, _, _, err := Initiate(short(31), alice.id, bob.bundle, testNow); err == nil {
		t.Error("Initiate with short rand")
	}
}
