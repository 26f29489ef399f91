package doubleratchet

// skippedID names a skipped message key: the sender's ratchet public key and
// the message number in that chain.
type skippedID struct {
	dh [32]byte
	n  uint32
}

// skippedEntry is a skipped message key with its id.
type skippedEntry struct {
	id skippedID
	mk [32]byte
}

// skippedKeys stores at most MaxSkipTotal skipped message keys, evicting the
// oldest. order lists insertions oldest first; an order slot is live while
// the map holds its id with the same sequence number (a used key leaves a
// stale slot, compacted away once most slots are stale).
type skippedKeys struct {
	keys  map[skippedID]skippedValue
	order []skippedSlot
	seq   uint64
}

type skippedValue struct {
	mk  [32]byte
	seq uint64
}

type skippedSlot struct {
	id  skippedID
	seq uint64
}

func (s *skippedKeys) len() int { return len(s.keys) }

func (s *skippedKeys) get(id skippedID) ([32]byte, bool) {
	if len(s.keys) == 0 {
		return [32]byte{}, false
	}
	v, ok := s.keys[id]
	return v.mk, ok
}

func (s *skippedKeys) live(slot skippedSlot) bool {
	v, ok := s.keys[slot.id]
	return ok && v.seq == slot.seq
}

// remove deletes a used key.
func (s *skippedKeys) remove(id skippedID) {
	delete(s.keys, id)
	s.maybeCompact()
}

// add stores entries (in order) and evicts the oldest keys beyond
// MaxSkipTotal. An id already present is replaced and becomes the newest.
func (s *skippedKeys) add(entries []skippedEntry) {
	if len(entries) == 0 {
		return
	}
	if s.keys == nil {
		s.keys = make(map[skippedID]skippedValue, len(entries))
	}
	for _, e := range entries {
		s.seq++
		s.keys[e.id] = skippedValue{mk: e.mk, seq: s.seq}
		s.order = append(s.order, skippedSlot{id: e.id, seq: s.seq})
	}
	drop := 0
	for len(s.keys) > MaxSkipTotal {
		if slot := s.order[drop]; s.live(slot) {
			delete(s.keys, slot.id)
		}
		drop++
	}
	if drop > 0 {
		n := copy(s.order, s.order[drop:])
		clear(s.order[n:])
		s.order = s.order[:n]
	}
	s.maybeCompact()
}

func (s *skippedKeys) maybeCompact() {
	if len(s.order) < 64 || len(s.order) <= 2*len(s.keys) {
		return
	}
	live := s.order[:0]
	for _, slot := range s.order {
		if s.live(slot) {
			live = append(live, slot)
		}
	}
	clear(s.order[len(live):])
	s.order = live
}

// each calls fn for every stored key, oldest first.
func (s *skippedKeys) each(fn func(id skippedID, mk *[32]byte)) {
	for _, slot := range s.order {
		if v, ok := s.keys[slot.id]; ok && v.seq == slot.seq {
			fn(slot.id, &v.mk)
		}
	}
}

// clone returns a compacted deep copy.
func (s *skippedKeys) clone() skippedKeys {
	var c skippedKeys
	if len(s.keys) == 0 {
		return c
	}
	entries := make([]skippedEntry, 0, len(s.keys))
	s.each(func(id skippedID, mk *[32]byte) { entries = append(entries, skippedEntry{id, *mk}) })
	c.add(entries)
	return c
}
