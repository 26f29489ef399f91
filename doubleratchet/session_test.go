package doubleratchet

import (
	"bytes"
	"crypto/ecdh"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
)

func TestConversation(t *testing.T) {
	alice, bob := newPair(t, "conv")
	ra, rb := testRand("a"), testRand("b")
	if _, err := bob.Encrypt([]byte("x"), testAD); !errors.Is(err, ErrNoSendingChain) {
		t.Fatalf("responder encrypt before receive: %v", err)
	}
	for round := range 5 {
		for i := range round + 1 {
			m := mustEncrypt(t, alice, fmt.Sprintf("a%d.%d", round, i))
			if len(m) != Overhead+len(fmt.Sprintf("a%d.%d", round, i)) {
				t.Fatalf("message size %d", len(m))
			}
			mustDecrypt(t, bob, rb, m, fmt.Sprintf("a%d.%d", round, i))
		}
		for i := range 2 {
			m := mustEncrypt(t, bob, fmt.Sprintf("b%d.%d", round, i))
			mustDecrypt(t, alice, ra, m, fmt.Sprintf("b%d.%d", round, i))
		}
	}
	if alice.skipped.len() != 0 || bob.skipped.len() != 0 {
		t.Fatal("in-order conversation left skipped keys")
	}
	// Empty plaintext and nil associated data are fine.
	m, err := alice.Encrypt(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := bob.Decrypt(rb, m, nil); err != nil || len(pt) != 0 {
		t.Fatalf("empty message: %q %v", pt, err)
	}
}

func TestHeaderFields(t *testing.T) {
	alice, bob := newPair(t, "hdr")
	a0 := mustEncrypt(t, alice, "a0")
	a1 := mustEncrypt(t, alice, "a1")
	h, _, err := parseMessage(a1)
	if err != nil || h.dh != alice.dhsPub || h.pn != 0 || h.n != 1 || a1[0] != Version {
		t.Fatalf("header %+v %v", h, err)
	}
	mustDecrypt(t, bob, testRand("b"), a0, "a0")
	mustDecrypt(t, bob, testRand("b"), a1, "a1")
	b0 := mustEncrypt(t, bob, "b0")
	mustDecrypt(t, alice, testRand("a"), b0, "b0")
	a2 := mustEncrypt(t, alice, "a2")
	h, _, _ = parseMessage(a2)
	if h.pn != 2 || h.n != 0 || h.dh != alice.dhsPub {
		t.Fatalf("after a turn: %+v", h)
	}
}

func TestOutOfOrder(t *testing.T) {
	alice, bob := newPair(t, "ooo")
	ra, rb := testRand("a"), testRand("b")
	a := make([][]byte, 5)
	for i := range a {
		a[i] = mustEncrypt(t, alice, fmt.Sprint("a", i))
	}
	mustDecrypt(t, bob, rb, a[3], "a3")
	if bob.skipped.len() != 3 {
		t.Fatalf("%d skipped keys, want 3", bob.skipped.len())
	}
	mustDecrypt(t, bob, rb, a[0], "a0")
	b0 := mustEncrypt(t, bob, "b0")
	mustDecrypt(t, alice, ra, b0, "b0")
	// Alice turns; a message of her new chain arrives before the rest of the old one.
	a5 := mustEncrypt(t, alice, "a5")
	mustDecrypt(t, bob, rb, a5, "a5")
	if bob.skipped.len() != 3 { // a1, a2 and a4
		t.Fatalf("%d skipped keys, want 3", bob.skipped.len())
	}
	mustDecrypt(t, bob, rb, a[4], "a4")
	mustDecrypt(t, bob, rb, a[2], "a2")
	mustDecrypt(t, bob, rb, a[1], "a1")
	if bob.skipped.len() != 0 {
		t.Fatal("skipped keys left")
	}
}

func TestReplay(t *testing.T) {
	alice, bob := newPair(t, "replay")
	ra, rb := testRand("a"), testRand("b")
	a0 := mustEncrypt(t, alice, "a0")
	a1 := mustEncrypt(t, alice, "a1")
	a2 := mustEncrypt(t, alice, "a2")
	mustDecrypt(t, bob, rb, a0, "a0")
	expectFailure(t, bob, rb, a0, testAD, ErrReplay) // current chain
	mustDecrypt(t, bob, rb, a2, "a2")
	mustDecrypt(t, bob, rb, a1, "a1")
	expectFailure(t, bob, rb, a1, testAD, ErrReplay) // used skipped key
	b0 := mustEncrypt(t, bob, "b0")
	mustDecrypt(t, alice, ra, b0, "b0")
	expectFailure(t, alice, ra, b0, testAD, ErrReplay)
	a3 := mustEncrypt(t, alice, "a3")
	mustDecrypt(t, bob, rb, a3, "a3")
	expectFailure(t, bob, rb, a0, testAD, ErrReplay) // previous chain
	expectFailure(t, bob, rb, a3, testAD, ErrReplay)
	// A message of a previous chain past its announced length is refused too.
	forged := bytes.Clone(a2)
	forged[40] = 9
	expectFailure(t, bob, rb, forged, testAD, ErrReplay)
}

func TestTooFarAhead(t *testing.T) {
	t.Run("current chain", func(t *testing.T) {
		alice, bob := newPair(t, "far")
		rb := testRand("b")
		mustDecrypt(t, bob, rb, mustEncrypt(t, alice, "first"), "first")
		for range MaxSkip {
			mustEncrypt(t, alice, "skipped")
		}
		exact := mustEncrypt(t, alice, "exactly MaxSkip ahead")
		tooFar := mustEncrypt(t, alice, "too far")
		expectFailure(t, bob, rb, tooFar, testAD, ErrTooFarAhead)
		mustDecrypt(t, bob, rb, exact, "exactly MaxSkip ahead")
		if bob.skipped.len() != MaxSkip {
			t.Fatalf("%d skipped keys", bob.skipped.len())
		}
		mustDecrypt(t, bob, rb, tooFar, "too far") // now only 0 ahead
	})
	t.Run("new chain", func(t *testing.T) {
		alice, bob := newPair(t, "far2")
		for range MaxSkip + 1 {
			mustEncrypt(t, alice, "skipped")
		}
		tooFar := mustEncrypt(t, alice, "too far")
		expectFailure(t, bob, testRand("b"), tooFar, testAD, ErrTooFarAhead)
	})
	t.Run("previous chain", func(t *testing.T) {
		for _, lost := range []int{MaxSkip, MaxSkip + 1} {
			alice, bob := newPair(t, "far3")
			ra, rb := testRand("a"), testRand("b")
			mustDecrypt(t, bob, rb, mustEncrypt(t, alice, "a0"), "a0")
			mustDecrypt(t, alice, ra, mustEncrypt(t, bob, "b0"), "b0") // Alice's Nr = 1
			for range lost {
				mustEncrypt(t, bob, "lost")
			}
			mustDecrypt(t, bob, rb, mustEncrypt(t, alice, "a1"), "a1") // Bob turns: PN = lost+1
			next := mustEncrypt(t, bob, "b-new-chain")
			if lost == MaxSkip {
				mustDecrypt(t, alice, ra, next, "b-new-chain")
				if alice.skipped.len() != MaxSkip {
					t.Fatalf("%d skipped", alice.skipped.len())
				}
			} else {
				expectFailure(t, alice, ra, next, testAD, ErrTooFarAhead)
			}
		}
	})
	t.Run("last counter", func(t *testing.T) {
		alice, bob := newPair(t, "far4")
		m := mustEncrypt(t, alice, "x")
		m[37], m[38], m[39], m[40] = 0xff, 0xff, 0xff, 0xff
		expectFailure(t, bob, testRand("b"), m, testAD, ErrTooFarAhead)
	})
}

// TestTamper flips every bit of a message (header and ciphertext) and of the
// associated data, for a message in the current chain and one that starts a
// new chain: every flip fails and leaves the state byte-identical.
func TestTamper(t *testing.T) {
	alice, bob := newPair(t, "tamper")
	rb := testRand("b")
	first := mustEncrypt(t, alice, "first message of a new chain")
	mustDecrypt(t, bob, rb, mustEncrypt(t, alice, "x"), "x") // out of order: first is a skipped key
	mustDecrypt(t, bob, rb, first, "first message of a new chain")
	alice2, bob2 := newPair(t, "tamper2")
	newChain := mustEncrypt(t, alice2, "starts a chain")
	mustDecrypt(t, bob, rb, mustEncrypt(t, alice, "y"), "y")
	current := mustEncrypt(t, alice, "current chain")
	for _, c := range []struct {
		name string
		s    *Session
		msg  []byte
	}{{"current chain", bob, current}, {"new chain", bob2, newChain}} {
		for i := range len(c.msg) * 8 {
			m := bytes.Clone(c.msg)
			m[i/8] ^= 1 << (i % 8)
			expectFailure(t, c.s, rb, m, testAD, nil)
		}
		for i := range len(testAD) * 8 {
			ad := bytes.Clone(testAD)
			ad[i/8] ^= 1 << (i % 8)
			expectFailure(t, c.s, rb, c.msg, ad, ErrDecrypt)
		}
		for _, ad := range [][]byte{nil, testAD[:161], append(bytes.Clone(testAD), 0)} {
			expectFailure(t, c.s, rb, c.msg, ad, ErrDecrypt)
		}
		for n := range Overhead {
			expectFailure(t, c.s, rb, c.msg[:n], testAD, ErrMalformed)
		}
		expectFailure(t, c.s, rb, c.msg[:len(c.msg)-1], testAD, ErrDecrypt)
		expectFailure(t, c.s, rb, append(bytes.Clone(c.msg), 0), testAD, ErrDecrypt)
	}
	// Untouched, both still decrypt.
	mustDecrypt(t, bob, rb, current, "current chain")
	mustDecrypt(t, bob2, rb, newChain, "starts a chain")
}

func TestInvalidRatchetKeys(t *testing.T) {
	alice, bob := newPair(t, "keys")
	m := mustEncrypt(t, alice, "m")
	var p [32]byte // 2^255-19
	p[0] = 0xed
	for i := 1; i < 31; i++ {
		p[i] = 0xff
	}
	p[31] = 0x7f
	for _, k := range [][32]byte{{}, {1}, p, {9, 31: 0x80}} {
		forged := bytes.Clone(m)
		copy(forged[1:33], k[:])
		want := ErrDecrypt
		if !canonicalX25519(&k) {
			want = ErrMalformed
		}
		expectFailure(t, bob, testRand("b"), forged, testAD, want)
		if _, err := NewInitiator(testRand("x"), [32]byte{}, k); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("NewInitiator(%x): %v", k, err)
		}
	}
	bad := bytes.Clone(m)
	bad[0] = 2
	expectFailure(t, bob, testRand("b"), bad, testAD, ErrVersion)
	if _, err := NewResponder([32]byte{}, nil); !errors.Is(err, ErrInvalidKey) {
		t.Error("nil responder key")
	}
	p256, err := ecdh.P256().NewPrivateKey(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewResponder([32]byte{}, p256); !errors.Is(err, ErrInvalidKey) {
		t.Error("P-256 responder key")
	}
}

func TestRandomness(t *testing.T) {
	if _, err := NewInitiator(io.LimitReader(testRand("r"), 31), [32]byte{}, [32]byte{9}); err == nil {
		t.Fatal("NewInitiator with short rand")
	}
	alice, bob := newPair(t, "rand")
	m := mustEncrypt(t, alice, "m")
	// The turn needs randomness only after authentication; failing there
	// changes nothing and the message can be retried.
	expectFailure(t, bob, io.LimitReader(testRand("r"), 31), m, testAD, nil)
	expectFailure(t, bob, nil, m, testAD, nil)
	// A forged message consumes no randomness.
	var counting countingReader
	forged := bytes.Clone(m)
	forged[len(forged)-1] ^= 1
	expectFailure(t, bob, &counting, forged, testAD, ErrDecrypt)
	if counting.n != 0 {
		t.Fatal("randomness read for an unauthenticated message")
	}
	mustDecrypt(t, bob, &counting, m, "m")
	if counting.n != 32 {
		t.Fatalf("turn read %d bytes, want 32", counting.n)
	}
	// No turn, no randomness.
	mustDecrypt(t, bob, nil, mustEncrypt(t, alice, "m2"), "m2")
}

type countingReader struct{ n int }

func (c *countingReader) Read(p []byte) (int, error) {
	c.n += len(p)
	for i := range p {
		p[i] = byte(c.n + i)
	}
	return len(p), nil
}

func TestChainExhausted(t *testing.T) {
	alice, _ := newPair(t, "exhaust")
	alice.ns = math.MaxUint32 - 1
	m := mustEncrypt(t, alice, "last")
	if h, _, _ := parseMessage(m); h.n != math.MaxUint32-1 {
		t.Fatalf("n = %d", h.n)
	}
	if _, err := alice.Encrypt([]byte("one too many"), testAD); !errors.Is(err, ErrChainExhausted) {
		t.Fatalf("%v", err)
	}
}

// TestEviction fills the skipped-key store beyond MaxSkipTotal and checks
// that the oldest keys go first.
func TestEviction(t *testing.T) {
	alice, bob := newPair(t, "evict")
	ra, rb := testRand("a"), testRand("b")
	var firstChain [][]byte
	for i := range MaxSkip + 1 {
		firstChain = append(firstChain, mustEncrypt(t, alice, fmt.Sprint("c1.", i)))
	}
	mustDecrypt(t, bob, rb, firstChain[MaxSkip], fmt.Sprint("c1.", MaxSkip)) // skips 1000
	mustDecrypt(t, alice, ra, mustEncrypt(t, bob, "b"), "b")
	var second [][]byte
	for i := range MaxSkip + 1 {
		second = append(second, mustEncrypt(t, alice, fmt.Sprint("c2.", i)))
	}
	mustDecrypt(t, bob, rb, second[MaxSkip], fmt.Sprint("c2.", MaxSkip)) // 2000 stored
	if bob.skipped.len() != MaxSkipTotal {
		t.Fatalf("%d stored", bob.skipped.len())
	}
	mustDecrypt(t, alice, ra, mustEncrypt(t, bob, "b2"), "b2")
	third := mustEncrypt(t, alice, "c3.0")
	for range 9 {
		third = mustEncrypt(t, alice, "c3.x")
	}
	mustDecrypt(t, bob, rb, third, "c3.x") // 9 more: the 9 oldest go
	if bob.skipped.len() != MaxSkipTotal {
		t.Fatalf("%d stored", bob.skipped.len())
	}
	for i := range 9 {
		expectFailure(t, bob, rb, firstChain[i], testAD, ErrReplay)
	}
	mustDecrypt(t, bob, rb, firstChain[9], "c1.9")
	mustDecrypt(t, bob, rb, second[0], "c2.0")
	// Restored sessions keep the same order.
	restored := new(Session)
	if err := restored.UnmarshalBinary(stateBytes(t, bob)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stateBytes(t, restored), stateBytes(t, bob)) {
		t.Fatal("round trip differs")
	}
}

func TestRedaction(t *testing.T) {
	alice, bob := newPair(t, "redact")
	mustDecrypt(t, bob, testRand("b"), mustEncrypt(t, alice, "m"), "m")
	mustEncrypt(t, alice, "skipped")
	mustDecrypt(t, bob, testRand("b"), mustEncrypt(t, alice, "m"), "m")
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("s", "session", bob)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("s", "session", bob)
	value := any(*bob) // a dereferenced session prints redacted too
	slog.New(slog.NewTextHandler(&logged, nil)).Info("s", "session", value)
	out := fmt.Sprintf("%v %+v %#v %s %x %q", bob, bob, bob, bob, bob, bob) + logged.String() +
		fmt.Sprintf("%v %+v %#v %s %x %q", value, value, value, value, value, value)
	if !strings.Contains(out, "REDACTED") {
		t.Fatalf("no REDACTED in %q", out)
	}
	var secrets [][]byte
	secrets = append(secrets, bob.rk[:], bob.cks[:], bob.ckr[:], bob.dhsPriv[:], bob.dhr[:], bob.dhsPub[:])
	bob.skipped.each(func(_ skippedID, mk *[32]byte) { secrets = append(secrets, mk[:]) })
	for _, s := range secrets {
		if strings.Contains(out, fmt.Sprintf("%x", s)) || strings.Contains(out, fmt.Sprint(s)) {
			t.Fatalf("key material in %q", out)
		}
	}
}

func TestClone(t *testing.T) {
	alice, bob := newPair(t, "clone")
	rb := testRand("b")
	m0 := mustEncrypt(t, alice, "m0")
	m1 := mustEncrypt(t, alice, "m1")
	mustDecrypt(t, bob, rb, m1, "m1")
	c := bob.Clone()
	if !bytes.Equal(stateBytes(t, c), stateBytes(t, bob)) {
		t.Fatal("clone differs")
	}
	mustDecrypt(t, c, rb, m0, "m0")
	mustDecrypt(t, bob, rb, m0, "m0") // the original still has the skipped key
	mustDecrypt(t, c, rb, mustEncrypt(t, alice, "m2"), "m2")
	if bob.nr == c.nr {
		t.Fatal("clone shares state")
	}
}

// TestSkipSending: skipped message numbers are never sealed, the peer opens the next
// message (storing the skipped keys) and later ones, and the skip is bounded by MaxSkip.
func TestSkipSending(t *testing.T) {
	alice, bob := newPair(t, "skip sending")
	r := testRand("skip sending rand")
	mustDecrypt(t, bob, r, mustEncrypt(t, alice, "m0"), "m0")
	if _, _, ok := bob.SendingChain(); !ok {
		t.Fatal("bob has no sending chain after a DH turn")
	}
	pub, n, ok := alice.SendingChain()
	if !ok || n != 1 {
		t.Fatalf("SendingChain = %x, %d, %v", pub[:4], n, ok)
	}
	if err := alice.SkipSending(11); err != nil {
		t.Fatal(err)
	}
	if err := alice.SkipSending(5); err != nil {
		t.Fatal(err)
	}
	if _, n, _ := alice.SendingChain(); n != 11 {
		t.Fatalf("next %d after skipping to 11", n)
	}
	msg := mustEncrypt(t, alice, "m11")
	if got := binary.BigEndian.Uint32(msg[37:41]); got != 11 {
		t.Fatalf("message number %d", got)
	}
	mustDecrypt(t, bob, r, msg, "m11")
	mustDecrypt(t, bob, r, mustEncrypt(t, alice, "m12"), "m12")
	if err := alice.SkipSending(13 + MaxSkip + 1); !errors.Is(err, ErrTooFarAhead) {
		t.Fatalf("long skip: %v", err)
	}
	_, resp := newPair(t, "responder")
	if err := resp.SkipSending(3); !errors.Is(err, ErrNoSendingChain) {
		t.Fatalf("skip without a sending chain: %v", err)
	}
}
