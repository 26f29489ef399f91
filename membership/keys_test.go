package membership_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	m "github.com/chorus-im/chorus/membership"
)

func TestKeysAndChatID(t *testing.T) {
	a := actors["alice"]
	if s := m.PublicKeyString(&a.key.PublicKey); len(s) != m.PublicKeyStringLength || !strings.HasPrefix(s, "0x04") {
		t.Fatalf("key string %q", s)
	}
	pub, err := m.ParsePublicKey(a.pub)
	if err != nil || pub.X.Cmp(a.key.X) != 0 || pub.Y.Cmp(a.key.Y) != 0 {
		t.Fatalf("parse: %v", err)
	}
	if _, err := m.ParsePublicKey("0X" + strings.ToUpper(a.pub[2:])); err != nil {
		t.Fatalf("status-go accepts upper case: %v", err)
	}
	for _, bad := range []string{"", "04ab", "0x", "0xzz", "0x04" + strings.Repeat("f", 128), "0x02" + a.pub[4:], a.pub + "00", "0x4"} {
		if _, err := m.ParsePublicKey(bad); !errors.Is(err, m.ErrInvalidPublicKey) {
			t.Errorf("ParsePublicKey(%.12q) = %v", bad, err)
		}
	}
	id, err := m.NewChatID(bytes.NewReader(bytes.Repeat([]byte{0xff}, 16)), &a.key.PublicKey)
	if err != nil || id != "ffffffff-ffff-4fff-bfff-ffffffffffff-"+a.pub {
		t.Fatalf("chat id %q %v", id, err)
	}
	if _, err := m.NewChatID(bytes.NewReader(nil), &a.key.PublicKey); err == nil {
		t.Fatal("chat id from an empty reader")
	}
	// A chat id made by NewChatID is valid under both rule sets.
	g := sign(t, "alice", id, m.Event{Type: m.ChatCreated, Clock: t0, Name: "G", Color: "#fa6565"})
	for _, r := range []m.Rules{m.StatusRules(), m.ChorusRules()} {
		if _, err := m.Derive(id, []m.Event{g}, r); err != nil {
			t.Fatalf("%s: %v", r.Name(), err)
		}
	}
}

func TestEventsAndMessages(t *testing.T) {
	chat := chatIDFor("events", "alice")
	if _, err := m.SignEvent(actors["alice"].key, "", m.Event{Type: m.ChatCreated}); !errors.Is(err, m.ErrEmptyChatID) {
		t.Fatalf("empty chat id: %v", err)
	}
	ev := sign(t, "alice", chat, m.Event{Type: m.DescriptionChanged, Clock: 5, Description: "about"})
	if ev.From != actors["alice"].pub || len(ev.Signature) != 65 || !bytes.Equal(ev.Raw(), append(append([]byte{}, ev.Signature...), ev.Payload()...)) {
		t.Fatal("signed event fields")
	}
	if m.DescriptionChanged.String() != "DESCRIPTION_CHANGED" || m.EventType(42).String() != "42" {
		t.Fatal("type names")
	}
	msg := &m.Message{ChatID: chat, Events: []m.Event{ev}, ChatMessage: []byte{}, EmojiReaction: []byte{}}
	if _, err := msg.MarshalBinary(); err == nil {
		t.Fatal("both chat entities encoded")
	}
	msg.EmojiReaction = nil
	b, err := msg.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.ParseMessage(b)
	if err != nil || p.ChatMessage == nil || len(p.ChatMessage) != 0 || p.Events[0].Description != "about" || p.Events[0].From != ev.From {
		t.Fatalf("round trip: %v %+v", err, p)
	}
	// A modified parsed message is re-encoded from its content.
	p.Events = append(p.Events, sign(t, "alice", chat, m.Event{Type: m.NameChanged, Clock: 6, Name: "x"}))
	b2, err := p.MarshalBinary()
	if err != nil || bytes.Equal(b2, b) {
		t.Fatal("modified message re-encoded as parsed")
	}
	if _, err := (&m.Message{ChatID: chat, Events: []m.Event{{Type: m.NameChanged}}}).MarshalBinary(); err == nil {
		t.Fatal("unsigned event encoded")
	}
	// Envelope round trip.
	w, id, err := m.WrapStatus(b, actors["bob"].key)
	if err != nil {
		t.Fatal(err)
	}
	payload, typ, signer, id2, err := m.UnwrapStatus(w)
	if err != nil || !bytes.Equal(payload, b) || typ != m.StatusMessageType || signer != actors["bob"].pub || id != id2 {
		t.Fatalf("unwrap: %v", err)
	}
	if _, _, _, _, err := m.UnwrapStatus([]byte{0xff}); !errors.Is(err, m.ErrMalformed) {
		t.Fatalf("unwrap garbage: %v", err)
	}
	// Rejections match their sentinels.
	_, err = m.ParseMessage([]byte{0xff})
	if !errors.Is(err, m.ErrMalformed) {
		t.Fatalf("garbage: %v", err)
	}
	short := encodeRaw(t, chat, make([]byte, 65))
	if _, err := m.ParseMessage(short); !errors.Is(err, m.ErrBadEvent) || !strings.Contains(err.Error(), "invalid payload length") {
		t.Fatalf("short entry: %v", err)
	}
}

// TestDeriveAppliesSignedPayload: an event counts for what its signed payload says, never
// for decoded fields that differ from it (a parsed event edited afterwards, or an event
// rebuilt by hand from a signature and a payload).
func TestDeriveAppliesSignedPayload(t *testing.T) {
	chat := chatIDFor("signed-payload", "alice")
	genesis := sign(t, "alice", chat, m.Event{Type: m.ChatCreated, Clock: t0, Name: "G", Color: "#fa6565"})
	rename := sign(t, "alice", chat, m.Event{Type: m.NameChanged, Clock: t0 + 1, Name: "x"})
	edited := rename // recovered author cached, decoded fields edited
	edited.Type, edited.Members, edited.Name = m.MembersAdded, m.MembersOf(pubs("eve")...), ""
	rebuilt := entryEvent(rename.Raw(), m.Event{ChatID: chat, Clock: t0 + 1, Type: m.MembersAdded, Members: m.MembersOf(pubs("eve")...)})
	garbled := entryEvent(append(slices.Clone(rename.Signature), 0xff), m.Event{ChatID: chat, Clock: t0 + 1, Type: m.MembersAdded, Members: m.MembersOf(pubs("eve")...)})
	for _, r := range []m.Rules{m.StatusRules(), m.ChorusRules()} {
		for name, ev := range map[string]m.Event{"edited": edited, "rebuilt": rebuilt} {
			st, err := m.Derive(chat, []m.Event{genesis, ev}, r)
			if err != nil {
				t.Fatalf("%s/%s: %v", r.Name(), name, err)
			}
			last := st.Events[len(st.Events)-1]
			if st.Name != "x" || names(st.Members.Strings()) != names(pubs("alice")) || last.Type != m.NameChanged || last.Members.Len() != 0 {
				t.Fatalf("%s/%s: applied the decoded fields: name %q members %s last %v", r.Name(), name, st.Name, names(st.Members.Strings()), last.Type)
			}
		}
		st, err := m.Derive(chat, []m.Event{genesis, garbled}, r)
		if err == nil && (st.IsMember(actors["eve"].pub) || len(st.Events) != 1) {
			t.Fatalf("%s: event with an undecodable payload applied", r.Name())
		}
	}
	// The caller's events are not modified.
	if edited.Type != m.MembersAdded || rebuilt.Type != m.MembersAdded {
		t.Fatal("Derive modified its input")
	}
}
