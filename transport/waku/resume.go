package waku

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// storePoint is one store's place in a chain of History calls (a TruncatedError's
// Resume state): done (it answered in full: not asked again), or the time from which it
// is asked next (its own cut; it answered up to there). A store set aside (stalled at its
// own since twice) is done in the chain but has no point of its own (not listed in
// TruncatedError.Sources).
type storePoint struct {
	done  bool
	aside bool  // with done
	at    int64 // unix ns; unused when done
}

// resumeState is the decoded Resume state of a History answer: the query it continues
// and each store's point.
type resumeState struct {
	complete int64 // the answer's Complete: a call from an earlier since ignores the state
	stores   map[peer.ID]storePoint
}

// resumeVersion opens an encoded state; a state from another version is ignored
// (version 2: a store's flag may say set aside).
const resumeVersion = 2

// resumeQuery binds a state to the query (topics sorted and de-duplicated, until).
func resumeQuery(topics []string, until time.Time) [32]byte {
	h := sha256.New()
	for _, t := range topics {
		h.Write([]byte(t))
		h.Write([]byte{0})
	}
	var u [8]byte
	if !until.IsZero() {
		binary.BigEndian.PutUint64(u[:], uint64(until.UnixNano()))
	}
	h.Write(u[:])
	return [32]byte(h.Sum(nil))
}

// encodeResume encodes a state: version, query binding (32 bytes), complete (8), then
// per store (in peer id order) the id's length (2) and bytes, a flag (1: 0 cut, 1 done,
// 2 set aside) and the point (8).
func encodeResume(topics []string, until time.Time, st resumeState) []byte {
	q := resumeQuery(topics, until)
	out := append([]byte{resumeVersion}, q[:]...)
	out = binary.BigEndian.AppendUint64(out, uint64(st.complete))
	ids := make([]peer.ID, 0, len(st.stores))
	for p := range st.stores {
		ids = append(ids, p)
	}
	slices.Sort(ids)
	for _, p := range ids {
		sp := st.stores[p]
		out = binary.BigEndian.AppendUint16(out, uint16(len(p)))
		out = append(out, p...)
		flag := byte(0)
		switch {
		case sp.aside:
			flag = 2
		case sp.done:
			flag = 1
		}
		out = append(out, flag)
		out = binary.BigEndian.AppendUint64(out, uint64(sp.at))
	}
	return out
}

// decodeResume decodes a state handed back for a call on topics from since to until:
// nil (every store asked from since) if there is none, it is malformed, it was made
// for another query, or since is before its Complete (a caller going back).
func decodeResume(b []byte, topics []string, since, until time.Time) map[peer.ID]storePoint {
	if len(b) < 1+32+8 || b[0] != resumeVersion {
		return nil
	}
	if q := resumeQuery(topics, until); [32]byte(b[1:33]) != q {
		return nil
	}
	complete := int64(binary.BigEndian.Uint64(b[33:41]))
	if since.IsZero() || since.UnixNano() < complete {
		return nil
	}
	out := map[peer.ID]storePoint{}
	for rest := b[41:]; len(rest) > 0; {
		if len(rest) < 2 {
			return nil
		}
		n := int(binary.BigEndian.Uint16(rest))
		if len(rest) < 2+n+1+8 || rest[2+n] > 2 {
			return nil
		}
		p := peer.ID(rest[2 : 2+n])
		if _, dup := out[p]; dup {
			return nil
		}
		flag := rest[2+n]
		out[p] = storePoint{done: flag >= 1, aside: flag == 2, at: int64(binary.BigEndian.Uint64(rest[3+n:]))}
		rest = rest[2+n+1+8:]
	}
	return out
}
