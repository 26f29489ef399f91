package x3dh

import (
	"bytes"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
)

func TestSecretEncodingsRoundTrip(t *testing.T) {
	bob := newParty(t, "bob", 2)
	id2 := new(Identity)
	enc, err := bob.id.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) != identitySize {
		t.Fatalf("identity encoding is %d bytes", len(enc))
	}
	if err := id2.UnmarshalBinary(enc); err != nil {
		t.Fatal(err)
	}
	if id2.Public() != bob.id.Public() || id2.ID() != bob.id.ID() || id2.SigningKey().D.Cmp(bob.id.SigningKey().D) != 0 {
		t.Fatal("identity differs after round trip")
	}
	spk2 := new(SignedPrekey)
	enc, _ = bob.spk.MarshalBinary()
	if len(enc) != signedPrekeySize {
		t.Fatalf("signed prekey encoding is %d bytes", len(enc))
	}
	if err := spk2.UnmarshalBinary(enc); err != nil {
		t.Fatal(err)
	}
	if spk2.id != bob.spk.id || spk2.pub != bob.spk.pub || spk2.sig != bob.spk.sig || spk2.expires != bob.spk.expires {
		t.Fatal("signed prekey differs after round trip")
	}
	if !bytes.Equal(spk2.PrivateKey().Bytes(), bob.spk.PrivateKey().Bytes()) || spk2.Expires() != testExpires.Unix() {
		t.Fatal("signed prekey private key or expiry differs")
	}
	otk2 := new(OneTimePrekey)
	enc, _ = bob.otks[1].MarshalBinary()
	if len(enc) != oneTimePrekeySize {
		t.Fatalf("one-time prekey encoding is %d bytes", len(enc))
	}
	if err := otk2.UnmarshalBinary(enc); err != nil {
		t.Fatal(err)
	}
	if otk2.ID() != 101 || otk2.Public() != bob.otks[1].Public() {
		t.Fatal("one-time prekey differs after round trip")
	}
	// A restored identity and prekeys still answer.
	alice := newParty(t, "alice", 0)
	s1, _, hdr, err := Initiate(testRand("eph"), alice.id, bob.bundle, testNow)
	if err != nil {
		t.Fatal(err)
	}
	otk1 := new(OneTimePrekey)
	enc, _ = bob.otks[0].MarshalBinary()
	if err := otk1.UnmarshalBinary(enc); err != nil {
		t.Fatal(err)
	}
	st := &prekeyStore{spks: map[uint32]*SignedPrekey{7: spk2}, otks: map[uint32]*OneTimePrekey{100: otk1}}
	s2, _, err := Respond(id2, st, hdr, testNow)
	if err != nil || s1 != s2 {
		t.Fatalf("restored keys: %v", err)
	}
}

// secretDecoders lists every secret key type with a valid encoding.
func secretDecoders(t *testing.T) []struct {
	name string
	enc  []byte
	dec  func() encoding.BinaryUnmarshaler
} {
	bob := newParty(t, "bob", 1)
	idEnc, _ := bob.id.MarshalBinary()
	spkEnc, _ := bob.spk.MarshalBinary()
	otkEnc, _ := bob.otks[0].MarshalBinary()
	return []struct {
		name string
		enc  []byte
		dec  func() encoding.BinaryUnmarshaler
	}{
		{"identity", idEnc, func() encoding.BinaryUnmarshaler { return new(Identity) }},
		{"signed prekey", spkEnc, func() encoding.BinaryUnmarshaler { return new(SignedPrekey) }},
		{"one-time prekey", otkEnc, func() encoding.BinaryUnmarshaler { return new(OneTimePrekey) }},
	}
}

func TestSecretEncodingsRejectMalformed(t *testing.T) {
	for _, d := range secretDecoders(t) {
		for n := range len(d.enc) {
			if err := d.dec().UnmarshalBinary(d.enc[:n]); err == nil {
				t.Errorf("%s: truncated to %d accepted", d.name, n)
			}
		}
		if err := d.dec().UnmarshalBinary(append(bytes.Clone(d.enc), 0)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: trailing byte: %v", d.name, err)
		}
		bad := bytes.Clone(d.enc)
		bad[0] = 2
		if err := d.dec().UnmarshalBinary(bad); !errors.Is(err, ErrVersion) {
			t.Errorf("%s: version 2: %v", d.name, err)
		}
		bad = bytes.Clone(d.enc)
		bad[1] ^= 3
		if err := d.dec().UnmarshalBinary(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: wrong tag: %v", d.name, err)
		}
	}
	// secp256k1 scalar out of range.
	bob := newParty(t, "bob", 0)
	enc, _ := bob.id.MarshalBinary()
	for _, scalar := range [][]byte{make([]byte, 32), bytes.Repeat([]byte{0xff}, 32)} {
		bad := append(bytes.Clone(enc[:identitySize-32]), scalar...)
		id := new(Identity)
		if err := id.UnmarshalBinary(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("scalar %x: %v", scalar[:1], err)
		}
		if id.dh != nil {
			t.Error("receiver modified on error")
		}
	}
}

func TestBundleEncoding(t *testing.T) {
	for _, n := range []int{0, 1, 5} {
		bob := newParty(t, "bob", n)
		enc, err := bob.bundle.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(enc) != bundleFixedSize+36*n {
			t.Fatalf("bundle with %d otks is %d bytes", n, len(enc))
		}
		b, err := ParseBundle(enc)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(*b) != fmt.Sprint(*bob.bundle) {
			t.Fatalf("parsed bundle differs:\n%v\n%v", *b, *bob.bundle)
		}
		again, _ := b.MarshalBinary()
		if !bytes.Equal(enc, again) {
			t.Fatal("decode→encode not byte-identical")
		}
		for i := range len(enc) {
			if _, err := ParseBundle(enc[:i]); err == nil {
				t.Fatalf("truncated bundle (%d of %d) accepted", i, len(enc))
			}
		}
		if _, err := ParseBundle(append(bytes.Clone(enc), 0)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("trailing byte: %v", err)
		}
		bad := bytes.Clone(enc)
		bad[0] = 0
		if _, err := ParseBundle(bad); !errors.Is(err, ErrVersion) {
			t.Fatalf("version 0: %v", err)
		}
	}
	bob := newParty(t, "bob", 0)
	enc, _ := bob.bundle.MarshalBinary()
	over := append(bytes.Clone(enc[:len(enc)-2]), 0, MaxBundleOneTimePrekeys+1)
	over = append(over, make([]byte, 36*(MaxBundleOneTimePrekeys+1))...)
	if _, err := ParseBundle(over); !errors.Is(err, ErrMalformed) {
		t.Fatalf("too many one-time prekeys: %v", err)
	}
	b := *bob.bundle
	b.Version = 3
	if _, err := b.MarshalBinary(); !errors.Is(err, ErrVersion) {
		t.Fatalf("marshal version 3: %v", err)
	}
	b.Version = Version
	b.OneTimePrekeys = make([]OneTimePrekeyPublic, MaxBundleOneTimePrekeys+1)
	if _, err := b.MarshalBinary(); !errors.Is(err, ErrMalformed) {
		t.Fatalf("marshal too many: %v", err)
	}
}

func TestHeaderEncoding(t *testing.T) {
	for _, n := range []int{0, 1} {
		alice := newParty(t, "alice", 0)
		bob := newParty(t, "bob", n)
		_, _, hdr, err := Initiate(testRand("eph"), alice.id, bob.bundle, testNow)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := hdr.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if want := headerSizeNoOTK + 4*n; len(enc) != want {
			t.Fatalf("header is %d bytes, want %d", len(enc), want)
		}
		h, err := ParseHeader(enc)
		if err != nil {
			t.Fatal(err)
		}
		if *h != *hdr {
			t.Fatal("parsed header differs")
		}
		for i := range len(enc) {
			if _, err := ParseHeader(enc[:i]); err == nil {
				t.Fatalf("truncated header accepted")
			}
		}
		if _, err := ParseHeader(append(bytes.Clone(enc), 0)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("trailing byte: %v", err)
		}
		bad := bytes.Clone(enc)
		bad[headerSizeNoOTK-1] = 2
		if _, err := ParseHeader(bad); !errors.Is(err, ErrMalformed) {
			t.Fatalf("flag 2: %v", err)
		}
	}
	h := Header{Version: Version, OneTimePrekeyID: 9}
	enc, _ := h.MarshalBinary()
	if p, err := ParseHeader(enc); err != nil || p.OneTimePrekeyID != 0 || len(enc) != headerSizeNoOTK {
		t.Fatal("one-time prekey id encoded without flag")
	}
	h.Version = 0
	if _, err := h.MarshalBinary(); !errors.Is(err, ErrVersion) {
		t.Fatal("marshal version 0")
	}
}

// TestCompactHeader: the compact form is the header without its initiator identity
// (38 or 42 bytes); parsed with the initiator it is the same header; with another
// initiator Respond derives another secret (the identity is bound, not trusted).
func TestCompactHeader(t *testing.T) {
	for _, n := range []int{0, 1} {
		alice := newParty(t, "alice", 0)
		mallory := newParty(t, "mallory", 0)
		bob := newParty(t, "bob", n)
		secret, _, hdr, err := Initiate(testRand("eph"), alice.id, bob.bundle, testNow)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := hdr.MarshalCompact()
		if err != nil {
			t.Fatal(err)
		}
		if want := headerSizeNoOTK - publicIdentitySize + 4*n; len(enc) != want {
			t.Fatalf("compact header is %d bytes, want %d", len(enc), want)
		}
		full, _ := hdr.MarshalBinary()
		if enc[0] != Version || !bytes.Equal(enc[1:], full[1+publicIdentitySize:]) {
			t.Fatal("compact header is not the header without its initiator")
		}
		pub := alice.id.Public()
		h, err := ParseCompactHeader(enc, &pub)
		if err != nil || *h != *hdr {
			t.Fatalf("parsed compact header differs: %v", err)
		}
		for i := range len(enc) {
			if _, err := ParseCompactHeader(enc[:i], &pub); err == nil {
				t.Fatal("truncated compact header accepted")
			}
		}
		if _, err := ParseCompactHeader(append(bytes.Clone(enc), 0), &pub); !errors.Is(err, ErrMalformed) {
			t.Fatalf("trailing byte: %v", err)
		}
		bad := bytes.Clone(enc)
		bad[0] = 2
		if _, err := ParseCompactHeader(bad, &pub); !errors.Is(err, ErrVersion) {
			t.Fatalf("version 2: %v", err)
		}
		other := mallory.id.Public()
		h2, err := ParseCompactHeader(enc, &other)
		if err != nil {
			t.Fatal(err)
		}
		if s2, _, err := Respond(bob.id, bob.store, h2, testNow); err == nil && s2 == secret {
			t.Fatal("another initiator's identity gives the same secret")
		}
	}
}

func TestRedaction(t *testing.T) {
	bob := newParty(t, "bob", 1)
	idEnc, _ := bob.id.MarshalBinary()
	var secrets []string
	for _, k := range [][]byte{idEnc[18:50], crypto.FromECDSA(bob.id.SigningKey()), bob.spk.PrivateKey().Bytes(), bob.otks[0].priv.Bytes()} {
		secrets = append(secrets, hex.EncodeToString(k), fmt.Sprint(k[:8])[1:20]) // hex and decimal
	}
	secrets = append(secrets, bob.id.SigningKey().D.Text(10)[:16])
	var logged bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logged, nil))
	for _, v := range []any{bob.id, bob.spk, bob.otks[0], *bob.id, *bob.spk, *bob.otks[0]} {
		logger.Info("x", "v", v)
		out := fmt.Sprintf("%v %+v %#v %s %x %X %q", v, v, v, v, v, v, v) + logged.String()
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("%T: no REDACTED marker in %q", v, out)
		}
		for _, s := range secrets {
			if strings.Contains(strings.ToLower(out), s) {
				t.Errorf("%T leaks a secret: %q", v, out)
			}
		}
	}
}
