package protocol

import (
	"sync"
	"sync/atomic"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/wire"
)

// frameScratch is where a large group frame is opened (its plaintext; its key block is
// parsed as a view over it, epoch.ParseKeyBlockView, with no slots of its own).
type frameScratch struct {
	frame []byte
	// hints holds the slot hints of the frame's key block, kept by its parse
	// (parseKeyBlock: one pass over the slots); a new one made as large as the last
	// block's (framePool.hintCap).
	hints []byte
}

// framePool lends frame scratches to the receive of large group frames: a key block frame
// (150 KB of plaintext at 1000 installations) was allocated, zeroed
// and, in a process that had returned its free memory to the OS, written to through page
// faults, per envelope received (issue 13). A scratch lent to one envelope is taken back
// once its transaction is over (txInbound): nothing of the frame outlives it, since its
// message is decrypted into a buffer of its own and a block's hints, ids, signature and
// X3DH headers are copied out of it. The zero value is ready; the pool is the client's
// own (sync.Pool: safe for concurrent use, emptied by the collector).
type framePool struct {
	p sync.Pool
	// hintCap is the size of the last hint buffer a block needed: a new scratch's is
	// made so, so that a block's parse keeps its hints also after a collection emptied
	// the pool (about one receive in two in BenchmarkKeyEventReceive).
	hintCap atomic.Int64
}

// largeFrame: a group payload of more bytes is opened into a lent scratch.
const largeFrame = 4096

// get lends a scratch (with whatever it held), put takes it back.
func (fp *framePool) get() *frameScratch {
	if s, ok := fp.p.Get().(*frameScratch); ok {
		return s
	}
	return new(frameScratch)
}

func (fp *framePool) put(s *frameScratch) { fp.p.Put(s) }

// openFrameV2Into is openFrameV2 that opens payload into sc's frame buffer (nil: into a
// new one), which it keeps if it had to grow it.
func openFrameV2Into(gc *groupCache, payload []byte, sc *frameScratch) (*wire.FrameV2, epoch.Epoch, bool) {
	if sc == nil {
		return openFrameV2(gc, payload)
	}
	if len(gc.live) == 0 {
		return nil, epoch.Epoch{}, false
	}
	pt, ep, err := epoch.OpenOuterInto(sc.frame, gc.live, gc.topic, payload)
	if err != nil {
		return nil, epoch.Epoch{}, false
	}
	if cap(pt) > cap(sc.frame) {
		sc.frame = pt[:0]
	}
	f, err := wire.ParseFrameV2(pt)
	if err != nil {
		return nil, epoch.Epoch{}, false
	}
	return f, ep, true
}

// parseKeyBlock parses the key block of f, a frame of group g, as a view: its slots stay
// in the frame (72 KB of slots at 1000 installations were materialised per key event,
// and allocated anew after each collection emptied the frame pool, issue 13); a receiver
// reads only its own slot (Find) and the hints (blockHintList). A frame opened into a
// lent scratch keeps its block's hints in the scratch, gathered by the parse's one pass
// over the slots (epoch.ParseKeyBlockViewHints): Find and AppendHints then read them
// instead of walking the slots again; a new scratch's buffer is made as large as the
// last block's hints (framePool.hintCap), not grown slot by slot.
func (t *txn) parseKeyBlock(g epoch.ID, f *wire.FrameV2) (*epoch.KeyBlock, error) {
	if t.pre == nil || t.pre.scratch == nil || t.pre.f2 != f {
		return epoch.ParseKeyBlockView(g, f.Block)
	}
	sc, fp := t.pre.scratch, &t.c.frames
	if sc.hints == nil {
		sc.hints = make([]byte, 0, fp.hintCap.Load())
	}
	kb, hints, err := epoch.ParseKeyBlockViewHints(g, f.Block, sc.hints)
	if cap(hints) > cap(sc.hints) {
		sc.hints = hints[:0]
	}
	if err == nil {
		fp.hintCap.Store(int64(len(hints)))
	}
	return kb, err
}
