package fanout

// seenSet remembers the last capacity hashes (FIFO eviction). Not safe for concurrent
// use; the Hub guards it.
type seenSet struct {
	capacity int
	set      map[[32]byte]struct{}
	ring     [][32]byte // grows to capacity, then wraps
	next     int
}

func newSeenSet(capacity int) *seenSet {
	return &seenSet{capacity: capacity, set: make(map[[32]byte]struct{})}
}

// add records h and reports whether it was new.
func (s *seenSet) add(h [32]byte) bool {
	if _, ok := s.set[h]; ok {
		return false
	}
	if len(s.ring) < s.capacity {
		s.ring = append(s.ring, h)
	} else {
		delete(s.set, s.ring[s.next])
		s.ring[s.next] = h
		s.next = (s.next + 1) % s.capacity
	}
	s.set[h] = struct{}{}
	return true
}
