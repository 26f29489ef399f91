package senderkeys

import (
	"bytes"
	"testing"
)

// fuzzWorld is a small deterministic scenario shared by the fuzz targets' seeds: a
// receiver that holds two epochs, with skipped keys and an announced tail.
func fuzzWorld(t testing.TB) (o *owner, r *Receiver, s *Sender, msgs [][]byte, dists []*Distribution) {
	o = newOwner(t, "fuzz")
	s = o.sender(t)
	r = o.receiver()
	dists = append(dists, o.dist(t, s))
	process(t, r, dists[0])
	for i := range 4 {
		msgs = append(msgs, seal(t, s, string(rune('a'+i))))
	}
	mustOpen(t, r, msgs[2], "c")
	s = o.rotate(t, s)
	dists = append(dists, o.dist(t, s))
	process(t, r, dists[1])
	for i := range 3 {
		msgs = append(msgs, seal(t, s, string(rune('x'+i))))
	}
	return o, r, s, msgs, dists
}

// addVectorSeeds adds every hex field of the vectors that decodes.
func addVectorSeeds(f *testing.F, pick func(vectorCase) []string) {
	for _, c := range loadVectors(f) {
		for _, h := range pick(c) {
			if h != "" {
				f.Add(unhex(f, h))
			}
		}
	}
}

func FuzzParseHeader(f *testing.F) {
	addVectorSeeds(f, func(c vectorCase) []string { return append([]string{c.Message}, c.Setup...) })
	f.Add(make([]byte, Overhead))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHeader(data)
		if err != nil {
			if h != (Header{}) {
				t.Fatal("non-zero header with error")
			}
			return
		}
		b, err := h.MarshalBinary()
		if err != nil || !bytes.Equal(b, data[:HeaderSize]) {
			t.Fatalf("header does not re-encode: %v", err)
		}
	})
}

func FuzzParseDistribution(f *testing.F) {
	addVectorSeeds(f, func(c vectorCase) []string {
		return append(append([]string{c.Distribution}, c.Distributions...), c.Forwarded...)
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDistribution(data)
		if err != nil {
			if d != nil {
				t.Fatal("distribution with error")
			}
			return
		}
		b, err := d.MarshalBinary()
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("distribution does not re-encode: %v", err)
		}
	})
}

func FuzzSenderState(f *testing.F) {
	addVectorSeeds(f, func(c vectorCase) []string { return []string{c.SenderState, c.SenderStateAfter} })
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Sender
		if err := s.UnmarshalBinary(data); err != nil {
			if s.signing != nil || s.group != nil {
				t.Fatal("sender changed by a failed decode")
			}
			return
		}
		b, err := s.MarshalBinary()
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("sender state does not re-encode: %v", err)
		}
		if s.Iteration() != maxIteration {
			if _, err := s.Seal([]byte("fuzz")); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzReceiverState(f *testing.F) {
	addVectorSeeds(f, func(c vectorCase) []string { return []string{c.ReceiverStateAfter} })
	_, r, _, _, _ := fuzzWorld(f)
	f.Add(marshal(f, r))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Receiver
		if err := r.UnmarshalBinary(data); err != nil {
			if r.group != nil || r.epochs != nil {
				t.Fatal("receiver changed by a failed decode")
			}
			return
		}
		b, err := r.MarshalBinary()
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("receiver state does not re-encode: %v", err)
		}
		r.Gaps()
		for _, d := range r.Forward() {
			if _, err := d.MarshalBinary(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzOpen opens arbitrary messages with a receiver that holds two epochs: no panic, and
// on error no plaintext and no state change.
func FuzzOpen(f *testing.F) {
	_, r, _, msgs, _ := fuzzWorld(f)
	for _, m := range msgs {
		f.Add(m)
	}
	addVectorSeeds(f, func(c vectorCase) []string { return []string{c.Message} })
	snapshot := marshal(f, r)
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Receiver
		if err := r.UnmarshalBinary(snapshot); err != nil {
			t.Fatal(err)
		}
		pt, err := r.Open(data)
		if err != nil {
			if pt != nil {
				t.Fatal("plaintext with error")
			}
			if !bytes.Equal(marshal(t, &r), snapshot) {
				t.Fatalf("failed Open (%v) changed the state", err)
			}
			return
		}
		if _, err := r.Open(data); !errorsIs(err, ErrReplay) {
			t.Fatalf("second Open: %v", err)
		}
	})
}

// FuzzProcess parses and processes arbitrary distributions: no panic, and on error no
// state change.
func FuzzProcess(f *testing.F) {
	o, r, s, _, dists := fuzzWorld(f)
	for _, d := range dists {
		f.Add(marshal(f, d))
	}
	f.Add(marshal(f, o.dist(f, o.rotate(f, s))))
	snapshot := marshal(f, r)
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDistribution(data)
		if err != nil {
			return
		}
		var r Receiver
		if err := r.UnmarshalBinary(snapshot); err != nil {
			t.Fatal(err)
		}
		if err := r.Process(d); err != nil && !bytes.Equal(marshal(t, &r), snapshot) {
			t.Fatalf("failed Process (%v) changed the state", err)
		}
	})
}
