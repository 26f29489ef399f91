package epoch

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
)

// TestOpenTrackedAhead: messages opened ahead from a cursor of the chain are applied in
// order with the state OpenTracked reaches; a result that does not fit the chain (another
// iteration or chain key, another epoch) is ignored and the message opened as without
// it; a bad signature is refused even with a result; a wrong iteration or a tampered
// message is not opened ahead.
func TestOpenTrackedAhead(t *testing.T) {
	ep := testEpoch("a")
	inst := Installation{7}
	key := testKey(t, "sender")
	pub := crypto.FromECDSAPub(&key.PublicKey)
	s := NewSenderChain(&ep, inst)
	var msgs [][]byte
	for i := range 5 {
		m, err := s.Seal(key, []byte{byte('a' + i)})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	plain, ahead := NewReceiverChain(&ep, inst), NewReceiverChain(&ep, inst)
	cur, next := ahead.Cursor()
	if next != 0 {
		t.Fatalf("cursor of a new chain at %d", next)
	}
	var opened []*Opened
	for i, m := range msgs {
		o, err := OpenAhead(ep.ID, uint32(i), &cur, m)
		if err != nil {
			t.Fatalf("open ahead %d: %v", i, err)
		}
		if o.Before != cur {
			t.Fatal("opened ahead: wrong chain key before")
		}
		_, cur = ChainStep(&cur)
		if o.After != cur || string(o.Plaintext) != string(rune('a'+i)) {
			t.Fatalf("opened ahead %d: %q", i, o.Plaintext)
		}
		opened = append(opened, o)
	}
	if _, err := OpenAhead(ep.ID, 2, &opened[1].Before, msgs[1]); !errors.Is(err, ErrMismatch) {
		t.Fatalf("opened ahead as another iteration: %v", err)
	}
	tampered := bytes.Clone(msgs[1])
	tampered[HeaderSize+2] ^= 1
	if _, err := OpenAhead(ep.ID, 1, &opened[1].Before, tampered); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("tampered message opened ahead: %v", err)
	}
	other := *opened[1]
	other.Epoch = testID("other")

	apply := func(i int, o *Opened) {
		t.Helper()
		want, wch, werr := plain.OpenTracked(crypto.VerifySignature, pub, msgs[i])
		got, gch, gerr := ahead.OpenTrackedAhead(crypto.VerifySignature, pub, msgs[i], o)
		if werr != nil || gerr != nil || !bytes.Equal(want, got) || len(wch.Added) != len(gch.Added) || wch.Used != gch.Used {
			t.Fatalf("message %d: %q %v %+v, opened ahead %q %v %+v", i, want, werr, wch, got, gerr, gch)
		}
		a, _ := plain.MarshalBinary()
		b, _ := ahead.MarshalBinary()
		if !bytes.Equal(a, b) {
			t.Fatalf("message %d: chains differ", i)
		}
	}
	apply(0, opened[0])
	apply(1, &other)    // another epoch: ignored
	apply(3, opened[2]) // the result of another iteration: ignored (3 opened, 2 skipped)
	apply(2, opened[2]) // a skipped iteration: its key is in the chain already
	apply(4, opened[4]) // in order again
	// A bad signature is refused with a result that fits.
	r := NewReceiverChain(&ep, inst)
	bad := bytes.Clone(msgs[0])
	bad[len(bad)-1] ^= 1
	if _, _, err := r.OpenTrackedAhead(crypto.VerifySignature, pub, bad, opened[0]); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("bad signature with a result opened ahead: %v", err)
	}
	if c, n := r.Cursor(); n != 0 || c != opened[0].Before {
		t.Fatal("the chain moved on a refused message")
	}
}
