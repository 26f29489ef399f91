package senderkeys

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// sent is one sealed message of the property test.
type sent struct {
	epoch     int
	iteration uint32
	plaintext string
	wire      []byte
}

// modelReceiver is the reference model of a Receiver: which iterations of which epoch
// it may open, and which it opened.
type modelReceiver struct {
	r      *Receiver
	start  map[int]uint32          // first openable iteration per epoch with a distribution
	opened map[int]map[uint32]bool // iterations opened per epoch
}

func newModel(r *Receiver) *modelReceiver {
	return &modelReceiver{r: r, start: map[int]uint32{}, opened: map[int]map[uint32]bool{}}
}

func (m *modelReceiver) processed(epoch int, start uint32) {
	if _, ok := m.start[epoch]; !ok {
		m.start[epoch] = start
		m.opened[epoch] = map[uint32]bool{}
	}
}

// expect returns the error the model predicts for delivering msg (nil: opens).
func (m *modelReceiver) expect(msg sent) error {
	start, ok := m.start[msg.epoch]
	switch {
	case !ok:
		return ErrUnknownKey
	case msg.iteration < start || m.opened[msg.epoch][msg.iteration]:
		return ErrReplay
	}
	return nil
}

// gaps computes the gaps the model predicts: per epoch held (in generation order), the
// unopened iterations from its start up to its highest opened iteration, and up to the
// announced end when the next epoch's distribution was processed.
func (m *modelReceiver) gaps(keys []KeyID, sealed []uint32) []Gap {
	var out []Gap
	for e := range keys {
		start, ok := m.start[e]
		if !ok {
			continue
		}
		next := start
		for it := range m.opened[e] {
			next = max(next, it+1)
		}
		end := next
		if _, ok := m.start[e+1]; ok {
			end = max(end, sealed[e])
		}
		for it := start; it < end; it++ {
			if m.opened[e][it] {
				continue
			}
			if n := len(out); n > 0 && out[n-1].KeyID == keys[e] && out[n-1].To == it {
				out[n-1].To++
			} else {
				out = append(out, Gap{KeyID: keys[e], From: it, To: it + 1})
			}
		}
	}
	return out
}

// TestPropertySchedules delivers the messages of a sender that rotates a few times to a
// receiver through random drop, reorder, duplicate and tamper schedules, and checks every
// result and the reported gaps against the model. Midway a newcomer is created from the
// receiver's Forward() and checked against its own model.
func TestPropertySchedules(t *testing.T) {
	seeds := 60
	if testing.Short() {
		seeds = 10
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runSchedule(t, uint64(seed)) })
	}
}

func runSchedule(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x5e9de5))
	o := newOwner(t, fmt.Sprint("property-", seed))
	s := o.sender(t)

	// Seal: 20..120 messages over up to MaxEpochs-1 epochs.
	var (
		msgs   []sent
		dists  []*Distribution
		keys   []KeyID
		sealed []uint32 // iterations sealed per epoch
	)
	dists, keys = append(dists, o.dist(t, s)), append(keys, s.KeyID())
	total := 20 + rng.IntN(100)
	for i := range total {
		if rng.IntN(25) == 0 && len(keys) < MaxEpochs {
			sealed = append(sealed, s.Iteration())
			s = o.rotate(t, s)
			dists, keys = append(dists, o.dist(t, s)), append(keys, s.KeyID())
		}
		pt := fmt.Sprintf("message %d", i)
		msgs = append(msgs, sent{epoch: len(keys) - 1, iteration: s.Iteration(), plaintext: pt, wire: seal(t, s, pt)})
	}
	sealed = append(sealed, s.Iteration())

	// Schedule: drop, duplicate, tamper, then displace each item by a random distance.
	dropRate, dupRate := rng.Float64()*0.4, rng.Float64()*0.3
	type item struct {
		msg    sent
		tamper bool
		key    float64
	}
	var sched []item
	for i, m := range msgs {
		if rng.Float64() < dropRate {
			continue
		}
		window := float64(1 + rng.IntN(20))
		sched = append(sched, item{msg: m, key: float64(i) + rng.Float64()*window})
		for rng.Float64() < dupRate {
			sched = append(sched, item{msg: m, key: float64(i) + rng.Float64()*window*3})
		}
		if rng.IntN(15) == 0 {
			sched = append(sched, item{msg: m, tamper: true, key: float64(i) + rng.Float64()*window})
		}
	}
	sortItems := func(a, b item) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	}
	slices.SortStableFunc(sched, sortItems)

	models := []*modelReceiver{newModel(o.receiver())}
	forwardAt := rng.IntN(len(sched) + 1)
	for step, it := range sched {
		if step == forwardAt {
			// A newcomer gets the receiver's current states; it opens from there on.
			nm := newModel(o.receiver())
			base := models[0]
			for _, d := range base.r.Forward() {
				process(t, nm.r, d)
				nm.processed(indexOf(keys, d.KeyID), d.Iteration)
			}
			models = append(models, nm)
		}
		for _, m := range models {
			// The distribution of an epoch arrives with its first delivered message.
			if _, ok := m.start[it.msg.epoch]; !ok {
				process(t, m.r, dists[it.msg.epoch])
				m.processed(it.msg.epoch, 0)
			}
			deliver(t, m, it.msg, it.tamper, rng)
			if got, want := m.r.Gaps(), m.gaps(keys, sealed); !equalGaps(got, want) {
				t.Fatalf("step %d: gaps %v, model %v", step, got, want)
			}
		}
	}
	// Every delivered message opened exactly once; re-delivering anything is a replay.
	for _, m := range models {
		for _, msg := range msgs {
			if m.opened[msg.epoch] != nil && m.opened[msg.epoch][msg.iteration] {
				openFails(t, m.r, msg.wire, ErrReplay)
			}
		}
	}
}

func deliver(t *testing.T, m *modelReceiver, msg sent, tamper bool, rng *rand.Rand) {
	t.Helper()
	if tamper {
		w := bytes.Clone(msg.wire)
		w[HeaderSize+rng.IntN(len(w)-HeaderSize)] ^= 1 << rng.IntN(8)
		before := marshal(t, m.r)
		if pt, err := m.r.Open(w); err == nil || pt != nil {
			t.Fatalf("tampered message opened (err %v)", err)
		}
		if !bytes.Equal(before, marshal(t, m.r)) {
			t.Fatal("tampered message changed the state")
		}
		return
	}
	want := m.expect(msg)
	if want != nil {
		openFails(t, m.r, msg.wire, want)
		return
	}
	mustOpen(t, m.r, msg.wire, msg.plaintext)
	m.opened[msg.epoch][msg.iteration] = true
}

func indexOf(keys []KeyID, id KeyID) int {
	for i, k := range keys {
		if k == id {
			return i
		}
	}
	panic("unknown key id")
}
