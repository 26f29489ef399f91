package protocol

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"math"
	"slices"
)

// Per-message inbox hints (spec: protocol, "Pairwise messages (inbox)", **Hint chain**).
// Each direction of a session has a hint key from the X3DH secret; session frame n of a
// direction carries hint(n) = HMAC-SHA256(hint key, u64be(n))[:16]. The receiver keeps a
// bounded set of expected hints per session in memory (c.inbox), so that a frame is found
// with one map lookup and never by trial decryption.

// errBadHintChain reports a stored hint chain that does not decode.
var errBadHintChain = errors.New("protocol: stored hint chain malformed")

// hintChainVersion is the first byte of an encoded hint chain.
const hintChainVersion = 1

// hintChain is a session's hint state: our sending direction and the peer's.
type hintChain struct {
	sendKey   [32]byte
	sendNext  uint64 // index of the next session frame we send
	sendLease uint64 // indices below it may have been used (durable high-water mark)
	recvKey   [32]byte
	recvNext  uint64   // one above the highest index received (0: none yet)
	skipped   []uint64 // indices below recvNext not received yet: ascending, ≤ MaxSkippedHints
}

// newHintChain derives a new session's hint keys from the X3DH secret.
func newHintChain(secret [32]byte, initiator bool) *hintChain {
	out, err := hkdf.Key(sha256.New, secret[:], nil, labelHintChain, 64)
	if err != nil {
		panic(err) // cannot happen: the length is valid
	}
	h := &hintChain{}
	copy(h.sendKey[:], out[:32]) // initiator -> responder
	copy(h.recvKey[:], out[32:]) // responder -> initiator
	if !initiator {
		h.sendKey, h.recvKey = h.recvKey, h.sendKey
	}
	return h
}

// hintAt is the hint of frame n of the direction with hint key key.
func hintAt(key [32]byte, n uint64) (out [16]byte) {
	m := hmac.New(sha256.New, key[:])
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	m.Write(b[:])
	copy(out[:], m.Sum(nil))
	return out
}

// nextSend returns the hint of the next frame we send and advances. An index that reaches
// the lease moves the lease HintLease ahead and syncs the transaction before anything it
// sealed is published, so that no index is ever used for two frames (spec: persistence,
// "Durability").
func (h *hintChain) nextSend(t *txn) ([16]byte, error) {
	n := h.sendNext
	if n == math.MaxUint64 {
		return [16]byte{}, errors.New("protocol: hint chain exhausted")
	}
	h.sendNext++
	if n >= h.sendLease {
		h.sendLease = n + min(HintLease, math.MaxUint64-n)
		t.SyncOnCommit()
	}
	return hintAt(h.sendKey, n), nil
}

// resume skips the sending direction to the lease: the first use of a session in a
// process, since commits after the last sync may have been lost.
func (h *hintChain) resume() {
	if h.sendNext < h.sendLease {
		h.sendNext = h.sendLease
	}
}

// expects reports whether frame n of the peer's direction is still expected.
func (h *hintChain) expects(n uint64) bool {
	if n < h.recvNext {
		_, found := slices.BinarySearch(h.skipped, n)
		return found
	}
	d := n - h.recvNext
	return d < HintWindow || (d < MaxHintGap && n%HintAnchorStride == 0)
}

// received records frame n of the peer's direction (one the receiver expected, after it
// authenticated): n leaves the expected set; a jump ahead keeps the indices it skipped
// (the newest MaxSkippedHints of all skipped ones).
func (h *hintChain) received(n uint64) {
	if n < h.recvNext {
		if i, found := slices.BinarySearch(h.skipped, n); found {
			h.skipped = slices.Delete(h.skipped, i, i+1)
		}
		return
	}
	from := h.recvNext
	if n-from > MaxSkippedHints {
		from = n - MaxSkippedHints
	}
	for i := from; i < n; i++ {
		h.skipped = append(h.skipped, i)
	}
	if over := len(h.skipped) - MaxSkippedHints; over > 0 {
		h.skipped = slices.Delete(h.skipped, 0, over)
	}
	h.recvNext = n + 1
}

// expected calls f with every index of the peer's direction that is expected: the skipped
// ones, the next HintWindow, and every HintAnchorStride-th index below recvNext + MaxHintGap
// (so that a receiver that lost more than HintWindow frames finds the next anchor frame).
func (h *hintChain) expected(f func(uint64)) {
	for _, n := range h.skipped {
		f(n)
	}
	end := h.recvNext + MaxHintGap
	if end < h.recvNext {
		end = math.MaxUint64
	}
	var n uint64
	for n = h.recvNext; n < end && n-h.recvNext < HintWindow; n++ {
		f(n)
	}
	if r := n % HintAnchorStride; r != 0 {
		n += HintAnchorStride - r
	}
	for ; n < end && n >= h.recvNext; n += HintAnchorStride {
		f(n)
	}
}

// marshal encodes h:
//
//	version(1) || send key(32) || send next u64 || send lease u64 || recv key(32) ||
//	recv next u64 || u16 count || count × u64 skipped (ascending, below recv next)
func (h *hintChain) marshal() []byte {
	out := make([]byte, 0, 1+32+8+8+32+8+2+8*len(h.skipped))
	out = append(out, hintChainVersion)
	out = append(out, h.sendKey[:]...)
	out = binary.BigEndian.AppendUint64(out, h.sendNext)
	out = binary.BigEndian.AppendUint64(out, h.sendLease)
	out = append(out, h.recvKey[:]...)
	out = binary.BigEndian.AppendUint64(out, h.recvNext)
	out = binary.BigEndian.AppendUint16(out, uint16(len(h.skipped)))
	for _, n := range h.skipped {
		out = binary.BigEndian.AppendUint64(out, n)
	}
	return out
}

// hintChainFixed is the size of an encoded hint chain without skipped indices.
const hintChainFixed = 1 + 32 + 8 + 8 + 32 + 8 + 2

// parseHintChain decodes a stored hint chain; it refuses anything marshal does not
// produce.
func parseHintChain(b []byte) (*hintChain, error) {
	if len(b) < hintChainFixed || b[0] != hintChainVersion {
		return nil, errBadHintChain
	}
	h := &hintChain{}
	p := b[1:]
	copy(h.sendKey[:], p[:32])
	h.sendNext = binary.BigEndian.Uint64(p[32:])
	h.sendLease = binary.BigEndian.Uint64(p[40:])
	copy(h.recvKey[:], p[48:80])
	h.recvNext = binary.BigEndian.Uint64(p[80:])
	cnt := int(binary.BigEndian.Uint16(p[88:]))
	p = p[90:]
	if cnt > MaxSkippedHints || len(p) != 8*cnt {
		return nil, errBadHintChain
	}
	if cnt > 0 {
		h.skipped = make([]uint64, cnt)
	}
	for i := range cnt {
		n := binary.BigEndian.Uint64(p[8*i:])
		if n >= h.recvNext || (i > 0 && n <= h.skipped[i-1]) {
			return nil, errBadHintChain
		}
		h.skipped[i] = n
	}
	return h, nil
}

// hintRef is what an expected inbox hint names: a session and the frame index
// (legacyIndex: the constant hint of a session stored before hint chains).
type hintRef struct {
	sid int64
	n   uint64
}

// legacyIndex is the index under which a legacy session's constant hint is registered;
// never a frame index (expected stops below it, nextSend never uses it).
const legacyIndex = math.MaxUint64

// hintSlot is one expected hint of a session: its index and its first 8 bytes (the
// receiver checks the whole hint against the session's chain, handleInbox).
type hintSlot struct {
	n   uint64
	key uint64 // inboxKey of the hint
}

// inboxHints is the set of expected hints of all sessions (c.inbox). An admin of a large
// group keeps ~150 hints for each member installation's session, so it is compact
// (issue 16: ~35-57 bytes a hint, with the map's growth; a map of whole hints to hintRef took ~125 with the
// per-session lists): the map is keyed by a hint's first 8 bytes and names the session
// only; the session's list of slots (ascending index) gives the index. A frame found by
// its first 8 bytes is checked against the whole hint of that index (handleInbox: one
// HMAC). Two expected hints sharing their first 8 bytes (about 2^-64 a pair) leave the
// older unfound, as two equal whole hints would.
type inboxHints struct {
	bySid   map[uint64]int64     // first 8 bytes of an expected hint -> session id
	sets    map[int64][]hintSlot // each session's expected hints, by frame index
	scratch []hintSlot           // a free array for the next set
}

func newInboxHints() inboxHints {
	return inboxHints{bySid: map[uint64]int64{}, sets: map[int64][]hintSlot{}}
}

func inboxKey(h [16]byte) uint64 { return binary.LittleEndian.Uint64(h[:8]) }

// find returns the session and frame index of the expected hint whose first 8 bytes
// are hint's (the caller checks the rest: hintAt).
func (ih *inboxHints) find(hint [16]byte) (hintRef, bool) {
	k := inboxKey(hint)
	sid, ok := ih.bySid[k]
	if !ok {
		return hintRef{}, false
	}
	for _, s := range ih.sets[sid] {
		if s.key == k {
			return hintRef{sid: sid, n: s.n}, true
		}
	}
	return hintRef{}, false
}

// has reports whether a hint with hint's first 8 bytes is expected.
func (ih *inboxHints) has(hint [16]byte) bool {
	_, ok := ih.find(hint)
	return ok
}

// count returns the number of expected hints.
func (ih *inboxHints) count() int { return len(ih.bySid) }

// unset removes slot s of session sid from the map (if the map names sid for it).
func (ih *inboxHints) unset(sid int64, s hintSlot) {
	k := s.key
	if r, ok := ih.bySid[k]; ok && r == sid {
		delete(ih.bySid, k)
	}
}

// setInboxHints makes c.inbox hold exactly the expected hints of session sid: those of h,
// or legacy (the constant receive hint) when h is nil. Only indices that enter the set
// cost an HMAC. Called on commit, under c.mu.
func (c *Client) setInboxHints(sid int64, h *hintChain, legacy [16]byte) {
	ih := &c.inbox
	old := ih.sets[sid]
	if h == nil {
		c.dropInboxHints(sid)
		ih.sets[sid] = []hintSlot{{n: legacyIndex, key: inboxKey(legacy)}}
		ih.bySid[inboxKey(legacy)] = sid
		return
	}
	next := ih.scratch[:0] // the arrays of two sets take turns (no allocation per frame)
	ih.scratch = nil
	var m hash.Hash
	var b [8]byte
	var sum [sha256.Size]byte
	i := 0
	h.expected(func(n uint64) {
		// expected's order is ascending (skipped, window, anchors), and so is old: a merge.
		for i < len(old) && old[i].n < n {
			i++
		}
		if i < len(old) && old[i].n == n {
			next = append(next, old[i])
			return
		}
		if m == nil {
			m = hmac.New(sha256.New, h.recvKey[:])
		}
		m.Reset()
		binary.BigEndian.PutUint64(b[:], n)
		m.Write(b[:])
		var hint [16]byte
		copy(hint[:], m.Sum(sum[:0]))
		k := inboxKey(hint)
		next = append(next, hintSlot{n: n, key: k})
		ih.bySid[k] = sid
	})
	for _, s := range old {
		if s.n == legacyIndex || !h.expects(s.n) {
			ih.unset(sid, s)
		}
	}
	if len(old) == 0 || cap(next) > len(next)+len(next)/4 {
		// A new set, or one much smaller than its array (append doubles it; the scratch
		// array may be another session's): kept in an array just large enough, and the
		// working one is the next scratch.
		ih.sets[sid] = slices.Clone(next)
		ih.scratch = next[:0]
		return
	}
	ih.sets[sid] = next
	ih.scratch = old[:0]
}

// dropInboxHints forgets the expected hints of session sid. Under c.mu.
func (c *Client) dropInboxHints(sid int64) {
	ih := &c.inbox
	for _, s := range ih.sets[sid] {
		ih.unset(sid, s)
	}
	delete(ih.sets, sid)
}

// inboxSession finds the session an inbox frame's hint expects: one lookup, no trial
// decryption. The whole hint is checked against the session's chain, since the compact
// set (inboxHints) matches its first 8 bytes only.
func (t *txn) inboxSession(hint [16]byte) (*sess, hintRef, error) {
	ref, ok := t.c.inbox.find(hint)
	if !ok {
		return nil, ref, errNoHint
	}
	rec, err := t.Session(ref.sid)
	if err != nil {
		return nil, ref, err
	}
	s, err := t.loadSession(rec)
	if err != nil {
		return nil, ref, err
	}
	if (ref.n == legacyIndex) != (s.hc == nil) || (s.hc != nil && !s.hc.expects(ref.n)) {
		return nil, ref, errNoHint // cannot happen: c.inbox follows the stored chains
	}
	if (s.hc != nil && hintAt(s.hc.recvKey, ref.n) != hint) || (s.hc == nil && rec.RecvHint != hint) {
		return nil, ref, errNoHint
	}
	return s, ref, nil
}
