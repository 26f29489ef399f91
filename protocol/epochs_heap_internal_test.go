package protocol

import (
	"encoding/hex"
	"math/rand/v2"
	"runtime"
	"testing"
	"unsafe"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
)

// TestEpochMetaHeap: a client keeps, per v2 group, the stored bookkeeping (the record's
// bytes, shared by the group view and the memo) and the memo's decoded bookkeeping for as
// long as it runs. For a 1000-member group after two key events it holds the encoding
// once, the coverage's packed hints a view of it, plus the small fields (issue 16: the
// coverage entries kept their own encoding of the hints beside the record's, 21 KB a
// client; then the packed hints beside the record's, 16 KB, until the binary encoding).
func TestEpochMetaHeap(t *testing.T) {
	const n, copies = 1000, 64
	r := rand.New(rand.NewPCG(16, 4))
	id := func() string {
		var x [32]byte
		for i := range x {
			x[i] = byte(r.Uint32())
		}
		return hex.EncodeToString(x[:])
	}
	type kept struct {
		c *Client
		g *storage.GroupRecord
	}
	ks := make([]kept, copies)
	for i := range ks {
		ks[i] = kept{&Client{metas: make(map[GroupID]metaMemo, 1)}, &storage.GroupRecord{ID: GroupID{byte(i)}}}
	}
	var stored int64
	before := heapInUse()
	for i := range ks {
		c, g := ks[i].c, ks[i].g
		tx := &txn{c: c}
		hs := make([][epoch.HintSize]byte, n)
		for j := range hs {
			for k := range hs[j] {
				hs[j][k] = byte(r.Uint32())
			}
		}
		m := &epochMeta{V: 2, Covered: map[string]*coverage{id(): {Hints: packHints(hs)}}}
		for range maxMetaEpochs - 1 {
			m.Epochs = append(m.Epochs, id())
		}
		for range maxKeptSeeds {
			m.Kept = append(m.Kept, keptSeed{ID: id(), Prev: []string{id()}, Seed: id()})
		}
		if err := tx.storeMeta(g, m); err != nil {
			t.Fatal(err)
		}
		// The next key event starts from the memo's bookkeeping, as loadV2 does.
		next := c.metas[g.ID].m.clone()
		next.Epochs = append(next.Epochs, id())
		if err := tx.storeMeta(g, next); err != nil {
			t.Fatal(err)
		}
		stored += int64(len(g.EpochMeta))
		for _, cv := range c.metas[g.ID].m.Covered {
			lo, hi := unsafe.Pointer(&g.EpochMeta[0]), unsafe.Pointer(&g.EpochMeta[len(g.EpochMeta)-1])
			if p := unsafe.Pointer(unsafe.SliceData(cv.Hints)); uintptr(p) < uintptr(lo) || uintptr(p) > uintptr(hi) {
				t.Fatal("the memo's coverage holds its hints apart from the record's")
			}
		}
	}
	got := heapInUse() - before
	// The small fields: ids and seeds as strings (64 epochs, 6 kept seeds of 3 strings
	// each), the memo's slices and maps, the size classes' rounding (≈ 11 KiB; a second
	// encoding of the hints is 21 KiB).
	small := int64((maxMetaEpochs+3*maxKeptSeeds)*64 + 6*1024)
	want := stored + small*copies
	t.Logf("%d B a client for %d B of encoding", got/copies, stored/copies)
	if got > want {
		t.Errorf("the bookkeeping of a %d-member group keeps %d B of heap a client, want at most %d (its encoding and packed hints once each, %d B, and the small fields)",
			n, got/copies, want/copies, stored/copies)
	}
	for _, k := range ks {
		if mm := k.c.metas[k.g.ID]; &mm.enc[0] != &k.g.EpochMeta[0] {
			t.Fatal("the memo does not share the record's encoding")
		}
	}
	runtime.KeepAlive(ks)
}

// TestMemoShared (issue 16): the memos of a group's decoded schedule and bookkeeping,
// filled from a record read back (not from a store of ours), key on the record's own
// bytes, which the group view holds too, not on a copy of them.
func TestMemoShared(t *testing.T) {
	c := &Client{metas: map[GroupID]metaMemo{}, scheds: map[GroupID]schedMemo{}}
	tx := &txn{c: c}
	g := &storage.GroupRecord{ID: GroupID{7}}
	sched, err := epoch.NewSchedule(epoch.ID(g.ID)).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	meta, err := (&epochMeta{V: 2, Epochs: []string{"e"}}).encode()
	if err != nil {
		t.Fatal(err)
	}
	g.Schedule, g.EpochMeta = sched, meta
	for i := range 2 { // decoded, then from the memos
		if _, _, err := tx.loadV2(g); err != nil {
			t.Fatal(err)
		}
		if unsafe.SliceData(c.metas[g.ID].enc) != unsafe.SliceData(g.EpochMeta) {
			t.Errorf("load %d: the bookkeeping memo keys on a copy of the record's bytes", i)
		}
		if unsafe.SliceData(c.scheds[g.ID].enc) != unsafe.SliceData(g.Schedule) {
			t.Errorf("load %d: the schedule memo keys on a copy of the record's bytes", i)
		}
	}
}
