package sim

import (
	"crypto/rand"
	"fmt"
	"runtime"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/internal/chorustest"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/senderkeys"
)

// floor is the senderkeys cost of one group message, measured in this process.
type floor struct {
	plaintext int     // bytes sealed
	seal      float64 // ns per Sender.Seal
	open      float64 // ns per Receiver.Open
	stateOpen float64 // ns per UnmarshalBinary + Open + MarshalBinary (what the engine does)
	coldOpen  float64 // ns per Open after a sleep (median)
}

// groupPlaintextSize is the size of the plaintext the engine seals for a text of n bytes
// with a full causal history.
func groupPlaintextSize(n int) int {
	p := &wire.GroupPlaintext{Clock: 1 << 40, Timestamp: 1 << 40, Type: wire.ContentText, Body: make([]byte, n),
		History: make([][wire.HistoryEntrySize]byte, protocol.HistoryLength)}
	b, err := p.Marshal()
	if err != nil {
		return n
	}
	return len(b)
}

// measureFloor measures senderkeys Seal and Open of a plaintext of size bytes in thread
// CPU time (like every sender figure; wall time would count other processes sharing the
// cores), on a goroutine locked to its thread, over batches of floorBatch operations for
// at least floorTime each.
func measureFloor(size int) (floor, error) {
	type out struct {
		f   floor
		err error
	}
	ch := make(chan out, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		f, err := floorOnThread(size)
		ch <- out{f, err}
	}()
	o := <-ch
	return o.f, o.err
}

const (
	floorBatch = 256
	floorTime  = 400 * time.Millisecond
)

func floorOnThread(size int) (floor, error) {
	f := floor{plaintext: size}
	group := make([]byte, 32)
	if _, err := rand.Read(group); err != nil {
		return f, err
	}
	owner, err := crypto.GenerateKey()
	if err != nil {
		return f, err
	}
	var inst [16]byte
	var ownerPub [33]byte
	copy(ownerPub[:], crypto.CompressPubkey(&owner.PublicKey))
	pt := make([]byte, size)
	// batch returns a fresh receiver, its marshalled state and floorBatch messages.
	batch := func() (*senderkeys.Sender, *senderkeys.Receiver, []byte, [][]byte, error) {
		s, err := senderkeys.NewSender(rand.Reader, group)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		d, err := s.Distribution(owner, inst)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		r := senderkeys.NewReceiver(group, inst, ownerPub)
		if err := r.Process(d); err != nil {
			return nil, nil, nil, nil, err
		}
		state, err := r.MarshalBinary()
		if err != nil {
			return nil, nil, nil, nil, err
		}
		msgs := make([][]byte, floorBatch)
		for i := range msgs {
			if msgs[i], err = s.Seal(pt); err != nil {
				return nil, nil, nil, nil, err
			}
		}
		return s, r, state, msgs, nil
	}
	var sealCPU, openCPU, rtCPU int64
	var ops int64
	for start := time.Now(); time.Since(start) < floorTime || ops == 0; {
		s, r, state, msgs, err := batch()
		if err != nil {
			return f, fmt.Errorf("sim: senderkeys floor: %w", err)
		}
		c0 := threadCPU()
		for range floorBatch {
			if _, err := s.Seal(pt); err != nil {
				return f, err
			}
		}
		c1 := threadCPU()
		for _, m := range msgs {
			if _, err := r.Open(m); err != nil {
				return f, err
			}
		}
		c2 := threadCPU()
		for _, m := range msgs {
			rr := new(senderkeys.Receiver)
			if err := rr.UnmarshalBinary(state); err != nil {
				return f, err
			}
			if _, err := rr.Open(m); err != nil {
				return f, err
			}
			if state, err = rr.MarshalBinary(); err != nil {
				return f, err
			}
		}
		c3 := threadCPU()
		sealCPU, openCPU, rtCPU = sealCPU+c1-c0, openCPU+c2-c1, rtCPU+c3-c2
		ops += floorBatch
	}
	f.seal, f.open, f.stateOpen = float64(sealCPU)/float64(ops), float64(openCPU)/float64(ops), float64(rtCPU)/float64(ops)
	// Open once after each of coldOpens sleeps as long as a receive window's settle, as a
	// receiver measured alone runs (its caches hold whatever ran meanwhile).
	_, r, _, msgs, err := batch()
	if err != nil {
		return f, fmt.Errorf("sim: senderkeys floor: %w", err)
	}
	var cold []time.Duration
	for _, m := range msgs[:coldOpens] {
		time.Sleep(settle)
		c0 := threadCPU()
		if _, err := r.Open(m); err != nil {
			return f, err
		}
		cold = append(cold, time.Duration(threadCPU()-c0))
	}
	f.coldOpen = float64(chorustest.Median(cold))
	return f, nil
}

// coldOpens is how many Opens after a sleep measureFloor takes the median of.
const coldOpens = 32
