package x3dh

import (
	"testing"

	"github.com/chorus-im/chorus/internal/floor"
)

func BenchmarkFloor(b *testing.B) { floor.Run(b) }

// BenchmarkX3DH is a full agreement with a one-time prekey: Initiate (bundle
// verification, ephemeral key, four DH) and Respond (four DH).
func BenchmarkX3DH(b *testing.B) {
	alice := newParty(b, "alice", 0)
	bob := newParty(b, "bob", 1)
	r := testRand("bench")
	b.ReportAllocs()
	for b.Loop() {
		s1, _, hdr, err := Initiate(r, alice.id, bob.bundle, testNow)
		if err != nil {
			b.Fatal(err)
		}
		s2, _, err := Respond(bob.id, bob.store, hdr, testNow)
		if err != nil || s1 != s2 {
			b.Fatal(err)
		}
	}
}

func BenchmarkInitiate(b *testing.B) {
	alice := newParty(b, "alice", 0)
	bob := newParty(b, "bob", 1)
	r := testRand("bench")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := Initiate(r, alice.id, bob.bundle, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRespond(b *testing.B) {
	alice := newParty(b, "alice", 0)
	bob := newParty(b, "bob", 1)
	_, _, hdr, err := Initiate(testRand("bench"), alice.id, bob.bundle, testNow)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Respond(bob.id, bob.store, hdr, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBundleVerify(b *testing.B) {
	bob := newParty(b, "bob", 1)
	b.ReportAllocs()
	for b.Loop() {
		if err := bob.bundle.Verify(testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseBundle(b *testing.B) {
	bob := newParty(b, "bob", 10)
	enc, err := bob.bundle.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseBundle(enc); err != nil {
			b.Fatal(err)
		}
	}
}
