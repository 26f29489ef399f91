// Key schedule v2, kept seeds: the candidate epochs composed from the seeds of recent key
// events, for opening concurrent senders' publishes (see keptSeed).

package protocol

import (
	"encoding/hex"
	"slices"

	"github.com/chorus-im/chorus/epoch"
)

// openable returns the epochs whose outer keys open group payloads for us, oldest first
// and the newest live epoch last: the candidate epochs of kept seeds (see keptSeed), then
// the live epochs.
func openable(s *epoch.Schedule, m *epochMeta) []epoch.Epoch {
	return withLive(keptCandidates(s.Group(), m.Kept, nil, nil), s.Live())
}

// openable is openable through the client's memo of kept seeds' candidate epochs (they
// depend on the kept seeds alone; composing them cost more than the key event). The memo
// is in memory only, rebuilt from the stored seeds when lost (a restart): nothing of it
// needs to be stored with the key event.
func (t *txn) openable(s *epoch.Schedule, m *epochMeta) []epoch.Epoch {
	cm, ok := t.c.candidates[s.Group()]
	if !ok || !sameKept(cm.kept, m.Kept) {
		// A new kept seed: only the antichains holding it are composed (the others'
		// epochs are the memo's), and the walk allocates nothing per antichain.
		composed := make(map[candKey]composedEpoch, len(cm.composed)+maxKeptSeeds)
		eps := keptCandidates(s.Group(), m.Kept, cm.composed, composed)
		cm = candidateMemo{kept: slices.Clone(m.Kept), eps: eps, composed: composed}
		t.c.candidates[s.Group()] = cm
	}
	return withLive(cm.eps, s.Live())
}

// sameKept reports whether a and b are the same kept seeds.
func sameKept(a, b []keptSeed) bool {
	return slices.EqualFunc(a, b, func(x, y keptSeed) bool {
		return x.ID == y.ID && x.Seed == y.Seed && slices.Equal(x.Prev, y.Prev)
	})
}

// candidateMemo is the candidate epochs of a group's kept seeds (kept: the seeds, as
// given), and the epoch each antichain of them composed to (by its events and seeds).
type candidateMemo struct {
	kept     []keptSeed
	eps      []epoch.Epoch
	composed map[candKey]composedEpoch
}

type composedEpoch struct {
	e  epoch.Epoch
	ok bool
}

// candKey names an antichain of kept seeds by their events and seeds, in the order of
// the kept seeds (the entries past its size are zero).
type candKey [maxCandidateSize]struct {
	id   epoch.ID
	seed epoch.Seed
}

// withLive returns the candidates that are not live, then the live epochs.
func withLive(cands, live []epoch.Epoch) []epoch.Epoch {
	out := make([]epoch.Epoch, 0, len(cands)+len(live))
	for _, e := range cands {
		if !slices.ContainsFunc(live, func(l epoch.Epoch) bool { return l.ID == e.ID }) {
			out = append(out, e)
		}
	}
	return append(out, live...)
}

// keptCandidates composes the epochs of every antichain of up to maxCandidateSize kept
// seeds (distinct, in the order found). An antichain whose epoch memo holds is not
// composed again; into, if not nil, receives every antichain's epoch.
func keptCandidates(group epoch.ID, kept []keptSeed, memo, into map[candKey]composedEpoch) []epoch.Epoch {
	type ev struct {
		id   epoch.ID
		prev []string
		seed epoch.Seed
	}
	pool := make([]ev, 0, len(kept))
	for _, k := range kept {
		var e ev
		if len(k.ID) != 2*len(e.id) || len(k.Seed) != 2*len(e.seed) {
			continue
		}
		if !decodeHexString(e.id[:], k.ID) || !decodeHexString(e.seed[:], k.Seed) {
			continue
		}
		e.prev = k.Prev
		pool = append(pool, e)
	}
	below := keptAncestry(pool, func(e ev) (epoch.ID, []string) { return e.id, e.prev })
	compose := func(cur []int) (epoch.Epoch, bool) {
		ids := make([]epoch.ID, len(cur))
		for i, j := range cur {
			ids[i] = pool[j].id
		}
		f, err := epoch.NewFrontier(ids...)
		if err != nil {
			return epoch.Epoch{}, false
		}
		xs := make([]epoch.ID, 0, len(f))
		for _, id := range f {
			for _, j := range cur {
				if pool[j].id == id {
					if x, err := epoch.Contribution(group, &pool[j].seed, id, f); err == nil {
						xs = append(xs, x)
					}
				}
			}
		}
		if len(xs) != len(f) {
			return epoch.Epoch{}, false
		}
		e, err := epoch.Compose(group, f, xs)
		return e, err == nil
	}
	var out []epoch.Epoch
	var cur [maxCandidateSize]int
	var walk func(start, n int)
	walk = func(start, n int) {
		if n > 0 {
			var key candKey
			for i, j := range cur[:n] {
				key[i].id, key[i].seed = pool[j].id, pool[j].seed
			}
			c, ok := memo[key]
			if !ok {
				c.e, c.ok = compose(cur[:n])
			}
			if into != nil {
				into[key] = c
			}
			clear(key[:])
			if c.ok && !slices.ContainsFunc(out, func(l epoch.Epoch) bool { return l.ID == c.e.ID }) {
				out = append(out, c.e)
			}
		}
		if n == maxCandidateSize {
			return
		}
	next:
		for j := start; j < len(pool); j++ {
			for _, i := range cur[:n] { // an antichain: no member is behind another
				if below[j][i] || below[i][j] {
					continue next
				}
			}
			cur[n] = j
			walk(j+1, n+1)
		}
	}
	walk(0, 0)
	for i := range pool {
		clear(pool[i].seed[:])
	}
	return out
}

// keptAncestry returns, for kept seeds' events pool, which are behind which: below[j][i]
// when pool[i]'s event is reachable from pool[j]'s through prev links between events of
// the pool (a link through an event not kept is not seen). A frontier is an antichain, so
// no epoch has both an event and one behind it: such sets are not composed (a linear
// history of key events composed 20 candidates of 6 kept seeds, where 6 can occur).
func keptAncestry[E any](pool []E, of func(E) (epoch.ID, []string)) [][]bool {
	// The pool's ids in hex, one buffer (a pool is a few kept seeds: a linear search, the
	// last match as an index by id would keep, where a map of rendered ids cost an
	// allocation per id on every key event received).
	const w = 2 * len(epoch.ID{})
	hexes := make([]byte, len(pool)*w)
	for i := range pool {
		id, _ := of(pool[i])
		hex.Encode(hexes[i*w:], id[:])
	}
	find := func(p string) (int, bool) {
		for i := len(pool) - 1; i >= 0; i-- {
			if string(hexes[i*w:(i+1)*w]) == p {
				return i, true
			}
		}
		return 0, false
	}
	below := make([][]bool, len(pool))
	rows := make([]bool, len(pool)*len(pool))
	var stack []int
	for j := range pool {
		below[j] = rows[j*len(pool) : (j+1)*len(pool) : (j+1)*len(pool)]
		stack = append(stack[:0], j)
		for len(stack) > 0 {
			k := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			_, prev := of(pool[k])
			for _, p := range prev {
				if i, ok := find(p); ok && !below[j][i] && i != j {
					below[j][i] = true
					stack = append(stack, i)
				}
			}
		}
	}
	return below
}

// decodeHexString is hex.Decode of s (of length 2*len(dst)) into dst, without the copy of
// s a conversion to []byte makes (on the heap past 32 bytes: for a kept seed, a copy of
// the secret never cleared, on every key event received). It reports whether s is hex.
func decodeHexString(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := fromHexChar(s[2*i])
		lo, ok2 := fromHexChar(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

// fromHexChar is the value of hex digit c (either case, as hex.Decode takes).
func fromHexChar(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// keptInsert returns kept with k added: an applied event's seed as the newest; a refused
// one's (not applied here: keepRefused) at the age of its prev — right after the newest
// kept seed its prev names, or before every kept seed if it names none — so that it ages
// out with the key event it was made on (boundKept). A new slice: kept may be shared.
func keptInsert(kept []keptSeed, k keptSeed, applied bool) []keptSeed {
	at := len(kept)
	if !applied {
		at = 0
		for i := len(kept) - 1; i >= 0; i-- {
			if slices.Contains(k.Prev, kept[i].ID) {
				at = i + 1
				break
			}
		}
	}
	return slices.Insert(slices.Clip(kept), at, k)
}

// boundKept bounds the kept seeds (spec "Frontier", the kept-seeds bound), the one bound
// every path that keeps a seed goes through (keep, keepSlotSeed): the seeds of the last
// maxKeptSeeds key events applied here, oldest first, and at most maxRefusedKept seeds of
// events not applied (refused: keepRefused), each at the age of its prev (keptInsert).
// Once an applied event's seed is dropped as the oldest, the refused seeds placed at its
// age (before the next applied one) go with it; past maxRefusedKept the oldest refused
// seed goes. So a refused seed never takes the place of an applied event's (review 27,
// TestReview27DepartedEvictsKept: six key events of a removed installation, refused as
// overridden, pushed out the seed of an epoch an offline member still sealed under), and a
// chain of refused events — each sealed under its predecessor's kept seed, placed at that
// one's age — is opened only while the applied event it grew from is kept
// (TestReview27DepartedChainOutlivesWindow: a removed installation's interleaved events
// renewed its reach for good). Past maxRefusedKept, a departed author holding more than
// one refused place while another author's refused seed is kept gives up its oldest first
// (authorOf: a kept event's author and whether it departed; nil, the oldest refused seed
// goes): a removed attacker's chain of refused events takes one place, not the three, and
// cannot push out another departed author's refused seed (fix 39, TestKeptBoundPerAuthor:
// fix 32's R, refused at a and a2, its seed what they open b's heal with). It depends on
// s, m and authorOf alone; m.Kept is replaced, never changed in place.
func (m *epochMeta) boundKept(s *epoch.Schedule, authorOf func(epoch.ID) (string, bool)) {
	isApplied := func(k keptSeed) bool {
		id, ok := hexID(k.ID)
		return ok && s.Applied(id)
	}
	applied, refused := 0, 0
	for _, k := range m.Kept {
		if isApplied(k) {
			applied++
		} else {
			refused++
		}
	}
	if applied <= maxKeptSeeds && refused <= maxRefusedKept {
		return
	}
	from := 0 // the kept seeds before from are dropped
	for applied > maxKeptSeeds {
		if isApplied(m.Kept[from]) {
			applied--
		} else {
			refused--
		}
		from++
	}
	if from > 0 { // the refused seeds at the last dropped applied one's age
		for from < len(m.Kept) && !isApplied(m.Kept[from]) {
			refused--
			from++
		}
	}
	rest := m.Kept[from:]
	var drop []bool // refused seeds past the bound, chosen by refusedVictim
	if refused > maxRefusedKept && authorOf != nil {
		drop = make([]bool, len(rest))
		for ; refused > maxRefusedKept; refused-- {
			drop[refusedVictim(rest, drop, isApplied, authorOf)] = true
		}
	}
	out := make([]keptSeed, 0, len(rest))
	for i, k := range rest {
		if drop != nil && drop[i] {
			continue
		}
		if refused > maxRefusedKept && !isApplied(k) {
			refused-- // the oldest refused seeds past the bound
			continue
		}
		out = append(out, k)
	}
	m.Kept = out
}

// refusedVictim returns the refused seed of kept (those not dropped) boundKept drops next:
// the oldest of a departed author holding more than one of them while another author's is
// kept, else the oldest. An event whose author is not known (authorOf's "") is its own.
func refusedVictim(kept []keptSeed, dropped []bool, isApplied func(keptSeed) bool, authorOf func(epoch.ID) (string, bool)) int {
	type who struct {
		author   string
		departed bool
	}
	refused := make([]int, 0, len(kept))
	whos := make([]who, 0, len(kept))
	for i, k := range kept {
		if dropped[i] || isApplied(k) {
			continue
		}
		var w who
		if id, ok := hexID(k.ID); ok {
			w.author, w.departed = authorOf(id)
		}
		if w.author == "" {
			w = who{author: "?" + k.ID}
		}
		refused, whos = append(refused, i), append(whos, w)
	}
	count := func(a string) (n int) {
		for _, w := range whos {
			if w.author == a {
				n++
			}
		}
		return n
	}
	for j, w := range whos {
		if n := count(w.author); w.departed && n > 1 && n < len(whos) {
			return refused[j]
		}
	}
	return refused[0]
}
