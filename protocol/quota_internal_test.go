package protocol

import (
	"testing"

	"github.com/chorus-im/chorus/protocol/wire"
)

// TestRekeyEpochsUnderRLN computes, with the engine's frame packing, how many publishes
// (RLN-v1 epochs of one second: one publish each) a removal's rekey takes at 100, 400 and
// 1000 members of one installation each: the membership message, then the rotation block
// for the N-2 remaining other members in as many parts as it needs (spec: transport,
// "Rate limits").
func TestRekeyEpochsUnderRLN(t *testing.T) {
	session := wire.Slot{Kind: wire.SlotSession, Message: make([]byte, 112-wire.HintSize-3)}
	initial := wire.Slot{Kind: wire.SlotInitial, Header: make([]byte, 110), Message: make([]byte, 233-wire.HintSize-5-110)}
	if session.Size() != 112 || initial.Size() != 233 {
		t.Fatalf("slot sizes %d %d", session.Size(), initial.Size())
	}
	for _, n := range []int{100, 400, 1000} {
		for _, kind := range []struct {
			name string
			slot wire.Slot
		}{{"sessions", session}, {"initial", initial}} {
			slots := make([]wire.Slot, n-2) // the remover and the removed get none
			for i := range slots {
				slots[i] = kind.slot
			}
			frames, err := packFrames(wire.PublicDistribution{Group: make([]byte, 32)}, slots, make([]byte, 200), MaxFrame)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("N=%d (%s slots): rotation in %d publish(es); removal + rekey = %d epochs for the remover, %d for each other member's next send",
				n, kind.name, len(frames), 1+len(frames), len(frames))
			if n <= 400 && len(frames) != 1 {
				t.Errorf("N=%d: %d parts", n, len(frames))
			}
		}
	}
}
