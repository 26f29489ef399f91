package protocol

import (
	"reflect"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

// TestMessageReceivedDecodedUpdate: a membership message's content built from the update
// the key event's check decoded is what decoding the stored message gives — also when an
// entry of the update does not parse (the check's decoding leaves it out, the content's
// refuses the whole update) or the decoding is of another update.
func TestMessageReceivedDecodedUpdate(t *testing.T) {
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	const chat = "chat-0x01"
	ev, err := membership.SignEvent(key, chat, membership.Event{Type: membership.MemberRemoved, Clock: 5, Members: membership.MembersOf([]string{"0x04aa"}...)})
	if err != nil {
		t.Fatal(err)
	}
	good, err := (&membership.Message{ChatID: chat, Events: []membership.Event{ev}}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	bad := protowire.AppendBytes(protowire.AppendTag(append([]byte{}, good...), logFieldEvents, protowire.BytesType), []byte{1, 2, 3})
	other, err := (&membership.Message{ChatID: chat}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		update, pre []byte
		events      int
	}{
		{"same update", good, good, 1},
		{"an entry that does not parse", bad, bad, 0},
		{"another update", good, other, 1},
	} {
		body, err := (&wire.Membership{Update: tc.update}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		mr := &storage.MessageRecord{Type: uint8(wire.ContentMembership), Body: body, SenderAccount: "0x04bb", Clock: 9,
			Timestamp: time.UnixMilli(7), Status: StatusReceived}
		// The check's lenient decoding: the entries that parse (those of good).
		lenient := good
		if &tc.pre[0] == &other[0] {
			lenient = other
		}
		msg, err := membership.ParseMessage(lenient)
		if err != nil {
			t.Fatal(err)
		}
		got := messageReceived(mr, &updateMemo{update: tc.pre, msg: msg})
		want := messageFromRecord(mr)
		if !reflect.DeepEqual(got, want) || len(got.Content.Membership) != tc.events {
			t.Fatalf("%s: content %+v, want %+v (%d events)", tc.name, got.Content, want.Content, tc.events)
		}
	}
}
