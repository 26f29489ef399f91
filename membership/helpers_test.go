package membership_test

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/protobuf/proto"

	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/membership/pb"
)

// Test actors use the keys of the status-membership vectors:
// sha256("status-membership-vectors/v1/<name>").
var actorNames = []string{"alice", "bob", "carol", "dave", "eve", "frank"}

type testActor struct {
	name string
	key  *ecdsa.PrivateKey
	pub  string
}

var actors = func() map[string]*testActor {
	m := make(map[string]*testActor)
	for _, n := range actorNames {
		d := sha256.Sum256([]byte("status-membership-vectors/v1/" + n))
		k, err := crypto.ToECDSA(d[:])
		if err != nil {
			panic(err)
		}
		m[n] = &testActor{name: n, key: k, pub: membership.PublicKeyString(&k.PublicKey)}
	}
	return m
}()

// pubs maps actor names to key strings (other strings pass through).
func pubs(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		if a := actors[n]; a != nil {
			out[i] = a.pub
		} else {
			out[i] = n
		}
	}
	return out
}

// chatIDFor builds "<uuid>-<creator key>" with a UUID derived from label.
func chatIDFor(label, creator string) string {
	d := sha256.Sum256([]byte("statusvec-uuid/" + label))
	d[6] = d[6]&0x0f | 0x40
	d[8] = d[8]&0x3f | 0x80
	h := hex.EncodeToString(d[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32] + "-" + actors[creator].pub
}

func sign(t testing.TB, author, chatID string, ev membership.Event) membership.Event {
	t.Helper()
	out, err := membership.SignEvent(actors[author].key, chatID, ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// encodeRaw builds a MembershipUpdateMessage from raw entries as status-go's encoder does.
func encodeRaw(t testing.TB, chatID string, entries ...[]byte) []byte {
	t.Helper()
	b, err := proto.Marshal(&pb.MembershipUpdateMessage{ChatId: chatID, Events: entries})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// expand replaces {actor} with key strings and {chat} with chatID.
func expand(s, chatID string) string {
	for _, n := range actorNames {
		s = strings.ReplaceAll(s, "{"+n+"}", actors[n].pub)
	}
	return strings.ReplaceAll(s, "{chat}", chatID)
}

// names maps key strings back to actor names for readable failures.
func names(keys []string) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k
		for _, n := range actorNames {
			if actors[n].pub == k {
				out[i] = n
			}
		}
	}
	return fmt.Sprint(out)
}

func cryptoToECDSA(d []byte) (*ecdsa.PrivateKey, error) { return crypto.ToECDSA(d) }

// entryEvent returns the unverified event of entry raw (Signature || payload) with the
// decoded fields of f (as a caller may set them, rightly or not).
func entryEvent(raw []byte, f membership.Event) membership.Event {
	e := membership.EventFromEntry(raw)
	e.ChatID, e.Clock, e.Type, e.Members, e.Name, e.Color, e.Description, e.Image, e.From, e.Parents, e.Version =
		f.ChatID, f.Clock, f.Type, f.Members, f.Name, f.Color, f.Description, f.Image, f.From, f.Parents, f.Version
	return e
}
