package membership

import (
	"crypto/rand"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
)

// BenchmarkCompactPayload: what the compact form costs at 1000 members (issue 16's group):
// taking it from a parsed payload, giving the exact payload back (a Welcome or a resend of
// the log), and every member's id in PublicKeyString's form (hex at the API boundary).
func BenchmarkCompactPayload(b *testing.B) {
	const n = 1000
	members := make([]string, n)
	for i := range members {
		k, err := crypto.GenerateKey()
		if err != nil {
			b.Fatal(err)
		}
		members[i] = PublicKeyString(&k.PublicKey)
	}
	admin, err := crypto.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	chatID, err := NewChatID(rand.Reader, &admin.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	ev, err := SignEvent(admin, chatID, Event{Type: MembersAdded, Clock: 7, Members: MembersOf(members...)})
	if err != nil {
		b.Fatal(err)
	}
	c, ok := compactOf(ev.Payload())
	if !ok {
		b.Fatal("not compact")
	}
	b.Run("take", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			c, _ = compactOf(ev.Payload())
		}
	})
	b.Run("payload", func(b *testing.B) {
		buf := make([]byte, 0, c.size())
		b.ReportAllocs()
		for range b.N {
			buf = c.appendPayload(buf[:0])
		}
	})
	b.Run("ids", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			for i := range c.members() {
				_ = c.member(i)
			}
		}
	})
}
