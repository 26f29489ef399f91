// Command devices writes the conformance vectors of Chorus multi-device (spec/README.md,
// ## protocol, "Multi-device") to DIR/devices.json: link topics, link code encodings and
// device-list merges (the 2P-set union and the card kept). Values are computed here from
// the spec's formulas, independently of package protocol. Output is byte-deterministic:
// inputs come from a SHA-256 counter stream with a fixed seed; ECDSA signatures are
// deterministic (RFC 6979).
package main

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/crypto/cryptobyte"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/topics"
)

type stream struct {
	seed []byte
	ctr  uint64
	buf  []byte
}

func (s *stream) bytes(n int) []byte {
	for len(s.buf) < n {
		var c [8]byte
		binary.BigEndian.PutUint64(c[:], s.ctr)
		s.ctr++
		h := sha256.Sum256(append(append([]byte{}, s.seed...), c[:]...))
		s.buf = append(s.buf, h[:]...)
	}
	out := s.buf[:n:n]
	s.buf = s.buf[n:]
	return out
}

// Entry is one installation of an expected merged device list.
type Entry struct {
	ID      string `json:"id"`
	Revoked bool   `json:"revoked"`
}

// Case is one vector; Kind selects the function under test.
type Case struct {
	Name     string   `json:"name"`
	Expect   string   `json:"expect"`
	Kind     string   `json:"kind"`
	Secret   string   `json:"secret,omitempty"`
	Topic    string   `json:"topic,omitempty"`
	Platform string   `json:"platform,omitempty"`
	Bundle   string   `json:"bundle,omitempty"`
	Code     string   `json:"code,omitempty"`
	Cards    []string `json:"cards,omitempty"`
	Union    []Entry  `json:"union,omitempty"`
	Kept     int      `json:"kept"`
}

type file struct {
	Description string `json:"description"`
	Cases       []Case `json:"cases"`
}

func h(b []byte) string { return hex.EncodeToString(b) }

func linkTopic(secret []byte) string {
	seed, err := hkdf.Key(sha256.New, secret, nil, "chorus/v1/protocol/link-topic", 32)
	if err != nil {
		panic(err)
	}
	return topics.InboxTopic(seed)
}

// bindingDigest is what an installation signs to bind itself to an account.
func bindingDigest(account []byte, e *devicelist.Entry) [32]byte {
	var b cryptobyte.Builder
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte("chorus/v1/protocol/installation-binding")) })
	b.AddBytes(account)
	b.AddBytes(e.ID[:])
	b.AddBytes(e.DH[:])
	b.AddBytes(e.Signing[:])
	return sha256.Sum256(b.BytesOrPanic())
}

func cardDigest(signed []byte) [32]byte {
	var b cryptobyte.Builder
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte("chorus/v1/protocol/card")) })
	b.AddUint32(uint32(len(signed)))
	b.AddBytes(signed)
	return sha256.Sum256(b.BytesOrPanic())
}

func main() {
	out := flag.String("out", "spec/vectors", "output directory")
	flag.Parse()
	s := &stream{seed: []byte("chorus/v1/vectors/devices")}
	var cases []Case
	for i := range 3 {
		secret := s.bytes(16)
		cases = append(cases, Case{Name: fmt.Sprintf("link topic %d", i), Expect: "success", Kind: "link_topic", Secret: h(secret),
			Topic: linkTopic(secret)})
	}
	{
		secret, bundle := s.bytes(16), s.bytes(50)
		var lc wire.LinkCode
		copy(lc.Secret[:], secret)
		lc.Platform, lc.Bundle = "linux", bundle
		raw, err := lc.Marshal()
		if err != nil {
			panic(err)
		}
		// version || secret || u8<platform> || u16<bundle>, written out by hand as a check
		manual := append(append([]byte{1}, secret...), byte(len("linux")))
		manual = append(append(manual, "linux"...), byte(len(bundle)>>8), byte(len(bundle)))
		manual = append(manual, bundle...)
		if !bytes.Equal(raw, manual) {
			panic("link code encoding")
		}
		cases = append(cases, Case{Name: "link code", Expect: "success", Kind: "link_code", Secret: h(secret), Platform: "linux",
			Bundle: h(bundle), Code: "chorus-link1:" + base64.RawURLEncoding.EncodeToString(raw)})
	}
	// Device-list merges.
	key, err := crypto.ToECDSA(s.bytes(32))
	if err != nil {
		panic(err)
	}
	// Installations with real signing keys; each entry carries its binding to the account
	// (entry 6: a binding to another account, copied; entry 7: none). Neither of the last
	// two is ever bound, so neither joins the union.
	accountPub := crypto.FromECDSAPub(&key.PublicKey)
	other, err := crypto.ToECDSA(s.bytes(32))
	if err != nil {
		panic(err)
	}
	var ids []devicelist.Entry
	for i := range 8 {
		var e devicelist.Entry
		copy(e.ID[:], s.bytes(16))
		copy(e.DH[:], s.bytes(32))
		ik, err := crypto.ToECDSA(s.bytes(32))
		if err != nil {
			panic(err)
		}
		copy(e.Signing[:], crypto.CompressPubkey(&ik.PublicKey))
		to := accountPub
		if i == 6 {
			to = crypto.FromECDSAPub(&other.PublicKey)
		}
		d := bindingDigest(to, &e)
		sig, err := crypto.Sign(d[:], ik)
		if err != nil {
			panic(err)
		}
		if i != 7 {
			e.Binding = sig[:64]
		}
		ids = append(ids, e)
	}
	unbound := func(id [16]byte) bool { return id == ids[6].ID || id == ids[7].ID }
	ent := func(i int, revoked bool) devicelist.Entry {
		e := ids[i]
		e.Revoked = revoked
		return e
	}
	sign := func(clock uint64, entries ...devicelist.Entry) ([]byte, []byte) {
		c := &devicelist.List{Clock: clock, Entries: entries}
		copy(c.Account[:], crypto.FromECDSAPub(&key.PublicKey))
		signed, err := c.SignedPart()
		if err != nil {
			panic(err)
		}
		d := cardDigest(signed)
		sig, err := crypto.Sign(d[:], key)
		if err != nil {
			panic(err)
		}
		copy(c.Signature[:], sig[:64])
		b, err := c.Marshal()
		if err != nil {
			panic(err)
		}
		return b, signed
	}
	type spec struct {
		name  string
		cards [][]devicelist.Entry
		clock []uint64
	}
	merges := []spec{
		{"linear history", [][]devicelist.Entry{{ent(0, false)}, {ent(0, false), ent(1, false)}, {ent(0, false), ent(1, true)}},
			[]uint64{1, 2, 3}},
		{"concurrent holders at one clock", [][]devicelist.Entry{{ent(0, false), ent(1, false)},
			{ent(0, false), ent(1, false), ent(2, false)}, {ent(0, false), ent(1, true), ent(3, false)}}, []uint64{2, 3, 3}},
		{"lower clock still revokes; never re-added", [][]devicelist.Entry{{ent(0, false), ent(4, false), ent(5, false)},
			{ent(0, false), ent(5, true)}, {ent(4, false), ent(5, false)}}, []uint64{7, 2, 9}},
		{"entries without a valid binding are ignored", [][]devicelist.Entry{{ent(0, false), ent(6, false)},
			{ent(0, false), ent(1, false), ent(7, false)}, {ent(0, false), ent(6, true), ent(7, true)}}, []uint64{1, 2, 3}},
	}
	for _, m := range merges {
		c := Case{Name: "merge: " + m.name, Expect: "success", Kind: "device_list_merge"}
		union := map[[16]byte]bool{}
		var order [][16]byte
		var best []byte
		var bestClock uint64
		for i, entries := range m.cards {
			raw, signed := sign(m.clock[i], entries...)
			c.Cards = append(c.Cards, h(raw))
			d := sha256.Sum256(signed)
			if best == nil || m.clock[i] > bestClock || (m.clock[i] == bestClock && bytes.Compare(d[:], best) > 0) {
				best, bestClock, c.Kept = d[:], m.clock[i], i
			}
			for _, e := range entries {
				if unbound(e.ID) {
					continue
				}
				if _, ok := union[e.ID]; !ok {
					order = append(order, e.ID)
				}
				union[e.ID] = union[e.ID] || e.Revoked
			}
		}
		for _, id := range order {
			c.Union = append(c.Union, Entry{ID: h(id[:]), Revoked: union[id]})
		}
		cases = append(cases, c)
	}
	f := file{Description: "Chorus multi-device: link topic = inbox partition of HKDF(pairing secret, \"chorus/v1/protocol/link-topic\", 32); " +
		"link code encoding; device-list merge = union of the entries bound by a valid installation binding, revoked if revoked in any list, card kept = highest clock " +
		"(ties: larger SHA-256 of the signed part). Apply the cards of a merge case in any order.", Cases: cases}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(*out, "devices.json"), append(b, '\n'), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
