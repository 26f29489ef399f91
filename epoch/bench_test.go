package epoch

import (
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/chorus-im/chorus/doubleratchet"
	"github.com/chorus-im/chorus/internal/floor"
)

func BenchmarkFloor(b *testing.B) { floor.Run(b) }

// benchAD stands in for the x3dh associated data (two 33-byte identity keys and the
// installation ids) of a pairwise session; the slot AD appends 0x03 and the slot context.
var benchAD = make([]byte, 2*33+2*16)

func slotAD(ctx [32]byte) []byte {
	return append(append(append([]byte(nil), benchAD...), 0x03), ctx[:]...)
}

// drPair returns an established Double Ratchet session pair (the initiator has a sending
// chain; the responder's first decryption is a DH ratchet turn).
func drPair(tb testing.TB, r io.Reader) (author, recipient *doubleratchet.Session) {
	tb.Helper()
	var sk, spk [32]byte
	io.ReadFull(r, sk[:])
	io.ReadFull(r, spk[:])
	key, err := ecdh.X25519().NewPrivateKey(spk[:])
	if err != nil {
		tb.Fatal(err)
	}
	author, err = doubleratchet.NewInitiator(r, sk, [32]byte(key.PublicKey().Bytes()))
	if err != nil {
		tb.Fatal(err)
	}
	recipient, err = doubleratchet.NewResponder(sk, key)
	if err != nil {
		tb.Fatal(err)
	}
	return author, recipient
}

// rekey is what the rekeying installation does for one key event with n−1 recipients over
// established sessions: draw the seed, seal one slot per recipient, encode the block, and
// seal the publish under its previous epoch's outer key.
func rekey(tb testing.TB, rnd io.Reader, g ID, author Installation, prev Frontier, prevEpoch *Epoch,
	sessions []*doubleratchet.Session, recipients []Installation) (block []byte, payload []byte, seed Seed) {
	var nonce [NonceSize]byte
	io.ReadFull(rnd, nonce[:])
	io.ReadFull(rnd, seed[:])
	kb := NewRekey(g, author, nonce, prev)
	ad := slotAD(kb.Context(g))
	pt, _ := (&SlotPlaintext{Kind: SlotSeed, Seed: seed}).MarshalBinary()
	kb.Slots = make([]Slot, len(sessions))
	for i, s := range sessions {
		msg, err := s.Encrypt(pt, ad)
		if err != nil {
			tb.Fatal(err)
		}
		kb.Slots[i] = Slot{Hint: SlotHint(kb.Event, recipients[i]), Kind: SlotSession, Message: msg}
	}
	block, err := kb.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	frame := append(binary.BigEndian.AppendUint32([]byte{0x02, 0x01}, uint32(len(block))), block...) // version, flags: key block
	payload, err = SealOuter(rnd, prevEpoch, "/waku/2/chorus-bench/proto", frame)
	if err != nil {
		tb.Fatal(err)
	}
	return block, payload, seed
}

type benchGroup struct {
	g          ID
	author     Installation
	recipients []Installation
	sessions   []*doubleratchet.Session // author side
	peers      []*doubleratchet.Session // recipient side
	sched      *Schedule
	prevEpoch  Epoch
}

func newBenchGroup(tb testing.TB, n int) *benchGroup {
	rnd := rand.NewChaCha8(sha256.Sum256([]byte("bench")))
	bg := &benchGroup{g: testID("bench group")}
	io.ReadFull(rnd, bg.author[:])
	for range n - 1 {
		var id Installation
		io.ReadFull(rnd, id[:])
		a, r := drPair(tb, rnd)
		bg.recipients = append(bg.recipients, id)
		bg.sessions = append(bg.sessions, a)
		bg.peers = append(bg.peers, r)
	}
	bg.sched = NewSchedule(bg.g)
	_ = bg.sched.Apply(Event{ID: testID("creation")})
	_ = bg.sched.SetSeed(testID("creation"), testSeed("creation"))
	bg.prevEpoch, _ = bg.sched.Current()
	return bg
}

// BenchmarkRekeyAuthor is the rekeying installation's cost for one key event at N × 1
// (issue 13 target: ≤ 60 ms at 1000 × 1): seed, N−1 Double Ratchet slot seals, block
// encoding, outer seal, and its own schedule update. Persisting the N−1 advanced sessions
// is the engine's cost and is not included. Reports the block's bytes.
func BenchmarkRekeyAuthor(b *testing.B) {
	for _, n := range []int{100, 400, 1000, 1200} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			bg := newBenchGroup(b, n)
			rnd := rand.NewChaCha8([32]byte{9})
			var size, psize int
			b.ReportAllocs()
			for b.Loop() {
				s := bg.sched.Clone()
				block, payload, seed := rekey(b, rnd, bg.g, bg.author, s.Frontier(), &bg.prevEpoch, bg.sessions, bg.recipients)
				kb, _ := ParseKeyBlock(bg.g, block)
				if err := s.Apply(Event{ID: kb.Event, Prev: kb.Prev}); err != nil {
					b.Fatal(err)
				}
				if err := s.SetSeed(kb.Event, &seed); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Current(); err != nil {
					b.Fatal(err)
				}
				size, psize = len(block), len(payload)
			}
			b.ReportMetric(float64(size), "block-bytes")
			b.ReportMetric(float64(psize), "publish-bytes")
			b.ReportMetric(float64(size-(&KeyBlock{Kind: KindRekey, Prev: bg.sched.Frontier()}).HeaderSize())/float64(n-1), "bytes/slot")
		})
	}
}

// BenchmarkReceiverKeyEvent is one receiver's cost for one key event at N × 1 (issue 13
// target: ≤ 1 ms): open the publish under its live epochs, parse the block (N−1 slots),
// find its slot by hint, open it on its Double Ratchet session (a DH ratchet turn: the
// worst case), parse the seed, apply the event, compute the new epoch and its outer key.
func BenchmarkReceiverKeyEvent(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			bg := newBenchGroup(b, n)
			rnd := rand.NewChaCha8([32]byte{7})
			me := n / 2
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				a, r := drPair(b, rnd)
				bg.sessions[me] = a
				_, payload, _ := rekey(b, rnd, bg.g, bg.author, bg.sched.Frontier(), &bg.prevEpoch, bg.sessions, bg.recipients)
				s := bg.sched.Clone()
				b.StartTimer()

				frame, _, err := OpenOuter(s.Live(), "/waku/2/chorus-bench/proto", payload)
				if err != nil {
					b.Fatal(err)
				}
				kb, err := ParseKeyBlock(bg.g, frame[6:])
				if err != nil {
					b.Fatal(err)
				}
				slot, ok := kb.Find(SlotHint(kb.Event, bg.recipients[me]))
				if !ok {
					b.Fatal("slot not found")
				}
				pt, err := r.Decrypt(rnd, slot.Message, slotAD(kb.Context(bg.g)))
				if err != nil {
					b.Fatal(err)
				}
				sp, err := ParseSlotPlaintext(pt)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Apply(Event{ID: kb.Event, Prev: kb.Prev}); err != nil {
					b.Fatal(err)
				}
				if err := s.SetSeed(kb.Event, &sp.Seed); err != nil {
					b.Fatal(err)
				}
				ep, err := s.Current()
				if err != nil {
					b.Fatal(err)
				}
				_ = ep.OuterKey()
			}
		})
	}
}

// BenchmarkDerive is the key-schedule arithmetic alone: applying a key event, composing
// the epoch secret of a frontier of 1 or 2 events, and deriving the outer key and one
// sender chain (a receiver derives a sender's chain when that sender first speaks).
func BenchmarkDerive(b *testing.B) {
	for _, k := range []int{1, 2} {
		b.Run(fmt.Sprintf("frontier=%d", k), func(b *testing.B) {
			base := NewSchedule(testID("g"))
			_ = base.Apply(Event{ID: testID("c")})
			b.ReportAllocs()
			for b.Loop() {
				s := base.Clone()
				for i := range k {
					id := testID(string(rune('a' + i)))
					_ = s.Apply(Event{ID: id, Prev: Frontier{testID("c")}})
					_ = s.SetSeed(id, testSeed("x"))
				}
				ep, err := s.Current()
				if err != nil {
					b.Fatal(err)
				}
				_ = ep.OuterKey()
				_ = ep.SenderChain(Installation{1})
			}
		})
	}
}

// BenchmarkSenderChains1000 derives all 999 other installations' chains of an epoch at
// once (the upper bound for a receiver whose whole group speaks).
func BenchmarkSenderChains1000(b *testing.B) {
	ep := Epoch{ID: testID("e"), Secret: testID("s")}
	b.ReportAllocs()
	for b.Loop() {
		for i := range 999 {
			_ = ep.SenderChain(Installation{byte(i), byte(i >> 8)})
		}
	}
}
