package devicelist

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/spec"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// peer is what a peer holds of one foreign account, as the engine keeps it: the
// installations it knows (any account) and the list it keeps for the account, with every
// binding it holds attached.
type peer struct {
	known map[[16]byte]Installation
	kept  *List
}

// receive verifies and merges raw as the engine does for a contact's list.
func (p *peer) receive(t testing.TB, raw []byte) Delta {
	t.Helper()
	v, err := Verify(raw, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	merged, d := Merge(p.known, v)
	for _, in := range merged {
		p.known[in.ID] = in
	}
	if p.kept == nil || Compare(v.List, p.kept) >= 0 {
		cp := *v.List
		cp.Entries = slices.Clone(v.List.Entries)
		for i := range cp.Entries {
			e := &cp.Entries[i]
			if in, ok := p.known[e.ID]; ok && e.Binding == nil && in.Account == v.Account && in.DH == e.DH && in.Signing == e.Signing {
				e.Binding = in.Binding
			}
		}
		p.kept = &cp
	}
	return d
}

// TestDeviceListVectors walks the device-list merges of spec/vectors/devices.json without
// a store: the cards of each case applied in both orders give the union and the list kept.
func TestDeviceListVectors(t *testing.T) {
	raw, err := spec.Vectors.ReadFile("vectors/devices.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []struct {
			Name  string   `json:"name"`
			Kind  string   `json:"kind"`
			Cards []string `json:"cards"`
			Union []struct {
				ID      string `json:"id"`
				Revoked bool   `json:"revoked"`
			} `json:"union"`
			Kept int `json:"kept"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range f.Cases {
		if c.Kind != "device_list_merge" {
			continue // link topics and codes: package protocol
		}
		n++
		var lists [][]byte
		for _, s := range c.Cards {
			lists = append(lists, unhex(t, s))
		}
		rev := slices.Clone(lists)
		slices.Reverse(rev)
		for _, order := range [][][]byte{lists, rev} {
			p := &peer{known: map[[16]byte]Installation{}}
			for _, b := range order {
				p.receive(t, b)
			}
			if len(p.known) != len(c.Union) {
				t.Fatalf("%s: %d installations, want %d", c.Name, len(p.known), len(c.Union))
			}
			for _, e := range c.Union {
				in, ok := p.known[[16]byte(unhex(t, e.ID))]
				if !ok || in.Revoked != e.Revoked {
					t.Fatalf("%s: installation %s revoked=%v (known %v), want %v", c.Name, e.ID[:8], in.Revoked, ok, e.Revoked)
				}
			}
			want, err := Parse(lists[c.Kept])
			if err != nil {
				t.Fatal(err)
			}
			if Compare(p.kept, want) != 0 {
				t.Errorf("%s: kept another list than #%d", c.Name, c.Kept)
			}
			for _, e := range p.kept.Entries {
				if _, ok := p.known[e.ID]; ok != (e.Binding != nil) {
					t.Errorf("%s: kept list: installation %x in the union %v, binding %x", c.Name, e.ID[:4], ok, e.Binding)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no device-list vectors")
	}
}

// TestSignatureVectors walks the device-list signature and installation-binding cases of
// spec/vectors/protocol.json.
func TestSignatureVectors(t *testing.T) {
	raw, err := spec.Vectors.ReadFile("vectors/protocol.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []struct {
			Name       string `json:"name"`
			Kind       string `json:"kind"`
			Signed     string `json:"signed"`
			Digest     string `json:"digest"`
			AccountKey string `json:"account_private"`
			InstKey    string `json:"installation_private"`
			Signature  string `json:"signature"`
			List       string `json:"card"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range f.Cases {
		switch c.Kind {
		case "card_signature": // the device list's account signature
			n++
			d := digest(unhex(t, c.Signed))
			if hex.EncodeToString(d[:]) != c.Digest {
				t.Fatalf("%s: digest differs", c.Name)
			}
			k, err := crypto.ToECDSA(unhex(t, c.AccountKey))
			if err != nil {
				t.Fatal(err)
			}
			l, err := Parse(append(unhex(t, c.Signed), append(make([]byte, SignatureSize), 0, 0, 0, 0, 0, 0)...))
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Sign(k); err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(l.Signature[:]) != c.Signature {
				t.Fatalf("%s: signature differs", c.Name)
			}
			b, _ := l.Marshal()
			if _, err := Verify(b, time.Time{}); err != nil {
				t.Fatalf("%s: list does not verify: %v", c.Name, err)
			}
			b[10] ^= 1
			if _, err := Verify(b, time.Time{}); err == nil {
				t.Fatalf("%s: tampered list verifies", c.Name)
			}
		case "installation_binding":
			n++
			b := unhex(t, c.List)
			l, err := Parse(b)
			if err != nil || len(l.Entries) != 1 {
				t.Fatalf("%s: parse: %v", c.Name, err)
			}
			e := l.Entries[0]
			d := bindingDigest(l.Account[:], e.ID, e.DH, e.Signing)
			if hex.EncodeToString(d[:]) != c.Digest {
				t.Fatalf("%s: binding digest differs", c.Name)
			}
			k, err := crypto.ToECDSA(unhex(t, c.InstKey))
			if err != nil {
				t.Fatal(err)
			}
			if sig, _ := crypto.Sign(d[:], k); hex.EncodeToString(sig[:64]) != c.Signature || hex.EncodeToString(e.Binding) != c.Signature {
				t.Fatalf("%s: binding signature differs", c.Name)
			}
			if again, _ := l.Marshal(); !bytes.Equal(again, b) {
				t.Fatalf("%s: re-encoding differs", c.Name)
			}
			v, err := Verify(b, time.Time{})
			if err != nil || !v.Bound[e.ID] {
				t.Fatalf("%s: binding does not verify: %v", c.Name, err)
			}
			b[len(b)-5] ^= 1 // last byte of the binding: the list stays valid, the entry is not bound
			if v, err := Verify(b, time.Time{}); err != nil || v.Bound[e.ID] {
				t.Fatalf("%s: tampered binding: %v, bound %v", c.Name, err, err == nil && v.Bound[e.ID])
			}
		}
	}
	if n != 2 {
		t.Fatalf("%d signature vectors, want 2", n)
	}
}
