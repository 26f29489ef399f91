package epoch

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
)

// This file checks the security and convergence claims of the specification on a model
// group: installations with real Schedules, key events authored concurrently, seeds
// delivered to the author's resulting membership only, random arrival orders with loss,
// duplication and reordering, forwarding by the designated forwarder, and healing rekeys.

type modelEvent struct {
	id         ID
	prev       Frontier
	author     Installation
	seed       Seed
	recipients map[Installation]bool // the author's resulting membership minus the author
	removes    []Installation
	adds       []Installation
	ancestors  map[ID]bool // transitive prev
}

type modelInst struct {
	id    Installation
	s     *Schedule
	seen  []ID // epochs this installation computed
	alive bool
	key   *ecdsa.PrivateKey
	send  map[ID]*SenderChain
	recv  map[[IDSize + InstallationSize]byte]*ReceiverChain
}

const modelTopic = "/waku/2/chorus-model/proto"

// sealMessage seals text under inst's current epoch (its own sending chain of that epoch).
func (m *model) sealMessage(inst *modelInst, text string) []byte {
	ep, err := inst.s.Current()
	if err != nil {
		m.t.Fatalf("sender has no epoch: %v", err)
	}
	sc := inst.send[ep.ID]
	if sc == nil {
		sc = NewSenderChain(&ep, inst.id)
		inst.send[ep.ID] = sc
	}
	msg, err := sc.Seal(inst.key, []byte(text))
	if err != nil {
		m.t.Fatal(err)
	}
	p, err := SealOuter(m.nonces, &ep, modelTopic, msg)
	if err != nil {
		m.t.Fatal(err)
	}
	return p
}

// openMessage opens a payload with inst's live epochs and the sender's chain of that epoch.
func (m *model) openMessage(inst *modelInst, payload []byte) (string, error) {
	msg, ep, err := OpenOuter(inst.s.Live(), modelTopic, payload)
	if err != nil {
		return "", err
	}
	h, err := ParseMessageHeader(msg)
	if err != nil {
		return "", err
	}
	var k [IDSize + InstallationSize]byte
	copy(k[:], ep.ID[:])
	copy(k[IDSize:], h.Installation[:])
	rc := inst.recv[k]
	if rc == nil {
		rc = NewReceiverChain(&ep, h.Installation)
		inst.recv[k] = rc
	}
	sender := m.insts[h.Installation]
	pt, err := rc.Open(crypto.FromECDSAPub(&sender.key.PublicKey), msg)
	return string(pt), err
}

type model struct {
	t       *testing.T
	rng     *rand.Rand
	nonces  *rand.ChaCha8
	group   ID
	insts   map[Installation]*modelInst
	members map[Installation]bool // the current (merged) membership
	events  []*modelEvent
	byID    map[ID]*modelEvent
	removed map[Installation]bool
	added   map[Installation]*modelEvent // newcomer -> its add
	epochs  map[ID]Frontier              // every epoch any member computed
}

func newModel(t *testing.T, seed uint64, n int) *model {
	m := &model{t: t, rng: rand.New(rand.NewPCG(seed, 7)), insts: map[Installation]*modelInst{},
		members: map[Installation]bool{}, byID: map[ID]*modelEvent{}, removed: map[Installation]bool{},
		added: map[Installation]*modelEvent{}, epochs: map[ID]Frontier{}}
	m.group = m.randID()
	m.nonces = rand.NewChaCha8(m.randID())
	for range n {
		id := m.newInstallation()
		m.members[id] = true
	}
	return m
}

func (m *model) randID() (id ID) {
	for i := range id {
		id[i] = byte(m.rng.Uint32())
	}
	return id
}

func (m *model) newInstallation() Installation {
	var id Installation
	for i := range id {
		id[i] = byte(m.rng.Uint32())
	}
	var seed [32]byte
	for i := range seed {
		seed[i] = byte(m.rng.Uint32())
	}
	seed[0] |= 1
	seed[1] &= 0x7f
	key, err := crypto.ToECDSA(seed[:])
	if err != nil {
		m.t.Fatal(err)
	}
	m.insts[id] = &modelInst{id: id, s: NewSchedule(m.group), alive: true, key: key, send: map[ID]*SenderChain{},
		recv: map[[IDSize + InstallationSize]byte]*ReceiverChain{}}
	return id
}

func (m *model) sortedMembers() []Installation {
	var out []Installation
	for id := range m.members {
		out = append(out, id)
	}
	slices.SortFunc(out, func(a, b Installation) int { return bytes.Compare(a[:], b[:]) })
	return out
}

// author creates a key event by author with the given prev (the author's frontier) and view
// (the membership the author derives before the event).
func (m *model) author(author Installation, prev Frontier, view map[Installation]bool, adds, removes []Installation) *modelEvent {
	e := &modelEvent{id: m.randID(), prev: prev, author: author, seed: Seed(m.randID()),
		recipients: map[Installation]bool{}, adds: adds, removes: removes, ancestors: map[ID]bool{}}
	for id := range view {
		e.recipients[id] = true
	}
	for _, a := range adds {
		e.recipients[a] = true
	}
	for _, r := range removes {
		delete(e.recipients, r)
	}
	delete(e.recipients, author)
	for _, p := range prev {
		e.ancestors[p] = true
		for a := range m.byID[p].ancestors {
			e.ancestors[a] = true
		}
	}
	m.events = append(m.events, e)
	m.byID[e.id] = e
	for _, a := range adds {
		m.added[a] = e
	}
	return e
}

// deliver hands events to inst in a random order with 10 % duplicates and 10 % losses
// (a lost event is delivered again later: delivery is eventual). The installation applies
// each event and, if it is a recipient or the author, its seed.
func (m *model) deliver(inst *modelInst, evs []*modelEvent) {
	queue := slices.Clone(evs)
	m.rng.Shuffle(len(queue), func(i, j int) { queue[i], queue[j] = queue[j], queue[i] })
	for len(queue) > 0 {
		e := queue[0]
		queue = queue[1:]
		switch r := m.rng.IntN(10); {
		case r == 0: // lost: re-queued at a random place
			at := m.rng.IntN(len(queue) + 1)
			queue = slices.Insert(queue, at, e)
			continue
		case r == 1: // duplicated
			at := m.rng.IntN(len(queue) + 1)
			queue = slices.Insert(queue, at, e)
		}
		err := inst.s.Apply(Event{ID: e.id, Prev: e.prev})
		if errors.Is(err, ErrDuplicate) {
			continue
		}
		if err != nil {
			m.t.Fatalf("apply: %v", err)
		}
		if e.recipients[inst.id] || e.author == inst.id {
			if err := inst.s.SetSeed(e.id, &e.seed); err != nil && !errors.Is(err, ErrSuperseded) {
				m.t.Fatalf("seed: %v", err)
			}
		}
		m.compute(inst)
	}
}

// compute records the epoch inst can compute now, if any.
func (m *model) compute(inst *modelInst) {
	ep, err := inst.s.Current()
	if errors.Is(err, ErrIncomplete) {
		return
	}
	if err != nil {
		m.t.Fatalf("current: %v", err)
	}
	inst.seen = append(inst.seen, ep.ID)
	if m.members[inst.id] {
		m.epochs[ep.ID] = inst.s.Frontier()
	}
}

// forward runs the forwarding rule: for every member lacking material for a frontier
// event, the designated forwarder (smallest id among the event's author and recipients
// still members) sends it the contribution for the current frontier.
func (m *model) forward() {
	for _, id := range m.sortedMembers() {
		inst := m.insts[id]
		for _, eid := range inst.s.Missing() {
			e := m.byID[eid]
			var fwd *modelInst
			for _, c := range m.sortedMembers() {
				if (e.recipients[c] || e.author == c) && m.insts[c].s.HasSeed(eid) {
					fwd = m.insts[c]
					break
				}
			}
			if fwd == nil {
				m.t.Fatalf("no forwarder for %s", eid)
			}
			if !fwd.s.Frontier().Equal(inst.s.Frontier()) {
				m.t.Fatal("forwarder and newcomer disagree on the frontier")
			}
			x, f, err := fwd.s.Forward(eid)
			if err != nil {
				m.t.Fatal(err)
			}
			if err := inst.s.SetContribution(eid, f, &x); err != nil {
				m.t.Fatal(err)
			}
		}
		m.compute(inst)
	}
}

// check asserts convergence of the members and that no departed installation computes the
// members' epoch, even pooling everything all departed installations hold.
func (m *model) check(stage string, pooledSafe bool) Epoch {
	var want Epoch
	for i, id := range m.sortedMembers() {
		ep, err := m.insts[id].s.Current()
		if err != nil {
			m.t.Fatalf("%s: member cannot compute the epoch: %v", stage, err)
		}
		if i > 0 && ep != want {
			m.t.Fatalf("%s: members diverge", stage)
		}
		want = ep
	}
	// Every member reads every other member's message of this epoch; departed
	// installations read none of them.
	members := m.sortedMembers()
	for _, sid := range []Installation{members[0], members[len(members)-1], members[m.rng.IntN(len(members))]} {
		text := fmt.Sprintf("%s from %x", stage, sid[:4])
		p := m.sealMessage(m.insts[sid], text)
		for _, rid := range m.sortedMembers() {
			if rid == sid {
				continue
			}
			if got, err := m.openMessage(m.insts[rid], p); err != nil || got != text {
				m.t.Fatalf("%s: member cannot read a member's message: %v", stage, err)
			}
		}
		for x := range m.removed {
			if _, err := m.openMessage(m.insts[x], p); !errors.Is(err, ErrDecrypt) {
				m.t.Fatalf("%s: departed installation opened a message of the new epoch: %v", stage, err)
			}
		}
	}
	pool := NewSchedule(m.group)
	for _, e := range m.events {
		if err := pool.Apply(Event{ID: e.id, Prev: e.prev}); err != nil {
			m.t.Fatal(err)
		}
	}
	for x := range m.removed {
		inst := m.insts[x]
		if ep, err := inst.s.Current(); err == nil && ep.ID == want.ID {
			m.t.Fatalf("%s: removed installation computes the members' epoch", stage)
		}
		for _, e := range m.events {
			if e.recipients[x] || e.author == x {
				_ = pool.SetSeed(e.id, &e.seed)
			}
		}
	}
	if ep, err := pool.Current(); pooledSafe && err == nil && ep.ID == want.ID {
		m.t.Fatalf("%s: departed installations pooling their seeds compute the epoch", stage)
	}
	// Newcomers never computed an epoch whose frontier has neither their add nor a
	// descendant of it.
	for n, add := range m.added {
		for _, eid := range m.insts[n].seen {
			f, ok := m.epochs[eid]
			if !ok {
				continue
			}
			post := false
			for _, id := range f {
				if id == add.id || m.byID[id].ancestors[add.id] {
					post = true
				}
			}
			if !post {
				m.t.Fatalf("%s: newcomer computed an epoch before its join", stage)
			}
		}
	}
	return want
}

// op is one concurrent key event of a round.
type op int

const (
	opRemove op = iota
	opAdd
	opRekey
)

// round authors k concurrent key events from the same base (every author has the same
// frontier and membership view), delivers them to everyone, forwards, and checks; if two
// or more events include a removal, the designated installation heals with a rekey.
func (m *model) round(k int) {
	base := m.sortedMembers()
	view := map[Installation]bool{}
	for _, id := range base {
		view[id] = true
	}
	prev := m.insts[base[0]].s.Frontier()
	var evs []*modelEvent
	removal := false
	for range k {
		author := base[m.rng.IntN(len(base))]
		switch op(m.rng.IntN(3)) {
		case opRemove:
			target := base[m.rng.IntN(len(base))]
			if target == author || len(m.members) <= 3 || m.removed[target] {
				evs = append(evs, m.author(author, prev, view, nil, nil)) // a rekey instead
				continue
			}
			evs = append(evs, m.author(author, prev, view, nil, []Installation{target}))
			removal = true
		case opAdd:
			n := m.newInstallation()
			evs = append(evs, m.author(author, prev, view, []Installation{n}, nil))
		case opRekey:
			evs = append(evs, m.author(author, prev, view, nil, nil))
		}
	}
	// Sometimes a member leaves concurrently (a leave is not a key event: it carries no seed).
	var leaver *Installation
	if m.rng.IntN(3) == 0 && len(m.members) > 4 {
		l := base[m.rng.IntN(len(base))]
		if !m.removed[l] {
			leaver = &l
		}
	}
	// The merged membership: every add and every removal applies.
	for _, e := range evs {
		for _, a := range e.adds {
			m.members[a] = true
		}
	}
	if leaver != nil {
		delete(m.members, *leaver)
	}
	for _, e := range evs {
		for _, r := range e.removes {
			delete(m.members, r)
			m.removed[r] = true
		}
	}
	// A member that has not applied the round's events yet speaks under the old epoch.
	slow := base[m.rng.IntN(len(base))]
	late := m.sealMessage(m.insts[slow], "late")
	// Newcomers learn the events from their add on: their Welcome names the frontier
	// of their add and its prev; here they get every event of the round.
	for _, id := range m.sortedMembers() {
		m.deliver(m.insts[id], evs)
	}
	// Members that were members before the round still read the late message (its epoch is
	// live); newcomers never do (it is from before their join).
	for _, id := range m.sortedMembers() {
		if id == slow {
			continue
		}
		got, err := m.openMessage(m.insts[id], late)
		if !slices.Contains(base, id) { // added in this round
			if err == nil {
				m.t.Fatal("a newcomer read a message sent before its join")
			}
			continue
		}
		if err != nil || got != "late" {
			m.t.Fatalf("a member cannot read a late message of the previous epoch: %v", err)
		}
	}
	for x := range m.removed {
		m.deliver(m.insts[x], evs) // departed installations see everything (worst case)
	}
	if leaver != nil && !m.members[*leaver] {
		m.deliver(m.insts[*leaver], evs)
	}
	m.forward()
	pooledSafe := !(removal && len(evs) >= 2)
	if leaver == nil {
		// With a leave the epoch is unhealed (the leaver may hold it) and nothing is sent
		// under it until the rekey below.
		m.check(fmt.Sprintf("round of %d", k), pooledSafe)
	} else if _, err := m.insts[*leaver].s.Current(); err != nil && !m.removed[*leaver] {
		m.t.Fatalf("the model lost the leaver's epoch: %v", err)
	}
	var fe []FrontierEvent
	for _, id := range m.insts[m.sortedMembers()[0]].s.Frontier() {
		fe = append(fe, FrontierEvent{ID: id, Departs: len(m.byID[id].removes) > 0})
	}
	if Unhealed(fe, leaver != nil) {
		if leaver != nil {
			m.removed[*leaver] = true
		}
		view := map[Installation]bool{}
		for id := range m.members {
			view[id] = true
		}
		heal, _ := Designated(m.sortedMembers())
		e := m.author(heal, m.insts[heal].s.Frontier(), view, nil, nil)
		for _, id := range m.sortedMembers() {
			m.deliver(m.insts[id], []*modelEvent{e})
		}
		for x := range m.removed {
			m.deliver(m.insts[x], []*modelEvent{e})
		}
		m.check("after the healing rekey", true)
	}
}

// TestModelRandomInterleavings runs 300 seeds of a group of 6 installations through a
// creation and three rounds of 1–3 concurrent key events (removals, adds, rekeys), sometimes
// with a concurrent leave, with random delivery orders, 10 % duplicates and 10 % losses
// (re-delivered later). After each round (and its healing rekey) every member computes the
// same epoch and reads the others' messages, no departed installation computes it or opens
// them (alone, or pooling their seeds once healed), a message sent under the previous epoch
// by a member that had not applied the round is read by the others but by no newcomer, and
// no newcomer ever computes an epoch from before its join.
func TestModelRandomInterleavings(t *testing.T) {
	for seed := range uint64(300) {
		m := newModel(t, seed, 6)
		members := m.sortedMembers()
		view := map[Installation]bool{}
		for _, id := range members {
			view[id] = true
		}
		create := m.author(members[0], nil, view, nil, nil)
		for _, id := range members {
			m.deliver(m.insts[id], []*modelEvent{create})
		}
		m.check("creation", true)
		for range 3 {
			m.round(1 + m.rng.IntN(3))
		}
	}
}

// TestModelRemoveRemove: two admins remove each other's targets concurrently; neither
// removed installation computes the merged epoch; pooled, they could until the healing
// rekey, after which they cannot.
func TestModelRemoveRemove(t *testing.T) {
	m := newModel(t, 1, 5)
	mem := m.sortedMembers()
	view := map[Installation]bool{}
	for _, id := range mem {
		view[id] = true
	}
	c := m.author(mem[0], nil, view, nil, nil)
	for _, id := range mem {
		m.deliver(m.insts[id], []*modelEvent{c})
	}
	prev := m.insts[mem[0]].s.Frontier()
	r1 := m.author(mem[0], prev, view, nil, []Installation{mem[3]})
	r2 := m.author(mem[1], prev, view, nil, []Installation{mem[4]})
	delete(m.members, mem[3])
	delete(m.members, mem[4])
	m.removed[mem[3]], m.removed[mem[4]] = true, true
	for _, id := range mem {
		m.deliver(m.insts[id], []*modelEvent{r1, r2})
	}
	m.check("remove ∥ remove", false)
	// Pooling is possible before the heal (documented): check that the model sees it.
	pool := NewSchedule(m.group)
	for _, e := range []*modelEvent{c, r1, r2} {
		_ = pool.Apply(Event{ID: e.id, Prev: e.prev})
	}
	_ = pool.SetSeed(r1.id, &r1.seed) // held by mem[4]
	_ = pool.SetSeed(r2.id, &r2.seed) // held by mem[3]
	want, _ := m.insts[mem[0]].s.Current()
	if ep, err := pool.Current(); err != nil || ep != want {
		t.Fatal("the model no longer shows the documented collusion before healing")
	}
	view = map[Installation]bool{mem[0]: true, mem[1]: true, mem[2]: true}
	h := m.author(mem[0], m.insts[mem[0]].s.Frontier(), view, nil, nil)
	for _, id := range mem {
		m.deliver(m.insts[id], []*modelEvent{h})
	}
	m.check("healed", true)
}

// TestModelAddConcurrentWithRemove: a newcomer added concurrently with a removal gets the
// removal's contribution from the designated forwarder, reads the merged epoch, and never
// computes an epoch before its join; the removed installation computes nothing after.
func TestModelAddConcurrentWithRemove(t *testing.T) {
	m := newModel(t, 2, 4)
	mem := m.sortedMembers()
	view := map[Installation]bool{}
	for _, id := range mem {
		view[id] = true
	}
	c := m.author(mem[0], nil, view, nil, nil)
	for _, id := range mem {
		m.deliver(m.insts[id], []*modelEvent{c})
	}
	prev := m.insts[mem[0]].s.Frontier()
	n := m.newInstallation()
	add := m.author(mem[0], prev, view, []Installation{n}, nil)
	rm := m.author(mem[1], prev, view, nil, []Installation{mem[3]})
	m.members[n] = true
	delete(m.members, mem[3])
	m.removed[mem[3]] = true
	for _, id := range m.sortedMembers() {
		m.deliver(m.insts[id], []*modelEvent{add, rm})
	}
	m.deliver(m.insts[mem[3]], []*modelEvent{add, rm})
	if miss := m.insts[n].s.Missing(); len(miss) != 1 || miss[0] != rm.id {
		t.Fatalf("newcomer should miss exactly the removal's seed, misses %v", miss)
	}
	m.forward()
	m.check("add ∥ remove", true)
	if m.insts[n].s.HasSeed(rm.id) {
		t.Fatal("the newcomer holds the removal's seed")
	}
}
