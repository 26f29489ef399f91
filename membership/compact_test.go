package membership_test

import (
	"bytes"
	"crypto/rand"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/protobuf/encoding/protowire"

	m "github.com/chorus-im/chorus/membership"
)

// TestCompactPayloadVectors: every event of the status-go sample, the extra status cases
// and the chorus vectors whose payload takes the compact form (member entries as 65-byte
// keys) gives back its payload byte for byte, and the ids its payload lists; every event
// whose ids are all in PublicKeyString's form takes it (the two that do not list "0xzz" and
// an upper-case key).
func TestCompactPayloadVectors(t *testing.T) {
	compact, members := 0, 0
	for _, s := range fuzzSeeds(t) {
		msg, err := m.ParseMessage(s)
		if err != nil {
			continue
		}
		for _, ev := range msg.Events {
			again, n, ids, ok := m.CompactPayload(ev.Payload())
			if ev.Members.Len() > 0 {
				members++
			}
			if !ok {
				if ev.Members.Len() > 0 && !slices.ContainsFunc(ev.Members.Strings(), func(id string) bool { return !canonicalID(id) }) {
					t.Fatalf("an event listing only canonical ids %q is not put in compact form", ev.Members)
				}
				continue
			}
			compact++
			if !bytes.Equal(again, ev.Payload()) {
				t.Fatalf("compact payload re-encodes to\n%x\nwant\n%x", again, ev.Payload())
			}
			if n != ev.Members.Len() || !slices.Equal(ids, ev.Members.Strings()) {
				t.Fatalf("compact payload lists %q, the event %q", ids, ev.Members)
			}
		}
	}
	t.Logf("%d of %d events with members in compact form", compact, members)
	if compact == 0 || compact*2 < members {
		t.Fatalf("%d of %d events with members in compact form: the vectors' lists are canonical", compact, members)
	}
}

// canonicalID reports whether id is in PublicKeyString's form: "0x" and 130 lowercase hex
// digits.
func canonicalID(id string) bool {
	if len(id) != m.PublicKeyStringLength || !strings.HasPrefix(id, "0x") {
		return false
	}
	return !strings.ContainsFunc(id[2:], func(r rune) bool { return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') })
}

// TestCompactPayloadLarge: a 1000-member MEMBERS_ADDED signed with a name and causal
// parents (fields before and after the members) takes the compact form, gives back its
// exact payload, and holds 65 bytes a member instead of the payload's 135.
func TestCompactPayloadLarge(t *testing.T) {
	const n = 1000
	members := make([]string, n)
	for i := range members {
		k, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		members[i] = m.PublicKeyString(&k.PublicKey)
	}
	admin, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	chatID, err := m.NewChatID(rand.Reader, &admin.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := m.SignEvent(admin, chatID, m.Event{Type: m.MembersAdded, Clock: 7, Members: m.MembersOf(members...), Name: "g",
		Parents: []m.EventID{{1}, {2}}, Version: m.RulesCausal})
	if err != nil {
		t.Fatal(err)
	}
	again, got, ids, ok := m.CompactPayload(ev.Payload())
	if !ok || got != n || !bytes.Equal(again, ev.Payload()) || !slices.Equal(ids, members) {
		t.Fatalf("compact form: ok %v, %d members, identical %v", ok, got, bytes.Equal(again, ev.Payload()))
	}
	if held := len(ev.Payload()) - got*(3+m.PublicKeyStringLength) + got*65; held*2 > len(ev.Payload()) {
		t.Errorf("compact form holds %d B for a %d B payload", held, len(ev.Payload()))
	}
}

// TestCompactPayloadDeclines: a payload whose members are not one run of canonical entries
// is not put in compact form (its exact bytes could not be given back).
func TestCompactPayloadDeclines(t *testing.T) {
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	id := m.PublicKeyString(&k.PublicKey)
	entry := func(s string) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), []byte(s))
	}
	name := protowire.AppendString(protowire.AppendTag(nil, 3, protowire.BytesType), "n")
	clock := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 5)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	if _, _, _, ok := m.CompactPayload(cat(clock, entry(id), entry(id), name)); !ok {
		t.Fatal("a canonical payload is declined")
	}
	nonMinimal := cat([]byte{0x12, 0x84, 0x81, 0x00}, []byte(id))
	for name, p := range map[string][]byte{
		"no members":         cat(clock, name),
		"upper-case digits":  cat(clock, entry("0x"+strings.ToUpper(id[2:]))),
		"0X prefix":          cat(clock, entry("0X"+id[2:])),
		"short key":          cat(clock, entry(id[:len(id)-2])),
		"fields between":     cat(clock, entry(id), name, entry(id)),
		"non-minimal length": cat(clock, nonMinimal),
		"truncated":          cat(clock, entry(id))[:40],
		"members as varint":  cat(clock, protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.VarintType), 1)),
	} {
		if _, _, _, ok := m.CompactPayload(p); ok {
			t.Errorf("%s: put in compact form", name)
		}
	}
}

// FuzzCompactPayload: a payload put in compact form re-encodes byte for byte.
func FuzzCompactPayload(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		if msg, err := m.ParseMessage(s); err == nil {
			for _, ev := range msg.Events {
				f.Add(ev.Payload())
			}
		}
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		if again, _, _, ok := m.CompactPayload(p); ok && !bytes.Equal(again, p) {
			t.Fatalf("re-encoding differs:\n%x\n%x", again, p)
		}
	})
}

// FuzzEventEntry: an event's entry (compact when it can be) gives the payload it was
// given, its signing digest, compares equal to it only and decodes to the fields the
// payload decodes to (a compact entry decodes its fields without the members and takes
// the members from its keys: a second decoder, checked against the first).
func FuzzEventEntry(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		if msg, err := m.ParseMessage(s); err == nil {
			for _, ev := range msg.Events {
				f.Add(ev.Payload())
			}
		}
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		if d := m.CheckEntry("chat", p); d != "" {
			t.Fatalf("%x: the entry differs: %s", p, d)
		}
	})
}
